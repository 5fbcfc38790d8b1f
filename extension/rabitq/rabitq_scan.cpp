// Ordered scans of a rabitq index (ORDER BY v <-> q LIMIT k). The scan probes the lists
// nearest the query, estimates every row's distance from its RaBitQ code with an error
// bound, and keeps candidates by lower bound and reranked rows by exact distance. A row is
// returned once its exact distance is no larger than every remaining lower bound, so rows
// come out in exact-distance order among the probed lists (as far as the bound holds: it
// is probabilistic, set by rabitq.epsilon) and the scan needs no k: it stops when the
// executor stops asking. The queues, the bounds and the per-list query setup are the
// core's (rabitq/candidate_pool.h, rabitq/list_query.h); this file owns the buffers,
// locks, snapshots and memory.
//
// With ex codes (bits > 1) a candidate enters the heap with its 1-bit lower bound and the
// place of its ex item; when it reaches the top it is first refined (its ex planes read from
// the vector chain), re-queued under the much tighter B-bit bound, and reranked only if it
// reaches the top again. Most candidates that
// the 1-bit bound could not rule out are ruled out there, without reading their vectors;
// rows that never reach the top cost nothing beyond the 1-bit estimate.
//
// With rabitq.iterative_scan the scan probes further lists when the first ones run out
// and as it returns more rows than rabitq.probes lists are sized for (relaxed_order), or
// also whenever an unprobed list could hold a closer row (strict_order, using each list's
// radius), up to rabitq.max_scan_tuples rows.
#include "extension/rabitq/rabitq.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "extension/boundary.h"
#include "extension/rabitq/rabitq_chain.h"
#include "extension/rabitq/rabitq_items.h"
#include "extension/rabitq/rabitq_recent.h"
#include "extension/rabitq/rabitq_returned.h"
#include "extension/vector/vector_type.h"
#include "ivf/probe_order.h"
#include "kernels/cpu/distance.h"
#include "rabitq/calibration.h"
#include "rabitq/candidate_pool.h"
#include "rabitq/list_query.h"
#include "rabitq/query.h"

extern "C" {
#include "access/relscan.h"
#include "access/tableam.h"
#include "executor/tuptable.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
}

namespace ruvector::pg::rabitq {

namespace {

namespace core = ::ruvector::rabitq;

using core::Candidate;
using core::kRefined;
using core::Result;

// The query side of a probed list, kept for refining its candidates later (bits > 1). The
// vector itself (q - c, or q for inner product) is rebuilt from the rotated query and the
// cached centroid when needed: a few refinements a scan do not justify a copy per list.
struct ProbedList {
  uint32 list;
  float v_sum;
  float v_norm;
  float centroid_dot;
};

// A list and its centroid's distance to the query in index space: the probe order.
using ListOrder = ::ruvector::ivf::ListKey;

static_assert(sizeof(core::HeapTid) == sizeof(ItemPointerData));

core::HeapTid to_core(const ItemPointerData& t) {
  return core::HeapTid{t.ip_blkid.bi_hi, t.ip_blkid.bi_lo, t.ip_posid};
}
ItemPointerData to_pg(core::HeapTid t) {
  ItemPointerData out;
  out.ip_blkid.bi_hi = t.block_hi;
  out.ip_blkid.bi_lo = t.block_lo;
  out.ip_posid = t.offset;
  return out;
}

struct ScanState {
  MemoryContext context;
  bool started;
  bool unordered;  // NULL or zero query under cosine: every distance is NULL or NaN
  Metric metric;
  RabitqMeta meta;
  int mode;       // IterativeScan
  uint32 probes;  // lists probed before any iterative probing
  uint64 max_tuples;
  float epsilon;  // as the bounds take it: rabitq.epsilon raised with the share of lists probed

  float* query;      // dim, as given: exact distances use it
  float* rotated;    // padded_dim, the prepared query rotated
  float query_norm;  // ||rotated||
  float* residual;   // padded_dim scratch
  uint64* planes;
  float* vector;  // dim scratch for reranks
  VectorLayout vector_layout;
  Size tuple_size;              // of a code tuple
  const CodeTuple** page_rows;  // a code page's live rows, and their estimates
  float* page_estimates;        // (probe_next_list)
  uint32 page_capacity;         // as many as fit on a page
  Size ex_size;                 // of an ex item (bits > 1)
  BlockNumber nblocks;          // the index's size as last read, for read_page's link checks
  RabitqListEntry** directory;  // per directory page, its copy once read (scan_list_entry)

