// Registration of the extension's background workers (from _PG_init, when preloaded):
// each connects to one database, starts once recovery is over, and is restarted by the
// postmaster `restart_s` seconds after it exits or crashes.
#pragma once

#include "extension/pg_wrapper.h"

namespace ruvector::pg {

// `function` is the exported entry point's name; `name` shows in pg_stat_activity.
void register_database_worker(const char* function, const char* name, int restart_s);

}  // namespace ruvector::pg
