// Serving a search: decide, by the collection's consistency mode, which key the answer
// must come from; pin that entry (a hit) or prime it (a miss); then search the image.
#include "extension/rulake/rulake_serve.h"

#include <algorithm>
#include <new>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <vector>

#include "bundle/paths.h"
#include "extension/boundary.h"
#include "extension/gpu/gpu.h"
#include "rulake/batch_search.h"
#include "rulake/cpu_scan_kernel.h"
#include "util/error.h"
#include "util/worker_pool.h"
#include "rulake/collection_index.h"
#include "rulake/overlay.h"

extern "C" {
#include "pgstat.h"
#include "storage/ipc.h"
#include "utils/memutils.h"
}

namespace ruvector::pg::rulake {

namespace core = ::ruvector::rulake;

namespace {

struct StateView {
  bool has_key;
  CacheKey key;
  TimestampTz last_checked;
  TimestampTz fetch_retry_at;
  char last_error[sizeof(CollectionState::last_error)];
};

StateView view_state(const Collection& c) {
  StateView v;
  memset(&v, 0, sizeof(v));
  RulakeShared* s = shared();
  CollectionState* state = lock_collection(c.name);
  v.has_key = state->has_key && state->status == kReady;
  v.key = state->key;
  v.last_checked = state->last_checked;
  v.fetch_retry_at = state->fetch_retry_at;
  memcpy(v.last_error, state->last_error, sizeof(v.last_error));
  LWLockRelease(s->lock);
  return v;
}

// Counts the search; a search of `key` makes it the collection's key. The counters are
// atomics: the usual hit under an unchanged key takes the lock in shared mode only.
void count(const Collection& c, bool hit, const CacheKey* key) {
  RulakeShared* s = shared();
  TimestampTz now = GetCurrentTimestamp();
  CollectionState* state = lock_collection(c.name);
  pg_atomic_write_u64(&state->last_searched, static_cast<uint64>(now));
  // The clock as this search left it: what the worker's installs for this collection
  // start from in the LRU order, without a tick of their own.
  pg_atomic_write_u64(&state->searched_tick, pg_atomic_read_u64(&s->clock));
  pg_atomic_fetch_add_u64(hit ? &state->hits : &state->misses, 1);
  bool changed = key != nullptr &&
                 !(state->has_key && state->status == kReady && keys_equal(state->key, *key));
  LWLockRelease(s->lock);
  if (changed) {
    LWLockAcquire(s->lock, LW_EXCLUSIVE);
    state = find_collection(c.name, IfAbsent::kCreate);
    state->has_key = true;
    state->key = *key;
    state->status = kReady;
    LWLockRelease(s->lock);
  }
}

void mark_checked(const Collection& c) {
  RulakeShared* s = shared();
  LWLockAcquire(s->lock, LW_EXCLUSIVE);
  find_collection(c.name, IfAbsent::kCreate)->last_checked = GetCurrentTimestamp();
  LWLockRelease(s->lock);
}

// A remote bundle not mirrored yet: ask the refill worker and wait up to rulake.cold_wait,
// or not at all while its fetches fail and back off (the reason is known already).
void wait_for_mirror(const Collection& c) {
  RulakeShared* s = shared();
  LWLockAcquire(s->lock, LW_EXCLUSIVE);
  find_collection(c.name, IfAbsent::kCreate)->refill_wanted = true;
  LWLockRelease(s->lock);
  wake_worker();
  TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), cold_wait_ms);
  ConditionVariablePrepareToSleep(&s->changed);
  for (;;) {
    if (current_key(c).present) break;
    StateView v = view_state(c);
    if (GetCurrentTimestamp() >= deadline || v.fetch_retry_at > GetCurrentTimestamp()) {
      ConditionVariableCancelSleep();
      ereport(ERROR,
              (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
               errmsg("rulake collection \"%s\" has not been fetched yet", c.name),
               v.last_error[0] != '\0'
                   ? errdetail("The refill worker reported: %s", v.last_error)
                   : errdetail("The refill worker fetches %s in the background.", c.location),
               v.fetch_retry_at > GetCurrentTimestamp()
                   ? errhint("rulake.refresh('%s') tries again at once.", c.name)
                   : errhint("Retry later, raise rulake.cold_wait (now %d ms), or check that the "
                             "server runs with ruvector preloaded and rulake.database names this "
                             "database.",
                             cold_wait_ms)));
    }
    ConditionVariableTimedSleep(&s->changed, 100, PG_WAIT_EXTENSION);
  }
  ConditionVariableCancelSleep();
}

// A GPU kernel may keep device copies of images by this key: the witness names the rows,
// metric and lists name the index built from them. Never 0 (0 means "do not keep").
uint64 image_key(const CacheKey& key) {
  uint64 h = 0;
  memcpy(&h, key.witness, sizeof(h));
  h ^= ((static_cast<uint64>(key.metric) << 32) | key.lists) * UINT64CONST(0x9E3779B97F4A7C15);
  return h != 0 ? h : 1;
}