  const IndexShape* shape;  // see scan_shape
  uint64 shape_stamp;
  ListOrder* order;  // lists × ...; [0, sorted) the probe sequence so far, by key
  uint32 sorted;
  // All but strict_order: the probe sequence comes from the int8 centroid codes' bounds,
  // with exact keys for the few lists that could come next.
  bool bounded_order;
  ::ruvector::ivf::ProbeOrder probe_order;
  uint32 next;        // lists probed so far (a prefix of order)
  float* list_bound;  // strict_order: per list, a lower bound of any row's distance
  float* suffix_min;  // strict_order: min of list_bound over order[i..]

  // Arrays in the scan's context, but for the pool, which may be the backend's cached
  // array (take_candidates).
  core::CandidateQueue candidates;
  core::ResultQueue results;
  uint64 scanned;
  uint64 refined;
  uint64 reranked;
  uint64 returned;  // rows handed to the executor, which filters them

  // bits > 1: per probed list, its query side; refine_v holds the vector of refine_list.
  bool refine;
  float* refine_v;
  uint32 refine_list;
  ProbedList* probed;
  uint32 nprobed;
  uint32 probed_capacity;

  // rerank_from_heap: candidates' vectors come from the table, as the scan's snapshot
  // sees them. Opened on the first rerank; closed before the scan context is reset.
  IndexFetchTableData* heap_fetch;
  TupleTableSlot* heap_slot;

  // rabitq.debug_fault: whether this scan's first row was tampered with, and the row that
  // swap_two returns second.
  bool faulted;
  bool holding;
  Result held;
};

// An error longjmps over a scan's state; its arrays live in the scan's memory context.
static_assert(std::is_trivially_destructible_v<ScanState>);

// The candidate array of the backend's last scan, kept in TopMemoryContext for the next
// one. Freeing it after every query let glibc give the top of its heap back to the kernel
// and take it again on the next query: brk calls with a TLB shootdown, a cost measured in
// docs/benchmarks.md. One scan holds it at a time (a nested scan allocates its
// own); a reset callback on the holder's scan context gives it back, on rescan, at the
// end of the scan, and when an error throws the scan's memory away.
struct CandidateCache {
  Candidate* array;
  uint32 capacity;
  bool held;
};
CandidateCache backend_candidates;

constexpr uint32 kFirstCandidates = 4096;
constexpr uint32 kKeptCandidates = 1u << 16;  // a larger array is freed, not kept

void return_candidates(void* arg) {
  auto* s = static_cast<ScanState*>(arg);
  if (s->candidates.pool_capacity() > kKeptCandidates) {
    pfree(s->candidates.pool_array());
    backend_candidates.array = nullptr;
    backend_candidates.capacity = 0;
  } else {
    backend_candidates.array = s->candidates.pool_array();
    backend_candidates.capacity = s->candidates.pool_capacity();
  }
  backend_candidates.held = false;
}

// The scan's arrays grow in place (repalloc keeps the cached pool in TopMemoryContext).
// Under pg_call: an out-of-memory error unwinds the core's frames as an exception.
void* grow_array(void*, void* array, size_t bytes) {
  return pg_call([&] { return repalloc_huge(array, bytes); });
}
constexpr core::Growth kScanGrowth{grow_array, nullptr};

// Starts the scan's candidates in the backend's cached array when no other scan holds it,
// else in a fresh one in the scan's context.
void take_candidates(ScanState* s, core::CandidateQueue::Order order) {
  constexpr uint32 kFirstHeap = 64;
  auto* heap = static_cast<Candidate*>(palloc(sizeof(Candidate) * kFirstHeap));
  if (backend_candidates.held) {
    auto* pool = static_cast<Candidate*>(palloc(sizeof(Candidate) * kFirstCandidates));
    s->candidates.init(pool, kFirstCandidates, heap, kFirstHeap, order, kScanGrowth);
    return;
  }
  if (backend_candidates.array == nullptr) {
    backend_candidates.array = static_cast<Candidate*>(
        MemoryContextAlloc(TopMemoryContext, sizeof(Candidate) * kFirstCandidates));
    backend_candidates.capacity = kFirstCandidates;
  }
  auto* callback = static_cast<MemoryContextCallback*>(palloc(sizeof(MemoryContextCallback)));
  s->candidates.init(backend_candidates.array, backend_candidates.capacity, heap, kFirstHeap, order,
                     kScanGrowth);
  callback->func = return_candidates;
  callback->arg = s;
  MemoryContextRegisterResetCallback(s->context, callback);
  backend_candidates.held = true;
}

template <typename T>
void push(T** array, uint32* n, uint32* capacity, const T& item) {
  if (*n == *capacity) {
    *capacity *= 2;
    *array = static_cast<T*>(repalloc_huge(*array, sizeof(T) * *capacity));
  }
  (*array)[(*n)++] = item;
}

// Distance of a centroid to the query in index space, for the probe order.
float centroid_key(const ScanState* s, const float* centroid) {
  return core::centroid_key(s->metric, s->rotated, centroid, s->meta.padded_dim);
}

// The index's shape, as cached when the scan started, or loaded again if a nested scan
// evicted it.
const IndexShape* scan_shape(Relation index, ScanState* s) {
  if (!shape_still_cached(s->shape, s->shape_stamp)) {
    s->shape = index_shape(index);
    s->shape_stamp = s->shape->stamp;
  }
  return s->shape;
}

// Makes the first `count` lists of the probe sequence known (or all of them).
void sort_lists_from(Relation index, ScanState* s, uint32 count) {
  uint32 lists = s->meta.lists;
  uint32 want = std::min(lists, count);
  if (want <= s->sorted) return;
  if (!s->bounded_order) {
    std::partial_sort(s->order + s->sorted, s->order + want, s->order + lists,
                      ::ruvector::ivf::KeyEarlier());
    s->sorted = want;
    return;
  }
  const float* centroids = scan_shape(index, s)->centroids;
  const uint32 padded = s->meta.padded_dim;
  auto exact = [s, centroids, padded](uint32 list) {
    return centroid_key(s, centroids + static_cast<Size>(list) * padded);
  };
  while (s->sorted < want && s->probe_order.next(exact, &s->order[s->sorted])) s->sorted++;
}

// The scan's query and the published row die with the scan's context (rescan resets it,
// an error deletes it with the executor's): the distance operators must not see them after.
void forget_on_reset(void* scan) { forget_returned(scan); }

void start(IndexScanDesc scan, ScanState* s) {
  Relation index = scan->indexRelation;
  if (scan->numberOfOrderBys == 0 || scan->orderByData == nullptr) {
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("cannot scan rabitq index without order"),
                    errhint("rabitq answers ORDER BY <vector> <operator> <query> LIMIT k.")));
  }
  const IndexShape* shape = scan_shape(index, s);
  s->meta = shape->meta;
  s->metric = static_cast<Metric>(s->meta.metric);
  int dim = static_cast<int>(s->meta.dim);
  uint32 padded = s->meta.padded_dim;
  uint32 lists = s->meta.lists;

