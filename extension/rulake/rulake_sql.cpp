// SQL functions of schema rulake: search, search_batch, search_federated, invalidate, refresh,
// witness, stats, and the internal helpers the install script's plpgsql calls.
#include "extension/boundary.h"

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "extension/rulake/rulake_serve.h"
#include "extension/vector/vector_type.h"
#include "rulake/collection_index.h"

extern "C" {
#include "access/transam.h"
#include "access/xact.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "optimizer/cost.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/tuplestore.h"
}

namespace rl = ruvector::pg::rulake;
namespace core = ::ruvector::rulake;

namespace {

constexpr int kMaxK = 100000;
// Rows one search_batch call may return: its hits are held in memory at once.
constexpr int kMaxBatchHits = 10000000;

int check_k(int k) {
  if (k < 0 || k > kMaxK) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("k must be between 0 and %d, not %d", kMaxK, k)));
  }
  return k;
}

uint32 check_rerank(int rerank, const char* what) {
  if (rerank < 1 || rerank > 1000) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("%s must be between 1 and 1000, not %d", what, rerank)));
  }
  return static_cast<uint32>(rerank);
}

// CPUs this process may run on (at least 1), asked once.
int cpus() {
  static int n = 0;
  if (n == 0) n = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  return n;
}

char* text_arg(FunctionCallInfo fcinfo, int n) { return text_to_cstring(PG_GETARG_TEXT_PP(n)); }

// A collection the current user reads: its row (kept between statements, see
// rulake_catalog_cache.cpp), then the read access check.
rl::Collection* readable_collection(const char* name) {
  rl::Collection* c = rl::require_searched_collections(&name, 1);
  rl::check_read_access(*c);
  return c;
}

}  // namespace

RUVECTOR_FUNCTION(rulake_search) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2)) PG_RETURN_NULL();
  char* name = text_arg(fcinfo, 0);
  ruvector::pg::RuVector* q = PG_GETARG_RUVECTOR_P(1);
  int k = check_k(PG_GETARG_INT32(2));
  InitMaterializedSRF(fcinfo, 0);
  auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  rl::shared();
  rl::Collection* c = readable_collection(name);
  if (k == 0) return static_cast<Datum>(0);
  rl::Served served = rl::serve(*c);
  uint32 rerank =
      PG_ARGISNULL(3) ? served.rerank_factor : check_rerank(PG_GETARG_INT32(3), "rerank_factor");
  auto* hits = static_cast<rl::Hit*>(palloc(sizeof(rl::Hit) * k));
  int n = rl::search_served(*c, served, q->x, q->dim, k, rerank, hits);
  rl::release(served);
  for (int i = 0; i < n; i++) {
    Datum values[2] = {Int64GetDatum(hits[i].id), Float4GetDatum(hits[i].distance)};
    bool nulls[2] = {false, false};
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
  }
  return static_cast<Datum>(0);
}