// What a served entry's image is cached under on a device: an overlay changes with every
// write, so its base is scanned without a device copy.
uint64 served_key(const Pinned& pin, const CacheKey& key) {
  return pin.depth > 0 ? 0 : image_key(key);
}

// prime(), keeping why it failed for rulake.stats; the error goes on to the searcher.
Primed prime_noting_failure(const Collection& c) {
  MemoryContext caller = CurrentMemoryContext;
  Primed p;
  PG_TRY();
  { p = prime(c, Use::kSearch); }
  PG_CATCH();
  {
    MemoryContextSwitchTo(caller);
    ErrorData* e = CopyErrorData();
    // A cancelled search says nothing about the collection; and an error raised under the
    // cache's lock (none is, today) must not wait for that lock here.
    if (e->sqlerrcode != ERRCODE_QUERY_CANCELED && !LWLockHeldByMe(shared()->lock))
      note_failure(c.name, e->message);
    FreeErrorData(e);
    PG_RE_THROW();
  }
  PG_END_TRY();
  return p;
}

void check_still_frozen(const Collection& c, const CacheKey& frozen) {
  if (c.foreign) {
    ereport(ERROR,
            (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
             errmsg("rulake collection \"%s\" is frozen, and its image was evicted", c.name),
             errdetail("Its source is a foreign table, whose rows cannot be compared with "
                       "those it was frozen with."),
             errhint("rulake.refresh('%s') primes it from the source as it is now.", c.name)));
  }
  SourceKey now = current_key(c);
  if (now.present && keys_equal(now.key, frozen)) return;
  ereport(ERROR,
          (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
           errmsg("rulake collection \"%s\" is frozen, and its source changed after its "
                  "image was evicted",
                  c.name),
           errdetail("Its image was primed from witness %s; the source now %s.",
                     witness_hex(frozen.witness), now.present ? "has another" : "has no bundle"),
           errhint("rulake.refresh('%s') primes it from the source as it is now.", c.name)));
}

}  // namespace

Served serve(const Collection& c) {
  Served out;
  memset(&out, 0, sizeof(out));
  out.pin.entry = -1;
  StateView v = view_state(c);
  bool use_state = false;
  if (v.has_key && c.consistency == kFrozen) use_state = true;
  if (v.has_key && c.consistency == kEventual &&
      !TimestampDifferenceExceeds(v.last_checked, GetCurrentTimestamp(),
                                  refresh_interval_s * 1000)) {
    use_state = true;
  }
  SourceKey source;
  memset(&source, 0, sizeof(source));
  if (use_state) {
    source.present = true;
    source.key = v.key;
    source.rerank_factor = c.rerank_factor;
  } else {
    source = current_key(c);
    if (!source.present && c.kind == kSourceRemote) {
      wait_for_mirror(c);
      source = current_key(c);
    }
    if (!source.present) {
      ereport(ERROR,
              (errcode(ERRCODE_UNDEFINED_FILE),
               errmsg("rulake collection \"%s\" has no bundle in \"%s\"", c.name, c.location)));
    }
    if (c.consistency == kEventual) mark_checked(c);
  }
  out.rerank_factor = source.rerank_factor;
  bool claimed = false;  // this backend holds the collection's build claim
  if (!source.own_writes) {
    out.pin = pin_entry(source.key, Use::kSearch);
    out.image_key = served_key(out.pin, source.key);
    if (out.pin.entry >= 0) {
      count(c, true, &source.key);
      return out;
    }
    // A frozen collection answers from the rows it was primed with: evicted, it is primed
    // again only from the same source state, never silently from newer rows.
    if (use_state && c.consistency == kFrozen) check_still_frozen(c, v.key);
    // One backend at a time builds a collection's image: the others wait for it (up to
    // rulake.cold_wait, then build their own) and search what it installed.
    TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), cold_wait_ms);
    while (!(claimed = claim_build(c.name))) {
      if (!wait_for_build(c.name, deadline)) break;
      out.pin = pin_entry(source.key, Use::kSearch);
      out.image_key = served_key(out.pin, source.key);
      if (out.pin.entry >= 0) {
        count(c, true, &source.key);
        return out;
      }
      v = view_state(c);
    }
    // The cache holds another state of the table: fold the writes since into it.
    if (c.kind == kSourceTable && v.has_key) {
      bool newest = false;
      out.pin = advance(c, v.key, source.key, Use::kSearch, &newest);
      out.image_key = served_key(out.pin, source.key);
      if (out.pin.entry >= 0) {
        if (claimed) end_build();
        note_advanced(c, source.key, newest);
        count(c, true, &source.key);
        return out;
      }
    }
  }
  // A miss: prime. Only the entry's own backend waits for it; others keep searching.
  for (int attempt = 0;; attempt++) {
    Primed p = prime_noting_failure(c);
    note_primed(c, p);
    if (claimed) end_build();
    claimed = false;
    count(c, false, nullptr);
    out.rerank_factor = p.rerank_factor;
    if (!p.installed) {
      out.private_image = p.private_image;
      out.image_key = 0;
      return out;
    }
    out.pin = pin_entry(p.key, Use::kSearch);
    out.image_key = image_key(p.key);
    if (out.pin.entry >= 0) return out;
    // Evicted between install and pin by concurrent primes of other collections.
    if (attempt == 2) {
      ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_RESOURCES),
                      errmsg("rulake cache is too small to keep collection \"%s\"", c.name),
                      errhint("Raise rulake.cache_size (now %d MB).", cache_size_mb)));
    }
  }
}