  auto* forget = static_cast<MemoryContextCallback*>(palloc(sizeof(MemoryContextCallback)));
  forget->func = forget_on_reset;
  forget->arg = scan;
  MemoryContextRegisterResetCallback(s->context, forget);
  s->query = static_cast<float*>(palloc0(sizeof(float) * dim));
  s->rotated = static_cast<float*>(palloc0(sizeof(float) * padded));
  s->residual = static_cast<float*>(palloc(sizeof(float) * padded));
  s->planes = static_cast<uint64*>(palloc(sizeof(uint64) * core::query_code_words(padded)));
  s->vector = static_cast<float*>(palloc(sizeof(float) * dim));
  s->vector_layout = vector_layout(dim);
  s->tuple_size = code_tuple_size(padded, s->meta.bits);
  s->page_capacity = (BLCKSZ - SizeOfPageHeaderData) / (s->tuple_size + sizeof(ItemIdData));
  s->page_rows = static_cast<const CodeTuple**>(palloc(sizeof(CodeTuple*) * s->page_capacity));
  s->page_estimates = static_cast<float*>(palloc(sizeof(float) * s->page_capacity));
  s->ex_size = s->meta.bits > 1 ? ex_item_size(padded, s->meta.bits) : 0;

  ScanKey key = &scan->orderByData[0];
  s->unordered = (key->sk_flags & SK_ISNULL) != 0;
  if (!s->unordered) {
    RuVector* q = datum_get_ruvector(key->sk_argument);
    if (q->dim != dim) {
      ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                      errmsg("expected %d dimensions, not %d", dim, q->dim),
                      errdetail("The rabitq index \"%s\" has %d dimensions.",
                                RelationGetRelationName(index), dim)));
    }
    memcpy(s->query, q->x, sizeof(float) * dim);
    auto* prepared = static_cast<float*>(palloc(sizeof(float) * dim));
    if (prepare_vector(s->metric, s->query, dim, prepared)) {
      rotate_rows(dim, s->meta.seed, 1, prepared, s->rotated);
    } else {
      s->unordered = true;
    }
  }
  s->query_norm =
      std::sqrt(kernels::distance_kernels().norm_squared(s->rotated, s->meta.padded_dim));

  s->order = static_cast<ListOrder*>(palloc(sizeof(ListOrder) * lists));
  s->probes = std::min<uint32>(static_cast<uint32>(probes), lists);
  s->mode = s->unordered ? kIterativeRelaxed : iterative_scan;
  s->bounded_order = s->mode != kIterativeStrict;
  if (s->bounded_order) {
    auto* lower = static_cast<float*>(palloc(sizeof(float) * lists));
    const bool inner_product = s->metric == Metric::kInnerProduct;
    if (shape->projection.rank > 0) {
      auto* scratch = static_cast<float*>(palloc(sizeof(float) * shape->projection.rank));
      ::ruvector::ivf::projected_lower_bounds(s->rotated, shape->projection, inner_product, scratch,
                                              lower);
      pfree(scratch);
    } else {
      auto* scratch = static_cast<int8*>(palloc(padded));
      ::ruvector::ivf::key_lower_bounds(s->rotated, shape->codes, inner_product, scratch, lower);
      pfree(scratch);
    }
    auto* storage = static_cast<ListOrder*>(palloc(sizeof(ListOrder) * 2 * lists));
    s->probe_order.init(storage, lower, lists);
    pfree(lower);
  } else {
    for (uint32 i = 0; i < lists; i++) {
      s->order[i].list = i;
      s->order[i].key = centroid_key(s, shape->centroids + static_cast<Size>(i) * padded);
    }
  }
  s->max_tuples =
      s->unordered ? std::numeric_limits<uint64>::max() : static_cast<uint64>(max_scan_tuples);
  const float full_epsilon =
      s->meta.full_epsilon > 0 ? s->meta.full_epsilon : core::kFullEpsilonFallback;
  s->epsilon = core::scan_epsilon(static_cast<float>(epsilon), full_epsilon, s->probes, lists);
  if (s->mode == kIterativeStrict) {
    // Strict order needs every list's bound, and the probe order over all lists.
    sort_lists_from(index, s, lists);
    auto* entries = static_cast<RabitqListEntry*>(palloc(sizeof(RabitqListEntry) * lists));
    read_list_entries(index, s->meta, entries);
    s->suffix_min = static_cast<float*>(palloc(sizeof(float) * (lists + 1)));
    s->suffix_min[lists] = std::numeric_limits<float>::infinity();
    for (int64 i = static_cast<int64>(lists) - 1; i >= 0; i--) {
      const ListOrder& l = s->order[i];
      float bound = core::list_lower_bound(s->metric, l.key, entries[l.list].radius, s->query_norm);
      s->suffix_min[i] = std::min(bound, s->suffix_min[i + 1]);
    }
    pfree(entries);
  } else {
    sort_lists_from(index, s, s->probes);
  }

  take_candidates(s, s->unordered ? core::CandidateQueue::Order::kUnordered
                                  : core::CandidateQueue::Order::kByBound);
  constexpr uint32 kFirstResults = 64;
  s->results.init(static_cast<Result*>(palloc(sizeof(Result) * kFirstResults)), kFirstResults,
                  kScanGrowth);
  if (s->meta.bits > 1 && !s->unordered) {
    s->probed_capacity = 16;
    s->probed = static_cast<ProbedList*>(palloc(sizeof(ProbedList) * s->probed_capacity));
    s->refine_v = static_cast<float*>(palloc(sizeof(float) * padded));
    s->refine_list = kRefined;
    s->refine = true;
  }
  s->started = true;
}

