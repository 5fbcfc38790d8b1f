// DROP ROLE, DROP OWNED and REASSIGN OWNED for the rows ruvector keeps per role
// (role_hooks.cpp).
#pragma once

namespace ruvector::pg {

// Installs the ProcessUtility hook; from _PG_init.
void init_role_hooks();

}  // namespace ruvector::pg