// rulake.search_batch(name, queries ruvector[], k, rerank_factor): every query's k nearest
// rows, as (query, rank, id, distance) with query the 1-based array position. One pin and
// one kernel call for the batch: the path a GPU serves (ruvector.gpu).
RUVECTOR_FUNCTION(rulake_search_batch) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2)) PG_RETURN_NULL();
  char* name = text_arg(fcinfo, 0);
  ArrayType* array = PG_GETARG_ARRAYTYPE_P(1);
  int k = check_k(PG_GETARG_INT32(2));
  InitMaterializedSRF(fcinfo, 0);
  auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  rl::shared();
  rl::Collection* c = readable_collection(name);

  int16 elmlen;
  bool elmbyval;
  char elmalign;
  get_typlenbyvalalign(ARR_ELEMTYPE(array), &elmlen, &elmbyval, &elmalign);
  Datum* elems = nullptr;
  bool* elem_nulls = nullptr;
  int nqueries = 0;
  deconstruct_array(array, ARR_ELEMTYPE(array), elmlen, elmbyval, elmalign, &elems, &elem_nulls,
                    &nqueries);
  if (nqueries == 0 || k == 0) return static_cast<Datum>(0);
  if (static_cast<int64>(nqueries) * k > kMaxBatchHits) {
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                    errmsg("search_batch returns at most %d rows, not %d queries × k %d",
                           kMaxBatchHits, nqueries, k),
                    errhint("Split the queries into smaller batches.")));
  }
  int dim = 0;
  float* queries = nullptr;
  for (int i = 0; i < nqueries; i++) {
    if (elem_nulls[i]) {
      ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                      errmsg("search_batch: query %d is null", i + 1)));
    }
    ruvector::pg::RuVector* q = ruvector::pg::datum_get_ruvector(elems[i]);
    if (i == 0) {
      dim = q->dim;
      queries = static_cast<float*>(palloc(sizeof(float) * dim * static_cast<Size>(nqueries)));
    } else if (q->dim != dim) {
      ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                      errmsg("search_batch: query %d has %d dimensions, query 1 has %d", i + 1,
                             q->dim, dim)));
    }
    memcpy(queries + static_cast<Size>(i) * dim, q->x, sizeof(float) * dim);
  }

  rl::Served served = rl::serve(*c);
  uint32 rerank =
      PG_ARGISNULL(3) ? served.rerank_factor : check_rerank(PG_GETARG_INT32(3), "rerank_factor");
  auto* hits = static_cast<rl::Hit*>(palloc(sizeof(rl::Hit) * k * static_cast<Size>(nqueries)));
  auto* counts = static_cast<int*>(palloc(sizeof(int) * nqueries));
  rl::search_served_batch(*c, served, queries, nqueries, dim, k, rerank, hits, counts);
  rl::release(served);
  for (int q = 0; q < nqueries; q++) {
    for (int r = 0; r < counts[q]; r++) {
      const rl::Hit& h = hits[static_cast<Size>(q) * k + r];
      Datum values[4] = {Int32GetDatum(q + 1), Int32GetDatum(r + 1), Int64GetDatum(h.id),
                         Float4GetDatum(h.distance)};
      bool nulls[4] = {false, false, false, false};
      tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
    }
  }
  return static_cast<Datum>(0);
}