// Records the query side of the list being probed (v: its query vector); returns its index.
uint32 keep_probed_list(ScanState* s, uint32 list, const float* v, float v_norm,
                        float centroid_dot) {
  ProbedList p{list, core::vector_sum(v, s->meta.padded_dim), v_norm, centroid_dot};
  push(&s->probed, &s->nprobed, &s->probed_capacity, p);
  return s->nprobed - 1;
}

// The query vector of a probed list, as probe_next_list built it.
const float* probed_vector(Relation index, ScanState* s, uint32 list) {
  if (s->refine_list == list) return s->refine_v;
  uint32 padded = s->meta.padded_dim;
  const float* centroid = scan_shape(index, s)->centroids + static_cast<Size>(list) * padded;
  core::list_query_vector(s->metric, s->rotated, centroid, padded, s->refine_v);
  s->refine_list = list;
  return s->refine_v;
}

// Asks for every cache line of the page's items at once. The rows of a list are read
// once per query and seldom cached; touched one at a time, each item's first line was a
// stall of its own (a third of the time of the loop below).
void prefetch_items(Page page) {
  const auto* header = reinterpret_cast<const PageHeaderData*>(page);
  for (uint32 at = header->pd_upper & ~63u; at < header->pd_special; at += 64) {
    __builtin_prefetch(page + at);
  }
}