void release(const Served& served) {
  unpin_entry(served.pin.entry);
  free_private_image(served.private_image);
}

const void* served_image(const Served& s, Size* bytes) {
  if (s.private_image != nullptr) {
    *bytes = s.private_image->size;
    return s.private_image->bytes;
  }
  *bytes = s.pin.bytes;
  return s.pin.image;
}

int search_served(const Collection& c, const Served& served, const float* query, int dim, int k,
                  uint32 rerank_factor, Hit* out) {
  int count = 0;
  search_served_batch(c, served, query, 1, dim, k, rerank_factor, out, &count);
  return count;
}

namespace {

// One search of one served image, in three steps: start() and finish() run on the
// backend's thread and may call Postgres; run() calls nothing in Postgres, so federated
// search may run several at once on other threads. It lives in frames an ereport may
// longjmp over, and in palloc'd arrays.
struct ImageSearch {
  const Collection* collection;
  const void* image;  // the image, or the top overlay
  Size bytes;
  core::Layers layers;  // the image and the overlays under the served entry
  uint64 image_key;
  const RvScanKernel* kernel;
  bool may_fall_back;
  const float* queries;
  int nqueries;
  int dim;
  int k;
  uint32 rerank_factor;
  Hit* out;
  int* counts;
  int image_dim;
  // Under ruvector.gpu = auto a failing GPU kernel is replaced by the CPU for this search,
  // with a warning naming the failure; the answers are the same.
  char gpu_failure[512];
};
static_assert(std::is_trivially_destructible_v<ImageSearch>);

void start(ImageSearch* s, const Collection& c, const Served& served, const float* queries,
           int nqueries, int dim, int k, uint32 rerank_factor, Hit* out, int* counts) {
  memset(s, 0, sizeof(*s));
  s->collection = &c;
  s->image = served_image(served, &s->bytes);
  s->layers.image = s->image;
  s->layers.image_size = s->bytes;
  if (served.private_image == nullptr && served.pin.depth > 0) {
    s->layers.image = served.pin.layer[0].bytes;
    s->layers.image_size = served.pin.layer[0].size;
    for (int l = 1; l <= served.pin.depth; l++) {
      s->layers.overlay[s->layers.overlays] = served.pin.layer[l].bytes;
      s->layers.overlay_size[s->layers.overlays++] = served.pin.layer[l].size;
    }
  }
  s->image_key = served.image_key;
  s->kernel = &gpu::scan_kernel(static_cast<Size>(nqueries), c.consistency != kEventual);
  s->may_fall_back = gpu::may_fall_back();
  s->queries = queries;
  s->nqueries = nqueries;
  s->dim = dim;
  s->image_dim = dim;
  s->k = k;
  s->rerank_factor = rerank_factor;
  s->out = out;
  s->counts = counts;
  elog(DEBUG1, "rulake: %d %s on the %s scan kernel", nqueries, nqueries == 1 ? "query" : "queries",
       s->kernel->name);
}

// The image lives in shared memory or this backend's memory; the search makes no Postgres
// call (but `interrupt`, when given), and its vectors are freed before any error leaves.
void run(ImageSearch* s, InterruptCheck interrupt) {
  core::ImageInfo info = core::image_info(s->layers.image, s->layers.image_size);
  for (int q = 0; q < s->nqueries; q++) s->counts[q] = 0;
  if (info.rows == 0) return;
  if (static_cast<int>(info.dim) != s->dim) {
    s->image_dim = static_cast<int>(info.dim);
    return;
  }
  core::SearchParams params;
  params.k = static_cast<std::uint32_t>(s->k);
  params.rerank_factor = s->rerank_factor;
  params.probes = s->collection->probes;
  std::vector<std::vector<core::Hit>> hits;
  const RvScanKernel& cpu = core::cpu_scan_kernel();
  auto search = [&](const RvScanKernel& kernel) {
    const auto n = static_cast<std::size_t>(s->nqueries);
    if (s->layers.overlays > 0) {
      core::search_layers(s->layers, s->queries, n, params, kernel, s->image_key, &hits, interrupt);
    } else {
      core::search_batch(s->image, s->bytes, s->queries, n, params, kernel, s->image_key, &hits,
                         interrupt);
    }
  };
  try {
    search(*s->kernel);
  } catch (const Error& e) {
    const bool kernel_fault = e.kind() == ErrorKind::kIo || e.kind() == ErrorKind::kProgramLimit;
    if (s->kernel == &cpu || !s->may_fall_back || !kernel_fault) throw;
    strlcpy(s->gpu_failure, e.what(), sizeof(s->gpu_failure));
    search(cpu);
  }
  for (int q = 0; q < s->nqueries; q++) {
    for (const core::Hit& h : hits[q]) {
      Hit* slot = s->out + static_cast<Size>(q) * s->k + s->counts[q]++;
      slot->id = h.id;
      slot->distance = h.distance;
    }
  }
}

void finish(const ImageSearch& s) {
  if (s.gpu_failure[0] != '\0') {
    ereport(WARNING, (errmsg("%s", s.gpu_failure),
                      errdetail("ruvector.gpu is auto: the CPU answered instead.")));
  }
  if (s.image_dim != s.dim) {
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                    errmsg("expected %d dimensions, not %d", s.image_dim, s.dim),
                    errdetail("rulake collection \"%s\" has %d dimensions.", s.collection->name,
                              s.image_dim)));
  }
}

}  // namespace

