// Running a stretch of Postgres code as another role: reads of ruvector's own tables that
// must see every role's rows (row security shows a role only some), and the refill worker
// reading a source with its owner's privileges. restore_user() undoes the switch; an
// error in between is undone by the transaction's abort, which restores the user.
#pragma once

#include "extension/pg_wrapper.h"

namespace ruvector::pg {

struct SavedUser {
  Oid user;
  int context;
};

inline SavedUser switch_user(Oid role) {
  SavedUser saved;
  GetUserIdAndSecContext(&saved.user, &saved.context);
  SetUserIdAndSecContext(role, saved.context | SECURITY_LOCAL_USERID_CHANGE);
  return saved;
}

inline void restore_user(const SavedUser& saved) {
  SetUserIdAndSecContext(saved.user, saved.context);
}

}  // namespace ruvector::pg