RUVECTOR_FUNCTION(rulake_search_federated) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2)) PG_RETURN_NULL();
  ArrayType* names_array = PG_GETARG_ARRAYTYPE_P(0);
  ruvector::pg::RuVector* q = PG_GETARG_RUVECTOR_P(1);
  int k = check_k(PG_GETARG_INT32(2));
  InitMaterializedSRF(fcinfo, 0);
  auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  rl::shared();

  Datum* elems = nullptr;
  bool* elem_nulls = nullptr;
  int nshards = 0;
  deconstruct_array(names_array, TEXTOID, -1, false, TYPALIGN_INT, &elems, &elem_nulls, &nshards);
  if (nshards == 0) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("search_federated needs at least one collection")));
  }
  // Every shard stays pinned until the merge.
  if (nshards > rl::kMaxPinsPerBackend) {
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                    errmsg("search_federated searches at most %d collections at once, not %d",
                           rl::kMaxPinsPerBackend, nshards),
                    errhint("Merge the results of several calls.")));
  }
  auto** names = static_cast<char**>(palloc(sizeof(char*) * nshards));
  for (int i = 0; i < nshards; i++) {
    if (elem_nulls[i]) {
      ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                      errmsg("search_federated: collection names must not be null")));
    }
    names[i] = TextDatumGetCString(elems[i]);
  }
  // The searches run at once on up to max_parallel_workers_per_gather + 1 threads, the way
  // Postgres lets one query use that many processes, and no more threads than the machine
  // has CPUs: the scans only compute, and a helper that shares a CPU with another helper
  // holds its shard while this thread, done with its own, waits. The helpers wake now, to
  // be awake when the shards are served.
  const int threads = std::min({nshards, max_parallel_workers_per_gather + 1, cpus()});
  rl::prepare_search_each(threads);
  // One catalog query for every shard not read before: a query each cost as much as a
  // shard's search.
  rl::Collection* rows = rl::require_searched_collections(names, nshards);
  auto** shards = static_cast<rl::Collection**>(palloc(sizeof(rl::Collection*) * nshards));
  for (int i = 0; i < nshards; i++) {
    shards[i] = &rows[i];
    rl::check_read_access(*shards[i]);
    for (int j = 0; j < i; j++) {
      if (strcmp(shards[j]->name, shards[i]->name) == 0) {
        ereport(ERROR,
                (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                 errmsg("search_federated: collection \"%s\" is named twice", shards[i]->name)));
      }
    }
    if (shards[i]->metric != shards[0]->metric) {
      ereport(ERROR,
              (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
               errmsg("search_federated: collections \"%s\" and \"%s\" use different metrics",
                      shards[0]->name, shards[i]->name),
               errdetail("Distances of different metrics cannot be merged.")));
    }
  }
  if (k == 0) return static_cast<Datum>(0);
  int explicit_rerank =
      PG_ARGISNULL(3) ? 0 : static_cast<int>(check_rerank(PG_GETARG_INT32(3), "per_shard_rerank"));

  // Each shard answers a few more than k (core::per_shard_k) with a smaller rerank factor;
  // the merge keeps the global top k. Every shard is pinned (or primed) first, on this
  // thread; then the searches run on the threads.
  const int shard_k = static_cast<int>(
      core::per_shard_k(static_cast<std::uint32_t>(k), static_cast<std::uint32_t>(nshards)));
  auto* hits =
      static_cast<rl::Hit*>(palloc(sizeof(rl::Hit) * shard_k * static_cast<Size>(nshards)));
  auto* counts = static_cast<int*>(palloc0(sizeof(int) * nshards));
  auto* served = static_cast<rl::Served*>(palloc(sizeof(rl::Served) * nshards));
  auto* reranks = static_cast<uint32*>(palloc(sizeof(uint32) * nshards));
  for (int i = 0; i < nshards; i++) {
    served[i] = rl::serve(*shards[i]);
    reranks[i] =
        explicit_rerank > 0 ? static_cast<uint32>(explicit_rerank) : ruvector::pg::guard([&] {
          return core::per_shard_rerank(served[i].rerank_factor,
                                        static_cast<std::uint32_t>(nshards));
        });
  }
  rl::search_served_each(shards, served, nshards, q->x, q->dim, shard_k, reranks, hits, counts,
                         threads);
  for (int i = 0; i < nshards; i++) rl::release(served[i]);
  int merged_n = 0;
  auto* merged = static_cast<core::ShardHit*>(palloc(sizeof(core::ShardHit) * k));
  ruvector::pg::guard([&] {
    std::vector<std::vector<core::Hit>> per_shard(nshards);
    for (int i = 0; i < nshards; i++) {
      for (int j = 0; j < counts[i]; j++) {
        const rl::Hit& h = hits[static_cast<Size>(i) * shard_k + j];
        per_shard[i].push_back(core::Hit{h.id, h.distance});
      }
    }
    std::vector<core::ShardHit> all = core::merge_hits(per_shard, static_cast<std::uint32_t>(k));
    for (const core::ShardHit& h : all) merged[merged_n++] = h;
  });
  for (int i = 0; i < merged_n; i++) {
    Datum values[3] = {CStringGetTextDatum(shards[merged[i].shard]->name),
                       Int64GetDatum(merged[i].id), Float4GetDatum(merged[i].distance)};
    bool nulls[3] = {false, false, false};
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
  }
  return static_cast<Datum>(0);
}

// Drops the collection's entry (unless another collection shares it) and forgets its key.
static void invalidate_collection(const rl::Collection& c, int status) {
  rl::RulakeShared* s = rl::shared();
  LWLockAcquire(s->lock, LW_EXCLUSIVE);
  rl::CollectionState* state = rl::find_collection(c.name, rl::IfAbsent::kCreate);
  bool had = state->has_key;
  rl::CacheKey key = state->key;
  state->has_key = false;
  state->status = status;
  LWLockRelease(s->lock);
  if (had) rl::drop_entry(key);
}

RUVECTOR_FUNCTION(rulake_invalidate) {
  char* name = text_arg(fcinfo, 0);
  rl::shared();
  rl::Collection* c = rl::require_collection(name);
  rl::check_owner(*c, "invalidate");
  invalidate_collection(*c, rl::kInvalidated);
  PG_RETURN_VOID();
}

