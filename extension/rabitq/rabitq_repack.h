// VACUUM's repack of lists that are mostly tombstones (see rabitq_repack.cpp).
#pragma once

#include "extension/rabitq/rabitq.h"

namespace ruvector::pg::rabitq {

struct RepackResult {
  uint32 lists;        // lists repacked
  uint32 pages_freed;  // pages moved to the free list, orphans of an interrupted repack included
  bool locked_out;     // some list qualified but the index lock was not to be had
};

// Repacks every list with more tombstones than live rows, under an
// AccessExclusiveLock on the index taken without waiting on anyone.
RepackResult repack_lists(IndexVacuumInfo* info);

}  // namespace ruvector::pg::rabitq
