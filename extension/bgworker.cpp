// See bgworker.h.
#include "extension/bgworker.h"

extern "C" {
#include "postmaster/bgworker.h"
}

namespace ruvector::pg {

void register_database_worker(const char* function, const char* name, int restart_s) {
  BackgroundWorker worker;
  memset(&worker, 0, sizeof(worker));
  worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
  worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
  worker.bgw_restart_time = restart_s;
  strlcpy(worker.bgw_library_name, "ruvector", BGW_MAXLEN);
  strlcpy(worker.bgw_function_name, function, BGW_MAXLEN);
  strlcpy(worker.bgw_name, name, BGW_MAXLEN);
  strlcpy(worker.bgw_type, name, BGW_MAXLEN);
  RegisterBackgroundWorker(&worker);
}

}  // namespace ruvector::pg