// A list's directory entry. The scan copies each directory page it needs once, under one
// share lock, rather than locking it for every list it probes: every insert locks the page
// of its list's entry exclusively for a moment in its records, and under a steady insert
// load a search waited for one in most of its probes. A copy may be older than the page
// when a later list is probed; that hides nothing the scan may return: every row its MVCC
// snapshot sees was inserted, entry and all, before the scan began, and a list's chain is
// walked from its head, which only a repack moves (and it locks scans out of the index).
RabitqListEntry scan_list_entry(Relation index, ScanState* s, uint32 list) {
  const uint32 page = list / kEntriesPerDirectoryPage;
  if (s->directory == nullptr) {
    const uint32 pages = (s->meta.lists + kEntriesPerDirectoryPage - 1) / kEntriesPerDirectoryPage;
    s->directory = static_cast<RabitqListEntry**>(
        MemoryContextAllocZero(s->context, sizeof(RabitqListEntry*) * pages));
  }
  if (s->directory[page] == nullptr) {
    const uint32 first = page * kEntriesPerDirectoryPage;
    const uint32 n = std::min<uint32>(kEntriesPerDirectoryPage, s->meta.lists - first);
    auto* copy = static_cast<RabitqListEntry*>(
        MemoryContextAlloc(s->context, sizeof(RabitqListEntry) * kEntriesPerDirectoryPage));
    Buffer buffer = read_page(index, s->meta.directory_start + page, kPageDirectory,
                              BUFFER_LOCK_SHARE, nullptr);
    memcpy(copy, directory_entries(BufferGetPage(buffer)), sizeof(RabitqListEntry) * n);
    UnlockReleaseBuffer(buffer);
    s->directory[page] = copy;
  }
  return s->directory[page][directory_slot(list)];
}

// Estimates every live row of the next list in probe order and queues it as a candidate.
void probe_next_list(Relation index, ScanState* s) {
  if (s->next >= s->sorted) sort_lists_from(index, s, std::max(s->sorted * 2, s->probes));
  uint32 list = s->order[s->next++].list;
  uint32 padded = s->meta.padded_dim;

  // The query side of the estimate: q - c for L2 and cosine, q for inner product.
  const IndexShape* shape = scan_shape(index, s);
  const float* centroid = shape->centroids + static_cast<Size>(list) * padded;
  core::ListQuery lq;
  core::prepare_list_query(s->metric, s->rotated, centroid, padded, s->residual, s->planes, &lq);
  const core::QueryCode& qc = lq.code;
  const float v_norm = qc.norm;
  const float centroid_dot = lq.centroid_dot;
  const uint32 probe =
      s->refine ? keep_probed_list(s, list, s->residual, v_norm, centroid_dot) : kRefined;

  RabitqListEntry entry = scan_list_entry(index, s, list);
  const Size tuple_size = s->tuple_size;
  ChainWalk walk = chain_walk(entry.code_head, kPageCodes, s->nblocks, shape->recent);
  Buffer buffer;
  while (BufferIsValid(buffer = walk_chain(index, &walk, BUFFER_LOCK_SHARE))) {
    Page page = BufferGetPage(buffer);
    const BlockNumber block = BufferGetBlockNumber(buffer);
    OffsetNumber max = PageGetMaxOffsetNumber(page);
    prefetch_items(page);
    // The page's estimates first, then their bounds and candidates: in one loop each row's
    // loads and popcounts waited behind the previous row's bound (a square root) and queue
    // update, a dependent chain the CPU could not overlap.
    uint32 n = 0;
    for (OffsetNumber off = FirstOffsetNumber; off <= max; off++) {
      const CodeTuple* t = code_tuple_at(index, page, block, off, tuple_size);
      if (t->flags & kCodeDeleted) continue;
      // More rows than fit: items overlap, the page is damaged.
      if (unlikely(n == s->page_capacity)) report_bad_item(index, block, off);
      s->page_rows[n++] = t;
    }
    s->scanned += n;
    if (!s->unordered) {  // <r/|r|, v> of each
      core::estimate_ip_rows(qc, s->planes, reinterpret_cast<const uint8_t* const*>(s->page_rows),
                             offsetof(CodeTuple, code), offsetof(CodeTuple, factors), n,
                             s->page_estimates);
    }
    for (uint32 i = 0; i < n; i++) {
      const CodeTuple* t = s->page_rows[i];
      Candidate c{};
      c.tid = to_core(t->heap_tid);
      c.vector_block = t->vector_block;
      c.vector_offset = t->vector_offset;
      c.probe = probe;
      if (s->refine) {
        const ExRef* ref = code_ex_ref(t, padded);
        c.ex_block = ref->block;
        c.ex_offset = ref->offset;
      }
      if (!s->unordered) {
        const core::CodeFactors& f = t->factors;
        c.lower = core::lower_bound(s->metric, s->epsilon, s->page_estimates[i], f.residual_norm,
                                    f.error_unit, v_norm, centroid_dot);
      }
      s->candidates.add(c);
    }
    UnlockReleaseBuffer(buffer);
    // A list may span thousands of pages. Between pages no buffer is held (interrupts are
    // held off while one is locked anyway) and every local here is trivially destructible.
    CHECK_FOR_INTERRUPTS();
  }
  s->nblocks = walk.nblocks;
}