RUVECTOR_FUNCTION(rulake_refresh) {
  char* name = text_arg(fcinfo, 0);
  rl::RulakeShared* s = rl::shared();
  rl::Collection* c = rl::require_collection(name);
  rl::check_owner(*c, "refresh");
  rl::check_read_access(*c);
  if (c->kind == rl::kSourceRemote) {
    // Ask the worker for a fresh copy, now even if failed fetches back off; what it finds
    // shows in a later refresh.
    LWLockAcquire(s->lock, LW_EXCLUSIVE);
    rl::CollectionState* state = rl::find_collection(c->name, rl::IfAbsent::kCreate);
    state->refill_wanted = true;
    state->fetch_retry_at = 0;
    LWLockRelease(s->lock);
    rl::wake_worker();
  }
  rl::SourceKey now = rl::current_key(*c);
  if (!now.present) PG_RETURN_TEXT_P(cstring_to_text("bundle_missing"));
  LWLockAcquire(s->lock, LW_EXCLUSIVE);
  rl::CollectionState* state = rl::find_collection(c->name, rl::IfAbsent::kCreate);
  // Nothing cached (never primed, or invalidated since): there is nothing stale to drop, and
  // the next search primes from the current source, so the cache is as up to date as it can
  // be. Saying "invalidated" here would make a poller re-fire on every poll of a cold
  // collection (the Rust ruLake answers UpToDate too).
  // A foreign table cannot be compared with what is cached: refresh reads it again.
  bool same = !state->has_key || (!c->foreign && rl::keys_equal(state->key, now.key));
  state->last_checked = GetCurrentTimestamp();
  LWLockRelease(s->lock);
  if (same) PG_RETURN_TEXT_P(cstring_to_text("up_to_date"));
  invalidate_collection(*c, rl::kInvalidated);
  PG_RETURN_TEXT_P(cstring_to_text("invalidated"));
}

RUVECTOR_FUNCTION(rulake_witness) {
  char* name = text_arg(fcinfo, 0);
  rl::RulakeShared* s = rl::shared();
  rl::Collection* c = readable_collection(name);
  LWLockAcquire(s->lock, LW_EXCLUSIVE);
  rl::CollectionState* state = rl::find_collection(c->name, rl::IfAbsent::kCreate);
  bool has = state->has_key;
  rl::CacheKey key = state->key;
  LWLockRelease(s->lock);
  if (!has) {
    rl::SourceKey now = rl::current_key(*c);
    if (!now.present) PG_RETURN_NULL();
    key = now.key;
  }
  PG_RETURN_TEXT_P(cstring_to_text(rl::witness_hex(key.witness)));
}

RUVECTOR_FUNCTION(rulake_stats) {
  InitMaterializedSRF(fcinfo, 0);
  auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  rl::RulakeShared* s = rl::shared();
  MemoryContext caller = CurrentMemoryContext;
  SPI_connect();
  if (SPI_execute("SELECT name, consistency FROM rulake.collections ORDER BY name", true, 0) !=
      SPI_OK_SELECT) {
    elog(ERROR, "rulake: reading rulake.collections failed");
  }
  uint64 n = SPI_processed;
  MemoryContext old = MemoryContextSwitchTo(caller);
  auto** names = static_cast<char**>(palloc(sizeof(char*) * (n + 1)));
  auto** modes = static_cast<char**>(palloc(sizeof(char*) * (n + 1)));
  for (uint64 i = 0; i < n; i++) {
    names[i] = pstrdup(SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
    modes[i] = pstrdup(SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2));
  }
  MemoryContextSwitchTo(old);
  SPI_finish();

  for (uint64 i = 0; i < n; i++) {
    LWLockAcquire(s->lock, LW_EXCLUSIVE);
    rl::CollectionState state = *rl::find_collection(names[i], rl::IfAbsent::kCreate);
    LWLockRelease(s->lock);
    uint64 bytes = 0;
    bool present = state.has_key && rl::entry_present(state.key, &bytes);
    const char* status = present                            ? "ready"
                         : state.has_key                    ? "evicted"
                         : state.status == rl::kInvalidated ? "invalidated"
                         : state.last_error[0] != '\0'      ? "failed"
                                                            : "cold";
    uint64 hits = pg_atomic_read_u64(&state.hits);
    uint64 misses = pg_atomic_read_u64(&state.misses);
    uint64 total = hits + misses;
    // A declaration with fewer columns (0.4.0's, kept as rulake.stats_0_4() for a user's
    // view) gets the first ones: tuplestore_putvalues reads as many as setDesc has.
    Datum values[14];
    bool nulls[14] = {false};
    values[0] = CStringGetTextDatum(names[i]);
    if (state.has_key) {
      values[1] = CStringGetTextDatum(rl::witness_hex(state.key.witness));
    } else {
      nulls[1] = true;
    }
    values[2] = CStringGetTextDatum(modes[i]);
    values[3] = CStringGetTextDatum(status);
    values[4] = Int64GetDatum(static_cast<int64>(state.primes));
    values[5] = Int64GetDatum(static_cast<int64>(hits));
    values[6] = Int64GetDatum(static_cast<int64>(misses));
    if (total > 0) {
      values[7] = Float8GetDatum(static_cast<double>(hits) / static_cast<double>(total));
    } else {
      nulls[7] = true;
    }
    values[8] = Int64GetDatum(static_cast<int64>(present ? bytes : 0));
    if (state.last_primed != 0) {
      values[9] = TimestampTzGetDatum(state.last_primed);
    } else {
      nulls[9] = true;
    }
    if (state.last_error[0] != '\0') {
      values[10] = CStringGetTextDatum(state.last_error);
    } else {
      nulls[10] = true;
    }
    // Under 0.4.0's definition (before ALTER EXTENSION ruvector UPDATE) the result has 11
    // columns, and forming the tuple ignores the last three.
    values[11] = Int64GetDatum(static_cast<int64>(state.evictions));
    auto last_searched = static_cast<TimestampTz>(pg_atomic_read_u64(&state.last_searched));
    if (last_searched != 0) {
      values[12] = TimestampTzGetDatum(last_searched);
    } else {
      nulls[12] = true;
    }
    values[13] = Int64GetDatum(static_cast<int64>(pg_atomic_read_u64(&state.deltas)));
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
  }
  return static_cast<Datum>(0);
}

