// See bgworker.h.
#include "extension/bgworker.h"

extern "C" {
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/latch.h"
#include "utils/guc.h"
}

namespace ruvector::pg {

BackgroundWorker database_worker(const char* function, const char* name, int restart_s) {
  BackgroundWorker worker;
  memset(&worker, 0, sizeof(worker));
  worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
  worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
  worker.bgw_restart_time = restart_s;
  strlcpy(worker.bgw_library_name, "ruvector", BGW_MAXLEN);
  strlcpy(worker.bgw_function_name, function, BGW_MAXLEN);
  strlcpy(worker.bgw_name, name, BGW_MAXLEN);
  strlcpy(worker.bgw_type, name, BGW_MAXLEN);
  return worker;
}

void register_database_worker(const char* function, const char* name, int restart_s) {
  BackgroundWorker worker = database_worker(function, name, restart_s);
  RegisterBackgroundWorker(&worker);
}

bool wait_for_work(long timeout_ms) {
  WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, timeout_ms,
            PG_WAIT_EXTENSION);
  ResetLatch(MyLatch);
  CHECK_FOR_INTERRUPTS();
  if (!ConfigReloadPending) return false;
  ConfigReloadPending = false;
  ProcessConfigFile(PGC_SIGHUP);
  return true;
}

}  // namespace ruvector::pg