void search_served_batch(const Collection& c, const Served& served, const float* queries,
                         int nqueries, int dim, int k, uint32 rerank_factor, Hit* out,
                         int* counts) {
  ImageSearch s;
  start(&s, c, served, queries, nqueries, dim, k, rerank_factor, out, counts);
  guard([&] { run(&s, check_for_interrupts); });
  finish(s);
}

namespace {

// The threads federated search shares its shards' scans with: started on first use and
// kept for the backend's life, since starting threads per search cost as much as a
// shard's scan. Between searches they sleep on a condition variable. The pool lives in
// TopMemoryContext, not in a static object, whose destructor would run at exit() after
// Postgres let go of shared memory; it is stopped and its threads joined before shared
// memory is detached, since a backend terminated during a search exits from inside its
// interrupt check while helpers may still be reading shards' images.
ruvector::WorkerPool* backend_pool = nullptr;

void stop_backend_pool(int, Datum) {
  if (backend_pool == nullptr) return;
  backend_pool->~WorkerPool();
  backend_pool = nullptr;
}

ruvector::WorkerPool* pool() {
  if (backend_pool == nullptr) {
    void* memory = MemoryContextAlloc(TopMemoryContext, sizeof(ruvector::WorkerPool));
    backend_pool = new (memory) ruvector::WorkerPool();
    before_shmem_exit(stop_backend_pool, 0);
  }
  return backend_pool;
}

}  // namespace

void prepare_search_each(int threads) {
  if (threads <= 1) return;
  ruvector::WorkerPool* helpers = pool();
  guard([&] { helpers->prepare(static_cast<unsigned>(threads - 1)); });
}

void search_served_each(const Collection* const* collections, const Served* served, int n,
                        const float* query, int dim, int k, const uint32* rerank_factors, Hit* out,
                        int* counts, int threads) {
  auto* searches = static_cast<ImageSearch*>(palloc(sizeof(ImageSearch) * n));
  bool all_cpu = true;
  for (int i = 0; i < n; i++) {
    start(&searches[i], *collections[i], served[i], query, 1, dim, k, rerank_factors[i],
          out + static_cast<Size>(i) * k, &counts[i]);
    all_cpu = all_cpu && searches[i].kernel == &core::cpu_scan_kernel();
  }
  // A GPU kernel is one device shared by the whole backend: its searches stay serial.
  if (!all_cpu) threads = 1;
  ruvector::WorkerPool* helpers = threads > 1 ? pool() : nullptr;
  const std::thread::id backend = std::this_thread::get_id();
  guard([&] {
    auto search = [&](std::size_t i) {
      // Only the backend's own thread may look at interrupts; a cancel waits at most for
      // the other threads' one search each.
      const bool mine = std::this_thread::get_id() == backend;
      run(&searches[i], mine ? check_for_interrupts : nullptr);
    };
    if (helpers == nullptr) {
      for (int i = 0; i < n; i++) search(static_cast<std::size_t>(i));
    } else {
      helpers->run(static_cast<unsigned>(threads - 1), static_cast<std::size_t>(n), search);
    }
  });
  for (int i = 0; i < n; i++) finish(searches[i]);
  pfree(searches);
}

}  // namespace ruvector::pg::rulake