RUVECTOR_FUNCTION(rulake_xmin_is_mine) {
  PG_RETURN_BOOL(TransactionIdIsCurrentTransactionId(DatumGetTransactionId(PG_GETARG_DATUM(0))));
}

// Resets a collection's shared state (its counters and cached key): only for a name
// that is unregistered or that the caller owns, so one role cannot reset another's.
RUVECTOR_FUNCTION(rulake_forget) {
  char* name = text_arg(fcinfo, 0);
  rl::CatalogCounts counts = rl::count_registrations(name);
  if (counts.name_taken && !has_privs_of_role(GetUserId(), counts.name_owner)) {
    ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                    errmsg("must be the owner of rulake collection \"%s\"", name)));
  }
  if (rl::attached()) {
    rl::forget_collection(name);
    rl::wake_worker();  // to remove a mirror no collection uses any more, once this commits
  }
  PG_RETURN_VOID();
}

RUVECTOR_FUNCTION(rulake_readable) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2)) PG_RETURN_BOOL(false);
  PG_RETURN_BOOL(rl::table_readable(PG_GETARG_OID(0), NameStr(*PG_GETARG_NAME(1)),
                                    NameStr(*PG_GETARG_NAME(2)), GetUserId()));
}

// Admission of a new registration: a free name, room in this database (the shared state
// tracks rulake.max_collections), and the role's own quota, so that one role filling the
// table cannot stop the others (superusers are exempt from the quota).
RUVECTOR_FUNCTION(rulake_admit) {
  char* name = text_arg(fcinfo, 0);
  // Registrations rolled back, or rows deleted by hand, leave states behind: free them
  // before this one may need a slot.
  rl::reclaim_unregistered_states();
  rl::CatalogCounts counts = rl::count_registrations(name);
  if (counts.name_taken) {
    ereport(ERROR, (errcode(ERRCODE_DUPLICATE_OBJECT),
                    errmsg("rulake collection \"%s\" already exists", name)));
  }
  if (counts.total >= rl::max_collections) {
    ereport(ERROR, (errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
                    errmsg("rulake.register: this database has %lld collections, the most "
                           "rulake.max_collections (%d) allows",
                           static_cast<long long>(counts.total), rl::max_collections),
                    errhint("Unregister collections, or raise rulake.max_collections and restart "
                            "the server.")));
  }
  if (!superuser() && counts.owned >= rl::max_collections_per_role) {
    ereport(ERROR,
            (errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
             errmsg("rulake.register: role \"%s\" already has %lld collections, the most "
                    "rulake.max_collections_per_role (%d) allows",
                    GetUserNameFromId(GetUserId(), false), static_cast<long long>(counts.owned),
                    rl::max_collections_per_role),
             errhint("Unregister collections you no longer search, or ask a superuser to raise "
                     "rulake.max_collections_per_role.")));
  }
  PG_RETURN_BOOL(true);
}
