// The extension's background workers: registered from _PG_init (when preloaded), or started
// for one job while the server runs (RegisterDynamicBackgroundWorker). Each connects to one
// database, starts once recovery is over, and is restarted by the postmaster `restart_s`
// seconds after it exits or crashes.
#pragma once

#include "extension/pg_wrapper.h"

extern "C" {
#include "postmaster/bgworker.h"
}

namespace ruvector::pg {

// A worker of this library that connects to a database once recovery is over: `function`
// is the exported entry point's name; `name` shows in pg_stat_activity (as its type too).
// `restart_s` is BGW_NEVER_RESTART for a worker started for one job.
BackgroundWorker database_worker(const char* function, const char* name, int restart_s);

// Registers database_worker(...) at postmaster start.
void register_database_worker(const char* function, const char* name, int restart_s);

// The top of a worker's loop: waits up to timeout_ms for the latch, handles interrupts
// (SIGTERM ends the process) and reloads the configuration after a SIGHUP. Returns
// whether it reloaded. Postgres code: from C++ frames that own resources, call it
// through pg_call.
bool wait_for_work(long timeout_ms);

}  // namespace ruvector::pg
