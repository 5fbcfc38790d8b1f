// What DROP ROLE, DROP OWNED and REASSIGN OWNED do to the rows ruvector keeps per role:
// ruLake collections, A2A agents with their credentials and grants, and A2A tasks.
// Postgres records the owners of catalog objects in pg_shdepend, which rows of an
// extension's tables cannot join, so a ProcessUtility hook applies the same rules to them
// in the database the command runs in: DROP ROLE refuses while the role owns any, DROP
// OWNED removes them, REASSIGN OWNED hands them over (docs/security.md).
#include "extension/role_hooks.h"

#include <initializer_list>

#include "extension/boundary.h"
#include "extension/user_switch.h"

extern "C" {
#include "catalog/pg_authid.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "catalog/namespace.h"
#include "utils/lsyscache.h"
#include "executor/spi.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "utils/acl.h"
}

namespace ruvector::pg {

namespace {

ProcessUtility_hook_type prev_process_utility = nullptr;

// The roles a statement names, as an oid[] Datum; roles that do not exist are left out
// (standard processing reports them, or IF EXISTS skips them). NULL when none is left.
ArrayType* role_array(List* roles) {
  int n = list_length(roles);
  Datum* oids = static_cast<Datum*>(palloc(sizeof(Datum) * (n + 1)));
  int count = 0;
  ListCell* cell;
  foreach (cell, roles) {
    Oid role = get_rolespec_oid(static_cast<RoleSpec*>(lfirst(cell)), true);
    if (OidIsValid(role)) oids[count++] = ObjectIdGetDatum(role);
  }
  if (count == 0) return nullptr;
  return construct_array(oids, count, OIDOID, sizeof(Oid), true, TYPALIGN_INT);
}

// Runs `sql` with $1 = the roles and $2 = another role, over every row: as the bootstrap
// superuser, since row security would show the caller only some of them. Returns the
// first row's first column as int64 for kCount (run read-only); kModify changes rows.
enum class RolesQuery { kCount, kModify };
int64 run_for_roles(const char* sql, ArrayType* roles, Oid other, RolesQuery kind) {
  const bool counting = kind == RolesQuery::kCount;
  SavedUser saved = switch_user(BOOTSTRAP_SUPERUSERID);
  Oid types[2] = {OIDARRAYOID, OIDOID};
  Datum values[2] = {PointerGetDatum(roles), ObjectIdGetDatum(other)};
  int64 result = 0;
  SPI_connect();
  int rc = SPI_execute_with_args(sql, 2, types, values, nullptr, counting, 0);
  if (rc < 0) elog(ERROR, "ruvector: \"%s\" failed: %s", sql, SPI_result_code_string(rc));
  if (counting && SPI_processed == 1) {
    bool isnull = false;
    result = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
  }
  SPI_finish();
  restore_user(saved);
  return result;
}

bool extension_here() { return OidIsValid(get_extension_oid("ruvector", true)); }

// DROP ROLE: refuse while a role owns ruvector rows here, as Postgres does for objects.
void check_drop_role(DropRoleStmt* stmt) {
  ListCell* cell;
  foreach (cell, stmt->roles) {
    RoleSpec* spec = static_cast<RoleSpec*>(lfirst(cell));
    Oid role = get_rolespec_oid(spec, true);
    if (!OidIsValid(role)) continue;
    ArrayType* roles = construct_array(reinterpret_cast<Datum*>(&role), 1, OIDOID, sizeof(Oid),
                                       true, TYPALIGN_INT);
    int64 collections =
        run_for_roles("SELECT count(*) FROM rulake.collections WHERE owner = ANY($1)", roles, role,
                      RolesQuery::kCount);
    int64 agents = run_for_roles("SELECT count(*) FROM a2a.agents WHERE owner = ANY($1)", roles,
                                 role, RolesQuery::kCount);
    int64 tasks = run_for_roles("SELECT count(*) FROM a2a.tasks WHERE owner = ANY($1)", roles, role,
                                RolesQuery::kCount);
    int64 grants = run_for_roles("SELECT count(*) FROM a2a.agent_grants WHERE grantee = ANY($1)",
                                 roles, role, RolesQuery::kCount);
    if (collections + agents + tasks + grants == 0) continue;
    ereport(ERROR,
            (errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
             errmsg("role \"%s\" cannot be dropped because some objects depend on it",
                    get_rolespec_name(spec)),
             errdetail("In database \"%s\" it owns %lld ruLake collections, %lld A2A agents and "
                       "%lld A2A tasks, and may use %lld A2A agents of other roles.",
                       get_database_name(MyDatabaseId), static_cast<long long>(collections),
                       static_cast<long long>(agents), static_cast<long long>(tasks),
                       static_cast<long long>(grants)),
             errhint("Unregister them, or run REASSIGN OWNED BY or DROP OWNED BY in this database "
                     "first.")));
  }
}

// DROP OWNED: collections are unregistered (their triggers and cache entries go too),
// agents deleted with their credentials, grants and tasks, the roles' own tasks and grants
// deleted.
void drop_owned(DropOwnedStmt* stmt) {
  ArrayType* roles = role_array(stmt->roles);
  if (roles == nullptr) return;
  run_for_roles("SELECT rulake.unregister(name) FROM rulake.collections WHERE owner = ANY($1)",
                roles, InvalidOid, RolesQuery::kModify);
  run_for_roles("DELETE FROM a2a.agents WHERE owner = ANY($1)", roles, InvalidOid,
                RolesQuery::kModify);
  run_for_roles("DELETE FROM a2a.tasks WHERE owner = ANY($1)", roles, InvalidOid,
                RolesQuery::kModify);
  run_for_roles("DELETE FROM a2a.agent_grants WHERE grantee = ANY($1)", roles, InvalidOid,
                RolesQuery::kModify);
}

// A role's A2A endpoint tokens go with it (DROP ROLE) or with what it owns (DROP OWNED):
// a token left behind would stand for whichever role later gets the same oid. REASSIGN
// OWNED does not hand them over, as it does not hand over a password. Before ruvector
// 0.5.0 there is no table to clean.
void drop_endpoint_tokens(ArrayType* roles) {
  Oid a2a = get_namespace_oid("a2a", true);
  if (roles == nullptr || !OidIsValid(a2a) ||
      !OidIsValid(get_relname_relid("endpoint_tokens", a2a)))
    return;
  run_for_roles("DELETE FROM a2a.endpoint_tokens WHERE role = ANY($1)", roles, InvalidOid,
                RolesQuery::kModify);
}

// REASSIGN OWNED: the new role owns the rows (grants stay, as privileges do in Postgres).
void reassign_owned(ReassignOwnedStmt* stmt) {
  ArrayType* roles = role_array(stmt->roles);
  Oid to = get_rolespec_oid(stmt->newrole, false);
  if (roles == nullptr) return;
  for (const char* sql : {"UPDATE rulake.collections SET owner = $2 WHERE owner = ANY($1)",
                          "UPDATE a2a.agents SET owner = $2 WHERE owner = ANY($1)",
                          "UPDATE a2a.agent_credentials SET owner = $2 WHERE owner = ANY($1)",
                          "UPDATE a2a.tasks SET owner = $2 WHERE owner = ANY($1)"}) {
    run_for_roles(sql, roles, to, RolesQuery::kModify);
  }
}

void process_utility(PlannedStmt* pstmt, const char* query_string, bool read_only_tree,
                     ProcessUtilityContext context, ParamListInfo params,
                     QueryEnvironment* query_env, DestReceiver* dest, QueryCompletion* qc) {
  Node* parsetree = pstmt->utilityStmt;
  bool here = (IsA(parsetree, DropRoleStmt) || IsA(parsetree, DropOwnedStmt) ||
               IsA(parsetree, ReassignOwnedStmt)) &&
              extension_here();
  ArrayType* dropped_roles = nullptr;
  if (here && IsA(parsetree, DropRoleStmt)) {
    check_drop_role(reinterpret_cast<DropRoleStmt*>(parsetree));
    dropped_roles = role_array(reinterpret_cast<DropRoleStmt*>(parsetree)->roles);
  }
  if (prev_process_utility != nullptr) {
    prev_process_utility(pstmt, query_string, read_only_tree, context, params, query_env, dest, qc);
  } else {
    standard_ProcessUtility(pstmt, query_string, read_only_tree, context, params, query_env, dest,
                            qc);
  }
  // After standard processing, which has checked the caller's right to do it.
  if (here && IsA(parsetree, DropOwnedStmt)) {
    drop_owned(reinterpret_cast<DropOwnedStmt*>(parsetree));
    drop_endpoint_tokens(role_array(reinterpret_cast<DropOwnedStmt*>(parsetree)->roles));
  }
  if (dropped_roles != nullptr) drop_endpoint_tokens(dropped_roles);
  if (here && IsA(parsetree, ReassignOwnedStmt))
    reassign_owned(reinterpret_cast<ReassignOwnedStmt*>(parsetree));
}

}  // namespace

void init_role_hooks() {
  prev_process_utility = ProcessUtility_hook;
  ProcessUtility_hook = process_utility;
}

}  // namespace ruvector::pg