bool can_probe_more(const ScanState* s, bool first_batch) {
  if (s->next >= s->meta.lists) return false;
  if (first_batch) return true;
  return s->mode != kIterativeOff && s->scanned < s->max_tuples;
}

// Rows that rabitq.probes lists are sized for: a LIMIT 10 gets its rows from them.
constexpr double kRowsPerProbes = 10;

// relaxed_order: whether the lists probed so far are too few for the next row. rabitq.probes
// lists hold the nearest ten rows well, not the nearest thousand that a 1% filter needs
// (recall 0.79 on Fashion-MNIST). Measured there, the lists that keep recall grow with
// about the square root of the rows returned: a scan that has returned r rows probes
// probes * sqrt(r / 10) lists before the next, so LIMIT 10 without a filter probes no more.
bool wants_wider(const ScanState* s) {
  if (s->mode != kIterativeRelaxed || s->unordered) return false;
  const double rows = static_cast<double>(s->returned + 1);
  return s->next < s->probes * std::sqrt(rows / kRowsPerProbes) && can_probe_more(s, false);
}

// The exact distance of the candidate's row as the scan's snapshot sees it, computed where
// the row lies (in the table's buffer, for PLAIN or inline storage: no copy of the vector).
// False when this snapshot sees no version of the row (the executor would skip it as
// well), or its vector is NULL or of another dimension.
bool heap_distance(IndexScanDesc scan, ScanState* s, ItemPointerData tid, double* distance) {
  Relation heap = scan->heapRelation;
  if (s->heap_fetch == nullptr) {
    s->heap_fetch = table_index_fetch_begin(heap);
    s->heap_slot = table_slot_create(heap, nullptr);
  }
  bool call_again = false;
  bool all_dead = false;
  RecentBuffers* recent = scan_shape(scan->indexRelation, s)->heap_recent;
  position_heap_fetch(s->heap_fetch, ItemPointerGetBlockNumber(&tid), recent);
  const bool found = table_index_fetch_tuple(s->heap_fetch, &tid, scan->xs_snapshot, s->heap_slot,
                                             &call_again, &all_dead);
  record_heap_fetch(s->heap_fetch, recent);
  if (!found) return false;
  bool isnull = false;
  Datum d = slot_getattr(s->heap_slot, scan->indexRelation->rd_index->indkey.values[0], &isnull);
  bool ok = false;
  if (!isnull) {
    RuVector* v = datum_get_ruvector(d);
    const int dim = static_cast<int>(s->meta.dim);
    ok = v->dim == dim;
    if (ok) *distance = exact_distance(s->metric, v->x, s->query, dim);
    if (reinterpret_cast<Pointer>(v) != DatumGetPointer(d)) pfree(v);
  }
  ExecClearTuple(s->heap_slot);
  return ok;
}

void close_heap_fetch(ScanState* s) {
  if (s->heap_fetch == nullptr) return;
  table_index_fetch_end(s->heap_fetch);
  ExecDropSingleTupleTableSlot(s->heap_slot);
  s->heap_fetch = nullptr;
  s->heap_slot = nullptr;
}

