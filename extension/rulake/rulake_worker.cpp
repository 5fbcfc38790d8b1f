// The refill worker: started with the server, it connects to rulake.database and, about
// once a second or when a backend wakes it, walks the registered collections: it fetches
// remote bundles into their mirrors, primes collections that are cold, invalidated or
// evicted, rechecks eventual ones every rulake.refresh_interval, and folds the write logs
// of registered tables. Each collection runs in its own transaction, so one that fails
// (its error is kept for rulake.stats) never stops the others; the postmaster restarts the
// worker if it crashes.
#include "extension/rulake/rulake_source.h"

#include <string>
#include <vector>

#include "bundle/http_fetch.h"
#include "extension/bgworker.h"
#include "extension/boundary.h"

extern "C" {
#include "access/xact.h"
#include "common/file_perm.h"
#include "executor/spi.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"

PGDLLEXPORT void rulake_worker_main(Datum);
}

namespace ruvector::pg::rulake {

namespace {

constexpr long kCycleMs = 1000;

void clear_latch(int, Datum) {
  RulakeShared* s = shared();
  LWLockAcquire(s->lock, LW_EXCLUSIVE);
  if (s->worker_latch == MyLatch) s->worker_latch = nullptr;
  LWLockRelease(s->lock);
}

// The state fields a cycle decides on, copied under the lock.
struct Due {
  bool refill_wanted;
  bool has_key;
  bool ready;
  CacheKey key;
  TimestampTz last_checked;
};

Due read_due(const char* name) {
  RulakeShared* s = shared();
  Due d;
  memset(&d, 0, sizeof(d));
  LWLockAcquire(s->lock, LW_EXCLUSIVE);
  CollectionState* c = find_collection(name, true);
  d.refill_wanted = c->refill_wanted;
  d.has_key = c->has_key;
  d.ready = c->has_key && c->status == kReady;
  d.key = c->key;
  d.last_checked = c->last_checked;
  LWLockRelease(s->lock);
  return d;
}

bool interval_passed(TimestampTz since) {
  return TimestampDifferenceExceeds(since, GetCurrentTimestamp(), refresh_interval_s * 1000);
}

void fetch_remote(const Collection& c) {
  char* dir = remote_mirror_dir(c.location);
  char* parent = pstrdup(dir);
  get_parent_directory(parent);  // fetch_bundle creates the mirror itself, durably
  if (pg_mkdir_p(parent, pg_dir_create_mode) != 0 && errno != EEXIST) {
    ereport(ERROR,
            (errcode_for_file_access(), errmsg("could not create directory \"%s\": %m", parent)));
  }
  const char* hosts = allowed_hosts == nullptr ? "" : allowed_hosts;
  long timeout_ms = static_cast<long>(fetch_timeout_s) * 1000;
  uint64 max_bytes = static_cast<uint64>(max_fetch_mb) * 1024 * 1024;
  guard([&] {
    bundle::FetchOptions options;
    options.allowed_hosts = bundle::parse_host_list(hosts);
    options.total_timeout_ms = timeout_ms;
    options.max_bytes = max_bytes;
    bundle::fetch_bundle(c.location, dir, options);
  });
}

void refill_one(const char* name) {
  Collection c;
  if (!lookup_collection(name, &c)) return;
  // Read the source with the owner's privileges, not the worker's.
  Oid saved_user;
  int saved_context;
  GetUserIdAndSecContext(&saved_user, &saved_context);
  SetUserIdAndSecContext(c.owner, saved_context | SECURITY_LOCAL_USERID_CHANGE);

  Due due = read_due(name);
  bool changed = false;
  if (c.kind == kSourceRemote) {
    bool fetch = due.refill_wanted || !current_key(c).present ||
                 (c.consistency != kFrozen && interval_passed(due.last_checked));
    if (fetch) {
      RulakeShared* s = shared();
      LWLockAcquire(s->lock, LW_EXCLUSIVE);
      find_collection(name, true)->refill_wanted = false;
      LWLockRelease(s->lock);
      fetch_remote(c);
      changed = true;
    }
  }
  bool prime_now = !due.ready || !entry_present(due.key, nullptr);
  if (!prime_now && c.consistency != kFrozen &&
      (c.consistency == kFresh || changed || interval_passed(due.last_checked))) {
    SourceKey now = current_key(c);
    prime_now = now.present && !keys_equal(now.key, due.key);
    RulakeShared* s = shared();
    LWLockAcquire(s->lock, LW_EXCLUSIVE);
    find_collection(name, true)->last_checked = GetCurrentTimestamp();
    LWLockRelease(s->lock);
  }
  if (prime_now && current_key(c).present) {
    Primed p = prime(c);
    note_primed(c, p);
    free_private_image(p.private_image);
  }
  if (c.kind == kSourceTable) {
    // Fold the write log: one row whose weight is the sum keeps the generation unchanged.
    Oid types[1] = {OIDOID};
    Datum values[1] = {ObjectIdGetDatum(c.relid)};
    SPI_connect();
    SPI_execute_with_args(
        "WITH gone AS (DELETE FROM rulake.table_writes WHERE relid = $1 RETURNING weight)"
        " INSERT INTO rulake.table_writes (relid, weight)"
        " SELECT $1, sum(weight) FROM gone HAVING count(*) > 0",
        1, types, values, nullptr, false, 0);
    SPI_finish();
  }
  SetUserIdAndSecContext(saved_user, saved_context);
  ConditionVariableBroadcast(&shared()->changed);
}

void record_error(const char* name, const char* message) {
  RulakeShared* s = shared();
  LWLockAcquire(s->lock, LW_EXCLUSIVE);
  find_collection(name, true)->refill_wanted = false;
  LWLockRelease(s->lock);
  note_failure(name, message);
  ConditionVariableBroadcast(&s->changed);
}

// Names of registered collections, or none when ruLake is not installed here.
char** collection_names(int* n) {
  *n = 0;
  char** names = nullptr;
  StartTransactionCommand();
  PushActiveSnapshot(GetTransactionSnapshot());
  SPI_connect();
  // An older ruvector without ruLake may be installed here: look for the catalog itself.
  SPI_execute("SELECT 1 WHERE to_regclass('rulake.collections') IS NOT NULL", true, 1);
  if (SPI_processed == 1) {
    SPI_execute("SELECT name FROM rulake.collections ORDER BY name", true, 0);
    *n = static_cast<int>(SPI_processed);
    MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
    names = static_cast<char**>(palloc(sizeof(char*) * (*n + 1)));
    for (int i = 0; i < *n; i++) {
      names[i] = pstrdup(SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
    }
    MemoryContextSwitchTo(old);
  }
  SPI_finish();
  PopActiveSnapshot();
  CommitTransactionCommand();
  return names;
}

void run_cycle(MemoryContext cycle) {
  int n = 0;
  char** names = collection_names(&n);
  for (int i = 0; i < n; i++) {
    PG_TRY();
    {
      StartTransactionCommand();
      PushActiveSnapshot(GetTransactionSnapshot());
      pgstat_report_activity(STATE_RUNNING, names[i]);
      refill_one(names[i]);
      PopActiveSnapshot();
      CommitTransactionCommand();
    }
    PG_CATCH();
    {
      MemoryContextSwitchTo(cycle);
      ErrorData* e = CopyErrorData();
      FlushErrorState();
      AbortCurrentTransaction();
      record_error(names[i], e->message);
      ereport(LOG, (errmsg("rulake refill of collection \"%s\" failed: %s", names[i], e->message)));
      FreeErrorData(e);
    }
    PG_END_TRY();
    pfree(names[i]);
  }
  if (names != nullptr) pfree(names);
  pgstat_report_activity(STATE_IDLE, nullptr);
}

}  // namespace

void register_worker() {
  register_database_worker("rulake_worker_main", "rulake refill worker", 10);
}

}  // namespace ruvector::pg::rulake

using namespace ruvector::pg::rulake;

void rulake_worker_main(Datum) {
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  pqsignal(SIGTERM, die);
  BackgroundWorkerUnblockSignals();
  BackgroundWorkerInitializeConnection(worker_database, nullptr, 0);
  RulakeShared* s = shared();
  LWLockAcquire(s->lock, LW_EXCLUSIVE);
  s->worker_latch = MyLatch;
  LWLockRelease(s->lock);
  before_shmem_exit(clear_latch, 0);
  MemoryContext cycle =
      AllocSetContextCreate(TopMemoryContext, "rulake refill cycle", ALLOCSET_DEFAULT_SIZES);
  for (;;) {
    ruvector::pg::wait_for_work(kCycleMs);
    MemoryContext old = MemoryContextSwitchTo(cycle);
    run_cycle(cycle);
    MemoryContextSwitchTo(old);
    MemoryContextReset(cycle);
  }
}
