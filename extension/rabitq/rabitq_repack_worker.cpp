// The repack of a parallel VACUUM, done by a background worker. A repack takes an
// AccessExclusiveLock on the index, which must be WAL-logged for standbys, and that record
// needs a transaction id, which a parallel VACUUM cannot assign: it stays in parallel mode
// until after index cleanup. So the cleanup of a parallel VACUUM starts a worker that
// waits for the VACUUM to end (it takes the table's ShareUpdateExclusiveLock, which VACUUM
// holds, and which keeps other VACUUMs and repacks of the table out while it works) and
// then repacks as VACUUM would. Its result goes to the server log.
#include "extension/rabitq/rabitq_repack.h"

#include "extension/bgworker.h"
#include "extension/boundary.h"

extern "C" {
#include "access/xact.h"
#include "catalog/index.h"
#include "commands/defrem.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/lmgr.h"
#include "tcop/tcopprot.h"
#include "utils/rel.h"

PGDLLEXPORT void rabitq_repack_worker_main(Datum);
}

namespace ruvector::pg::rabitq {

namespace {

// What the worker is told: bgw_main_arg is the index, bgw_extra this.
struct RepackRequest {
  Oid database;
  Oid heap;
};

void repack_in_worker(Oid index_oid, const RepackRequest& request) {
  // As VACUUM: one at a time per table, waiting for the VACUUM that started the worker.
  LockRelationOid(request.heap, ShareUpdateExclusiveLock);
  if (IndexGetRelation(index_oid, true) != request.heap) return;  // dropped meanwhile
  Relation index = index_open(index_oid, RowExclusiveLock);
  if (index->rd_rel->relam != get_index_am_oid("rabitq", false)) {
    index_close(index, RowExclusiveLock);
    return;
  }
  IndexVacuumInfo info;
  memset(&info, 0, sizeof(info));
  info.index = index;
  info.message_level = LOG;
  info.strategy = GetAccessStrategy(BAS_VACUUM);
  RepackResult result = repack_lists(&info);
  if (result.lists > 0 || result.pages_freed > 0) {
    ereport(LOG, (errmsg("rabitq index \"%s\": repacked %u lists, freed %u pages",
                         RelationGetRelationName(index), result.lists, result.pages_freed)));
  }
  if (result.locked_out) {
    ereport(LOG, (errmsg("rabitq index \"%s\": lists not repacked: the index is in use",
                         RelationGetRelationName(index)),
                  errdetail("The next VACUUM tries again.")));
  }
  index_close(index, RowExclusiveLock);
}

}  // namespace

bool start_repack_worker(Relation index) {
  BackgroundWorker worker =
      database_worker("rabitq_repack_worker_main", "rabitq repack", BGW_NEVER_RESTART);
  snprintf(worker.bgw_name, BGW_MAXLEN, "rabitq repack of index %u", RelationGetRelid(index));
  worker.bgw_main_arg = ObjectIdGetDatum(RelationGetRelid(index));
  RepackRequest request{MyDatabaseId, index->rd_index->indrelid};
  static_assert(sizeof(request) <= BGW_EXTRALEN, "the request fits bgw_extra");
  memcpy(worker.bgw_extra, &request, sizeof(request));
  return RegisterDynamicBackgroundWorker(&worker, nullptr);
}

}  // namespace ruvector::pg::rabitq

void rabitq_repack_worker_main(Datum arg) {
  using namespace ruvector::pg::rabitq;
  pqsignal(SIGTERM, die);
  BackgroundWorkerUnblockSignals();
  RepackRequest request;
  memcpy(&request, MyBgworkerEntry->bgw_extra, sizeof(request));
  BackgroundWorkerInitializeConnectionByOid(request.database, InvalidOid, 0);
  pgstat_report_activity(STATE_RUNNING, "rabitq repack");
  SetCurrentStatementStartTimestamp();
  StartTransactionCommand();
  ruvector::pg::guard([&] { repack_in_worker(DatumGetObjectId(arg), request); });
  CommitTransactionCommand();
  pgstat_report_activity(STATE_IDLE, nullptr);
  proc_exit(0);
}