// Replaces the top candidate's 1-bit lower bound with its B-bit one and restores the heap.
void refine_top(Relation index, ScanState* s) {
  const Candidate c = s->candidates.top();
  const ProbedList& p = s->probed[c.probe];
  const float* v = probed_vector(index, s, p.list);  // before locking: it may read pages
  Buffer buffer = read_page(index, c.ex_block, kPageVectors, BUFFER_LOCK_SHARE, &s->nblocks,
                            nullptr, scan_shape(index, s)->recent);
  const ExItem* item =
      ex_item_at(index, BufferGetPage(buffer), c.ex_block, c.ex_offset, s->ex_size);
  const uint32 padded = s->meta.padded_dim;
  float est = core::estimate_ip_ex(v, p.v_sum, padded, s->meta.bits, item->planes,
                                   item->planes + padded / 64, item->ex);
  const float lower = core::lower_bound(s->metric, s->epsilon, est, item->residual_norm,
                                        item->ex.error_unit, p.v_norm, p.centroid_dot);
  UnlockReleaseBuffer(buffer);
  s->candidates.requeue_top(lower);
  s->refined++;
}

// Works on the top candidate: refines it if it still has only its 1-bit bound, else
// computes its exact distance and moves it to the results.
void rerank_one(IndexScanDesc scan, ScanState* s) {
  if (s->candidates.top().probe != kRefined) {
    refine_top(scan->indexRelation, s);
    return;
  }
  const Candidate c = s->candidates.pop();
  Result r;
  r.tid = c.tid;
  s->reranked++;
  if (s->unordered) {
    r.distance = std::numeric_limits<double>::quiet_NaN();
  } else {
    if (!BlockNumberIsValid(c.vector_block)) {
      if (!heap_distance(scan, s, to_pg(c.tid), &r.distance)) return;
    } else {
      read_vector(scan->indexRelation, c.vector_block, c.vector_offset, s->vector_layout, s->vector,
                  &s->nblocks);
      r.distance = exact_distance(s->metric, s->vector, s->query, static_cast<int>(s->meta.dim));
    }
  }
  s->results.push(r);
}

}  // namespace

IndexScanDesc begin_scan(Relation index, int nkeys, int norderbys) {
  IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
  auto* s = static_cast<ScanState*>(palloc0(sizeof(ScanState)));
  s->context = AllocSetContextCreate(CurrentMemoryContext, "rabitq scan", ALLOCSET_DEFAULT_SIZES);
  scan->opaque = s;
  // The executor reads the distances of returned rows from here; the AM allocates them.
  scan->xs_orderbyvals = static_cast<Datum*>(palloc0(sizeof(Datum) * std::max(norderbys, 1)));
  scan->xs_orderbynulls = static_cast<bool*>(palloc(sizeof(bool) * std::max(norderbys, 1)));
  memset(scan->xs_orderbynulls, true, sizeof(bool) * std::max(norderbys, 1));
  return scan;
}

void rescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys) {
  auto* s = static_cast<ScanState*>(scan->opaque);
  if (keys && scan->numberOfKeys > 0) memmove(scan->keyData, keys, nkeys * sizeof(ScanKeyData));
  if (orderbys && scan->numberOfOrderBys > 0) {
    memmove(scan->orderByData, orderbys, norderbys * sizeof(ScanKeyData));
  }
  close_heap_fetch(s);
  MemoryContextReset(s->context);
  MemoryContext context = s->context;
  memset(s, 0, sizeof(*s));
  s->context = context;
}

namespace {

// The next row in distance order, taken off the results.
bool next_result(IndexScanDesc scan, ScanState* s, Result* out) {
  Relation index = scan->indexRelation;
  for (;;) {
    CHECK_FOR_INTERRUPTS();
    const float kInf = std::numeric_limits<float>::infinity();
    const bool have_result = !s->results.empty();
    double best = have_result ? s->results.top().distance : kInf;
    const bool have_candidate = s->candidates.settle();
    float lower = have_candidate ? s->candidates.top().lower : kInf;
    float unprobed = kInf;
    if (s->mode == kIterativeStrict && can_probe_more(s, false)) unprobed = s->suffix_min[s->next];

    if (wants_wider(s)) {
      probe_next_list(index, s);
    } else if (have_result && (s->unordered || (best <= lower && best <= unprobed))) {
      break;
    } else if (have_candidate && lower <= unprobed) {
      rerank_one(scan, s);
    } else if (can_probe_more(s, false)) {
      probe_next_list(index, s);
    } else if (have_candidate) {
      rerank_one(scan, s);
    } else if (have_result) {
      break;
    } else {
      if (s->mode != kIterativeOff && s->next < s->meta.lists) {
        // The scan ends short of the table: the query gets fewer rows than it asked for.
        ereport(NOTICE,
                (errmsg("rabitq scan of \"%s\" stopped at rabitq.max_scan_tuples after %u of %u "
                        "lists",
                        RelationGetRelationName(index), s->next, s->meta.lists),
                 errhint("Raise rabitq.max_scan_tuples (now %d) to read further lists.",
                         max_scan_tuples)));
      }
      return false;
    }
  }
  *out = s->results.pop();
  s->returned++;
  return true;
}

// rabitq.debug_fault on the scan's first row `r`: drop_one returns the second row instead;
// swap_two returns the second row now and keeps the first for the next call.
bool inject_fault(IndexScanDesc scan, ScanState* s, Result* r) {
  s->faulted = true;
  Result first = *r;
  if (next_result(scan, s, r)) {
    s->held = first;
    s->holding = debug_fault == kFaultSwapTwo;
    return true;
  }
  *r = first;
  return debug_fault == kFaultSwapTwo;
}

}  // namespace

