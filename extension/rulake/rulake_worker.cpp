// The refill worker: started with the server, it connects to rulake.database and, about
// once a second or when a backend wakes it, walks the registered collections: it starts
// fetches of remote bundles (each in its own worker, rulake_fetch.cpp), primes collections
// that are cold, invalidated, evicted or freshly fetched, rechecks eventual ones every
// rulake.refresh_interval, folds the write logs of registered tables, and removes mirrors
// nothing uses. Each collection runs in its own transaction, so one that fails (its error
// is kept for rulake.stats) never stops the others, and is left alone for a while that
// doubles with each failure; the postmaster restarts the worker if it crashes.
#include "extension/rulake/rulake_fetch.h"

#include "extension/bgworker.h"
#include "extension/boundary.h"
#include "extension/user_switch.h"

extern "C" {
#include "access/xact.h"
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

// The state fields a cycle decides on, copied under the lock; `fetched` is taken.
struct Due {
  bool refill_wanted;
  bool has_key;
  bool ready;
  CacheKey key;
  TimestampTz last_checked;
  TimestampTz last_fetched;
  TimestampTz fetch_retry_at;
  TimestampTz last_searched;
  bool fetched;
};

Due read_due(const char* name) {
  RulakeShared* s = shared();
  Due d;
  memset(&d, 0, sizeof(d));
  LWLockAcquire(s->lock, LW_EXCLUSIVE);
  CollectionState* c = find_collection(name, IfAbsent::kCreate);
  d.refill_wanted = c->refill_wanted;
  d.has_key = c->has_key;
  d.ready = c->has_key && c->status == kReady;
  d.key = c->key;
  d.last_checked = c->last_checked;
  d.last_fetched = c->last_fetched;
  d.fetch_retry_at = c->fetch_retry_at;
  d.last_searched = static_cast<TimestampTz>(pg_atomic_read_u64(&c->last_searched));
  d.fetched = c->fetched;
  c->fetched = false;
  LWLockRelease(s->lock);
  return d;
}

// Folds the write log of relation $1, keeping what overlays need (docs/rulake.md#writes).
// A folded row's weight is the sum, so the generation stays; its ids are the union and its
// xid the newest of the rows it replaces, so that a snapshot that may miss any of them
// sees the whole row as a change (a superset: re-reading an unchanged row is harmless).
// Writes that named their ids fold apart from those that did not, per id column, so that
// one bulk load does not hide which ids later writes touched; a row of 5000 ids or more is
// left as it is. The xid is kept at most this transaction's own: a restored log holds
// another cluster's xids, and those must not look newer than every snapshot forever.
const char kFoldLog[] =
    "WITH gone AS (DELETE FROM rulake.table_writes WHERE relid = $1"
    " AND coalesce(cardinality(ids) < 5000, true)"
    " AND (SELECT count(*) FROM rulake.table_writes WHERE relid = $1"
    " AND coalesce(cardinality(ids) < 5000, true)) > 1"
    " RETURNING weight, xid, id_column, ids)"
    " INSERT INTO rulake.table_writes (relid, weight, xid, id_column, ids, folded)"
    " SELECT $1, sum(weight), least(max(xid), pg_current_xact_id()), id_column,"
    " CASE WHEN bool_and(ids IS NOT NULL) THEN (SELECT coalesce(array_agg(DISTINCT i ORDER BY i),"
    " '{}') FROM gone g, unnest(g.ids) i WHERE g.ids IS NOT NULL"
    " AND g.id_column IS NOT DISTINCT FROM gone.id_column) END, true"
    " FROM gone GROUP BY id_column, ids IS NULL";

bool interval_passed(TimestampTz since) {
  return TimestampDifferenceExceeds(since, GetCurrentTimestamp(), refresh_interval_s * 1000);
}

// Whether an image that was evicted should be primed again in the background: only on
// demand (a search waits for it, or one ran within rulake.reprime_window). Re-priming
// every evicted collection would, with more registered data than rulake.cache_size, evict
// another one each time, and the worker would spend its cycles priming what nobody reads.
bool wanted_again(const Due& due) {
  if (due.refill_wanted) return true;
  if (reprime_window_s == 0 || due.last_searched == 0) return false;
  return !TimestampDifferenceExceeds(due.last_searched, GetCurrentTimestamp(),
                                     reprime_window_s * 1000);
}

void refill_one(const char* name) {
  Collection c;
  if (!lookup_collection(name, &c)) return;
  // Read the source with the owner's privileges, not the worker's.
  SavedUser saved = switch_user(c.owner);

  if (c.kind == kSourceTable && !table_readable(c.relid, c.id_column, c.vector_column, c.owner)) {
    ereport(ERROR,
            (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
             errmsg("the owner of rulake collection \"%s\" may no longer read its table", c.name),
             errdetail("The table is gone, has row level security, or the owner lost "
                       "SELECT on its id or vector column.")));
  }

  Due due = read_due(name);
  // A remote bundle is fetched in the background; what a finished fetch brought into the
  // mirror is compared with the cache below.
  bool changed = due.fetched;
  if (c.kind == kSourceRemote) {
    bool fetch = due.refill_wanted || !current_key(c).present ||
                 (c.consistency != kFrozen && interval_passed(due.last_fetched));
    if (fetch && GetCurrentTimestamp() >= due.fetch_retry_at) start_fetch(c);
  }
  bool evicted = due.ready && !entry_present(due.key, nullptr);
  bool prime_now = !due.ready || (evicted && wanted_again(due));
  if (!prime_now && !evicted && c.consistency != kFrozen &&
      (c.consistency == kFresh || changed || interval_passed(due.last_checked))) {
    SourceKey now = current_key(c);
    prime_now = now.present && !keys_equal(now.key, due.key);
    RulakeShared* s = shared();
    LWLockAcquire(s->lock, LW_EXCLUSIVE);
    find_collection(name, IfAbsent::kCreate)->last_checked = GetCurrentTimestamp();
    LWLockRelease(s->lock);
  }
  // An overlay grown past half the rebuild threshold is primed again here, so that the
  // searches that would pass it do not have to.
  if (!prime_now && !evicted && due.ready && c.kind == kSourceTable && overlay_heavy(due.key))
    prime_now = true;
  SourceKey now = current_key(c);
  // A frozen collection is primed again only from the source state it was frozen at.
  if (prime_now && c.consistency == kFrozen && due.ready && !keys_equal(now.key, due.key))
    prime_now = false;
  // A backend building the image now makes this one needless (the next cycle sees it).
  if (prime_now && now.present && claim_build(c.name)) {
    // A table written since its last prime: fold the writes in, when the log allows.
    Pinned advanced;
    memset(&advanced, 0, sizeof(advanced));
    advanced.entry = -1;
    bool newest = false;
    if (due.ready && !evicted && !now.own_writes && !overlay_heavy(due.key))
      advanced = advance(c, due.key, now.key, Use::kBackground, &newest);
    if (advanced.entry >= 0) {
      unpin_entry(advanced.entry);
      note_advanced(c, now.key, newest);
    } else {
      Primed p = prime(c, Use::kBackground);
      note_primed(c, p);
      free_private_image(p.private_image);
    }
    end_build();
  }
  // The write log is ours, not the owner's: fold it as the worker.
  restore_user(saved);
  if (c.kind == kSourceTable) {
    Oid types[1] = {OIDOID};
    Datum values[1] = {ObjectIdGetDatum(c.relid)};
    SPI_connect();
    SPI_execute_with_args(kFoldLog, 1, types, values, nullptr, false, 0);
    SPI_finish();
  }
  ConditionVariableBroadcast(&shared()->changed);
}

// A failed refill: kept for rulake.stats, and the collection is left alone for a while.
void record_error(const char* name, const char* message) {
  RulakeShared* s = shared();
  LWLockAcquire(s->lock, LW_EXCLUSIVE);
  CollectionState* c = find_collection(name, IfAbsent::kCreate);
  c->refill_wanted = false;
  back_off(c, &c->failures, &c->retry_at, message);
  LWLockRelease(s->lock);
  ConditionVariableBroadcast(&s->changed);
}

// Whether the collection failed lately and waits for its next attempt.
bool backing_off(const char* name) {
  RulakeShared* s = shared();
  LWLockAcquire(s->lock, LW_EXCLUSIVE);
  CollectionState* c = find_collection(name, IfAbsent::kCreate);
  bool waiting = c->retry_at > GetCurrentTimestamp();
  LWLockRelease(s->lock);
  return waiting;
}

void note_refilled(const char* name) {
  RulakeShared* s = shared();
  LWLockAcquire(s->lock, LW_EXCLUSIVE);
  CollectionState* c = find_collection(name, IfAbsent::kCreate);
  c->failures = 0;
  c->retry_at = 0;
  LWLockRelease(s->lock);
}

// The registered collections, in the cycle's memory context.
struct Registered {
  bool installed;  // false: ruLake is not installed in this database
  int n;
  char** names;
  int nremote;
  char** urls;  // of the remote ones
};

Registered registered_collections() {
  Registered r;
  memset(&r, 0, sizeof(r));
  MemoryContext cycle = CurrentMemoryContext;
  StartTransactionCommand();
  PushActiveSnapshot(GetTransactionSnapshot());
  SPI_connect();
  // An older ruvector without ruLake may be installed here: look for the catalog itself.
  SPI_execute("SELECT 1 WHERE to_regclass('rulake.collections') IS NOT NULL", true, 1);
  r.installed = SPI_processed == 1;
  if (r.installed) {
    SPI_execute("SELECT name, kind = 'remote', location FROM rulake.collections ORDER BY name",
                true, 0);
    MemoryContext old = MemoryContextSwitchTo(cycle);
    r.n = static_cast<int>(SPI_processed);
    r.names = static_cast<char**>(palloc(sizeof(char*) * (r.n + 1)));
    r.urls = static_cast<char**>(palloc(sizeof(char*) * (r.n + 1)));
    for (int i = 0; i < r.n; i++) {
      HeapTuple t = SPI_tuptable->vals[i];
      TupleDesc d = SPI_tuptable->tupdesc;
      r.names[i] = pstrdup(SPI_getvalue(t, d, 1));
      if (strcmp(SPI_getvalue(t, d, 2), "t") == 0)
        r.urls[r.nremote++] = pstrdup(SPI_getvalue(t, d, 3));
    }
    MemoryContextSwitchTo(old);
  }
  SPI_finish();
  PopActiveSnapshot();
  CommitTransactionCommand();
  MemoryContextSwitchTo(cycle);
  return r;
}

// Runs fn(arg) in a transaction of its own, with a snapshot. On an error the transaction
// rolls back and its message, copied into `cycle`, comes back; nullptr when it committed.
char* in_transaction(MemoryContext cycle, void (*fn)(void*), void* arg) {
  char* message = nullptr;
  PG_TRY();
  {
    StartTransactionCommand();
    PushActiveSnapshot(GetTransactionSnapshot());
    fn(arg);
    PopActiveSnapshot();
    CommitTransactionCommand();
  }
  PG_CATCH();
  {
    MemoryContextSwitchTo(cycle);
    ErrorData* e = CopyErrorData();
    FlushErrorState();
    AbortCurrentTransaction();
    message = pstrdup(e->message);
    FreeErrorData(e);
  }
  PG_END_TRY();
  MemoryContextSwitchTo(cycle);
  return message;
}

void refill_step(void* name) {
  pgstat_report_activity(STATE_RUNNING, static_cast<char*>(name));
  refill_one(static_cast<char*>(name));
}

void remove_mirrors_step(void* registered) {
  auto* r = static_cast<Registered*>(registered);
  remove_unused_mirrors(r->urls, r->nremote);
}

void run_cycle(MemoryContext cycle) {
  Registered r = registered_collections();
  if (r.installed) reclaim_states(r.names, r.n);
  for (int i = 0; i < r.n; i++) {
    if (backing_off(r.names[i])) continue;
    char* error = in_transaction(cycle, refill_step, r.names[i]);
    if (error == nullptr) {
      note_refilled(r.names[i]);
      continue;
    }
    record_error(r.names[i], error);
    ereport(LOG, (errmsg("rulake refill of collection \"%s\" failed: %s", r.names[i], error)));
  }
  reap_fetches();
  if (r.installed) {
    char* error = in_transaction(cycle, remove_mirrors_step, &r);
    if (error != nullptr)
      ereport(LOG, (errmsg("rulake: removing unused mirrors failed: %s", error)));
  }
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
