// Registration of the extension's background workers (from _PG_init, when preloaded):
// each connects to one database, starts once recovery is over, and is restarted by the
// postmaster `restart_s` seconds after it exits or crashes.
#pragma once

#include "extension/pg_wrapper.h"

namespace ruvector::pg {

// `function` is the exported entry point's name; `name` shows in pg_stat_activity.
void register_database_worker(const char* function, const char* name, int restart_s);

// The top of a worker's loop: waits up to timeout_ms for the latch, handles interrupts
// (SIGTERM ends the process) and reloads the configuration after a SIGHUP. Returns
// whether it reloaded. Postgres code: from C++ frames that own resources, call it
// through pg_call.
bool wait_for_work(long timeout_ms);

}  // namespace ruvector::pg