bool get_tuple(IndexScanDesc scan, ScanDirection dir) {
  auto* s = static_cast<ScanState*>(scan->opaque);
  if (dir != ForwardScanDirection) {
    ereport(ERROR,
            (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("rabitq index scans go forward only")));
  }
  // Slots freed by VACUUM are reused in place (rabitq_reuse.cpp): only an MVCC snapshot
  // guarantees that a row found there is the one the scan's snapshot sees.
  if (!s->started && !IsMVCCSnapshot(scan->xs_snapshot)) {
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("rabitq index \"%s\" cannot be scanned with a non-MVCC snapshot",
                           RelationGetRelationName(scan->indexRelation))));
  }
  MemoryContext old = MemoryContextSwitchTo(s->context);
  if (s->started) {
    // Where the executor found the row returned last, for when a later row shares its page.
    record_heap_fetch(scan->xs_heapfetch, scan_shape(scan->indexRelation, s)->heap_recent);
  } else {
    start(scan, s);
    while (s->next < s->probes) {
      probe_next_list(scan->indexRelation, s);
      CHECK_FOR_INTERRUPTS();  // rabitq.probes may be every list of a large index
    }
  }

  Result r;
  bool found;
  if (s->holding) {
    r = s->held;
    s->holding = false;
    found = true;
  } else {
    found = next_result(scan, s, &r);
    if (found && debug_fault != kFaultOff && !s->faulted) found = inject_fault(scan, s, &r);
  }
  if (found) {
    scan->xs_heaptid = to_pg(r.tid);
    // The executor fetches the row next, usually from the page its rerank just read.
    position_heap_fetch(scan->xs_heapfetch, ItemPointerGetBlockNumber(&scan->xs_heaptid),
                        scan_shape(scan->indexRelation, s)->heap_recent);
    scan->xs_recheck = false;
    scan->xs_recheckorderby = false;
    scan->xs_orderbyvals[0] = Float8GetDatum(r.distance);
    scan->xs_orderbynulls[0] = s->unordered;
    const AttrNumber column = scan->indexRelation->rd_index->indkey.values[0];
    if (!s->unordered && column != 0) {
      publish_returned(scan, scan->heapRelation, column, &scan->xs_heaptid, s->metric, s->query,
                       static_cast<int>(s->meta.dim), r.distance);
    }
  }
  MemoryContextSwitchTo(old);
  return found;
}

void end_scan(IndexScanDesc scan) {
  auto* s = static_cast<ScanState*>(scan->opaque);
  if (s->started) {
    if (s->bounded_order) {
      elog(DEBUG2, "rabitq scan of \"%s\": exact centroid distances for %u of %u lists",
           RelationGetRelationName(scan->indexRelation), s->probe_order.exact, s->meta.lists);
    }
    if (s->meta.bits > 1) {
      elog(DEBUG1,
           "rabitq scan of \"%s\": %u lists probed, %llu rows estimated, %llu refined with "
           "%u-bit codes, %llu reranked, %llu returned",
           RelationGetRelationName(scan->indexRelation), s->next,
           static_cast<unsigned long long>(s->scanned), static_cast<unsigned long long>(s->refined),
           s->meta.bits, static_cast<unsigned long long>(s->reranked),
           static_cast<unsigned long long>(s->returned));
    } else {
      elog(DEBUG1,
           "rabitq scan of \"%s\": %u lists probed, %llu rows estimated, %llu reranked, %llu "
           "returned",
           RelationGetRelationName(scan->indexRelation), s->next,
           static_cast<unsigned long long>(s->scanned),
           static_cast<unsigned long long>(s->reranked),
           static_cast<unsigned long long>(s->returned));
    }
  }
  close_heap_fetch(s);
  MemoryContextDelete(s->context);
  pfree(s);
  scan->opaque = nullptr;
}

}  // namespace ruvector::pg::rabitq
