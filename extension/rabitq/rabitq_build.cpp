// CREATE INDEX for rabitq: count the rows and draw a deterministic uniform sample in one
// pass (ivf/priority_sample.h), train k-means on it, then scan the table again, assigning
// every row to its nearest centroid and appending its code and raw vector to that list's
// chains. Both passes see the rows in physical order without synchronized scans, so the
// same rows and seed give byte-identical pages. When Postgres plans parallel workers for
// the table, they do each pass's per-row work in chunks of blocks and the leader takes
// their results in block order (rabitq_build_parallel.cpp): the same pages again. The whole
// index is WAL-logged once at the end.
#include "extension/rabitq/rabitq_build.h"

#include <algorithm>
#include <vector>

#include <cmath>

#include "extension/boundary.h"
#include "extension/rabitq/rabitq_chain.h"
#include "extension/vector/vector_type.h"
#include "ivf/assign.h"
#include "ivf/defaults.h"
#include "ivf/kmeans.h"
#include "ivf/nearest_projected.h"
#include "ivf/parallel.h"
#include "ivf/priority_sample.h"
#include "rabitq/calibration.h"
#include "util/splitmix64.h"

extern "C" {
#include "access/tableam.h"
#include "access/reloptions.h"
#include "access/xloginsert.h"
#include "catalog/index.h"
#include "commands/progress.h"
#include "optimizer/optimizer.h"
#include "optimizer/plancat.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "portability/instr_time.h"
#include "postmaster/postmaster.h"
#include "utils/rel.h"
#include "utils/syscache.h"
}

namespace ruvector::pg::rabitq {

namespace {

constexpr int kMaxDimensions = 16000;

// Seconds since the last call (or since the build began), for the phase timings.
double phase_seconds(BuildState* st) {
  instr_time now;
  INSTR_TIME_SET_CURRENT(now);
  instr_time elapsed = now;
  INSTR_TIME_SUBTRACT(elapsed, st->phase_start);
  st->phase_start = now;
  return INSTR_TIME_GET_DOUBLE(elapsed);
}

// Makes room for another sample row: drops the rows the threshold has passed by, and if
// that frees too little, grows the arrays by half, within maintenance_work_mem.
void make_sample_room(BuildState* st) {
  st->sample_rows = ivf::drop_rows_from(sample_threshold(st, st->rows_seen), st->sample,
                                        st->sample_priority, st->sample_rows, st->dim);
  if (st->sample_rows < st->sample_capacity - st->sample_capacity / 8) return;
  // sample_limit keeps the rows held to about three quarters of what fits, so the arrays
  // stop growing at what fits; running out of room there would take an improbably large
  // excess of rows under the threshold.
  const double row_bytes = st->dim * sizeof(float) + sizeof(uint64);
  const auto fit =
      static_cast<uint64>(static_cast<double>(maintenance_work_mem) * 1024.0 / row_bytes);
  const uint64 grown =
      std::min(fit, std::max<uint64>(64, st->sample_capacity + st->sample_capacity / 2));
  if (grown <= st->sample_capacity) {
    if (st->sample_rows < st->sample_capacity) return;  // full to 7/8 but not full
    // What the sample would hold at its limit, at least one row more than it holds.
    const double rows = std::max(static_cast<double>(st->sample_capacity + 1),
                                 ivf::kSampleSlack * sample_limit(st->dim));
    const double bytes = rows * row_bytes;
    ereport(ERROR,
            (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
             errmsg("memory required is more than %.0f MB, maintenance_work_mem is %d MB",
                    std::floor(bytes / (1024.0 * 1024.0)), maintenance_work_mem / 1024),
             errdetail("The k-means sample holds %llu rows of %d dimensions after %llu rows.",
                       static_cast<unsigned long long>(st->sample_rows), st->dim,
                       static_cast<unsigned long long>(st->rows_seen)),
             errhint("Raise maintenance_work_mem, or lower the index's lists or sample_factor.")));
  }
  st->sample = static_cast<float*>(repalloc_huge(st->sample, sizeof(float) * grown * st->dim));
  st->sample_priority =
      static_cast<uint64*>(repalloc_huge(st->sample_priority, sizeof(uint64) * grown));
  st->sample_capacity = grown;
}

// Room for the rows the sample will hold at the end of the pass, from the planner's row
// estimate, so that it rarely has to grow or drop rows on the way: both cost copies of the
// rows held. Only the speed depends on it, never which rows are sampled.
uint64 initial_sample_capacity(BuildState* st) {
  BlockNumber pages;
  double tuples, allvisfrac;
  estimate_rel_size(st->heap, nullptr, &pages, &tuples, &allvisfrac);
  const auto rows = static_cast<uint64>(std::max(tuples, 0.0));
  const double share = static_cast<double>(sample_threshold(st, rows)) / 18446744073709551616.0;
  const double fit = static_cast<double>(maintenance_work_mem) * 1024.0 /
                     (st->dim * sizeof(float) + sizeof(uint64));
  // At least a few rows, never more than maintenance_work_mem holds (an empty table of
  // 9000 dimensions must not take 36 MB before it knows it has no rows).
  return static_cast<uint64>(std::max(1.0, std::min(std::max(64.0, 1.1 * share * rows), fit)));
}

// k-means asks between iterations whether to go on. Interrupts are handled here, through
// pg_call so that a cancel unwinds k-means' frames as an exception: stopping early on a
// mere pending interrupt would not do, since most are harmless (a parallel worker's
// message, a barrier) and must not change the centroids.
bool kmeans_progress(void* arg, uint32_t done, uint32_t total) {
  (void)arg;
  (void)total;
  (void)done;
  pg_call([] { CHECK_FOR_INTERRUPTS(); });
  return true;
}

uint64 fnv1a(const void* data, Size size) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint64 h = 0xcbf29ce484222325ULL;
  for (Size i = 0; i < size; i++) h = (h ^ p[i]) * 0x100000001b3ULL;
  return h;
}

int column_dimensions(Relation index) {
  int dim = TupleDescAttr(index->rd_att, 0)->atttypmod;
  if (dim < 1) {
    ereport(ERROR,
            (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("column does not have dimensions"),
             errhint("Declare the column as ruvector(n) to index it with rabitq.")));
  }
  if (dim > kMaxDimensions) {
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                    errmsg("column cannot have more than %d dimensions for rabitq index",
                           kMaxDimensions)));
  }
  return dim;
}

// A row's ex item must fit on a page: bits × dimensions / 8 bytes.
int code_bits(Relation index, int dim) {
  const auto* options = reinterpret_cast<const RabitqOptions*>(index->rd_options);
  int bits = options != nullptr ? options->bits : kDefaultBits;
  uint32 padded_dim = padded_dimensions(dim);
  if (bits > 1 && ex_item_size(padded_dim, bits) > kMaxItemSize) {
    Size room = kMaxItemSize - offsetof(ExItem, planes);
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                    errmsg("rabitq index with bits = %d supports at most %d dimensions", bits,
                           static_cast<int>(room * 8 / bits / 64 * 64)),
                    errhint("Lower bits, or use bits = 1 (up to %d dimensions).", kMaxDimensions)));
  }
  return bits;
}

// Bytes of maintenance_work_mem the sample and the centroids leave: k-means' bounds may
// take them while it trains, then the rows encoded at a time.
double memory_left(uint64 sample_rows, int dim, uint32 lists, uint32 padded_dim) {
  return static_cast<double>(maintenance_work_mem) * 1024.0 -
         static_cast<double>(sample_rows) * dim * sizeof(float) -
         static_cast<double>(lists) * (dim + padded_dim) * sizeof(float);
}

// The sample and the centroids must fit in maintenance_work_mem; the rows encoded at a time
// take what is left, up to kAssignBatch, so that wide vectors build under the default
// setting (a full batch of 9000 dimensions alone is ~100 MB). Returns the batch size.
uint32 check_memory(uint64 sample_rows, int dim, uint32 lists, uint32 padded_dim, int bits) {
  const double left = memory_left(sample_rows, dim, lists, padded_dim);
  const double per_row = static_cast<double>(2 * dim + padded_dim) * sizeof(float) +
                         code_tuple_size(padded_dim, bits) +
                         (bits > 1 ? ex_item_size(padded_dim, bits) : 0);
  // Fewer than this many rows per batch would leave the build's threads idle.
  constexpr double kMinBatch = 16;
  const double rows = std::floor(left / per_row);
  if (rows < kMinBatch) {
    const double bytes =
        static_cast<double>(maintenance_work_mem) * 1024.0 - left + kMinBatch * per_row;
    ereport(ERROR,
            (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
             errmsg("memory required is %.0f MB, maintenance_work_mem is %d MB",
                    std::ceil(bytes / (1024.0 * 1024.0)), maintenance_work_mem / 1024),
             errdetail("The k-means sample holds %llu rows of %d dimensions for %u lists.",
                       static_cast<unsigned long long>(sample_rows), dim, lists),
             errhint("Raise maintenance_work_mem, or lower the index's lists or sample_factor.")));
  }
  return static_cast<uint32>(std::min<double>(rows, kAssignBatch));
}

// Writes `total` bytes of `parts` as one stream over consecutive pages of `type` from
// `block`, through page_at and finish; returns the block after the last.
template <class PageAt, class Finish>
BlockNumber write_stream(PageAt&& page_at, Finish&& finish, BlockNumber block, PageType type,
                         std::initializer_list<std::pair<const char*, Size>> parts) {
  Buffer buffer = InvalidBuffer;
  Size used = 0;
  for (const auto& [bytes, size] : parts) {
    for (Size done = 0; done < size;) {
      if (!BufferIsValid(buffer)) buffer = page_at(block++, type);
      const Size n = std::min(size - done, kPagePayload - used);
      memcpy(PageGetContents(BufferGetPage(buffer)) + used, bytes + done, n);
      done += n;
      used += n;
      if (used == kPagePayload) {
        finish(buffer, used);
        buffer = InvalidBuffer;
        used = 0;
      }
    }
  }
  if (BufferIsValid(buffer)) finish(buffer, used);
  return block;
}

// Writes the metapage, the centroid pages, the directory pages and the projection's at
// blocks 0.. of `fork`. During a build they are written before any list page and
// rewritten at the end, so the layout's block numbers are known up front.
void write_header_pages(Relation index, ForkNumber fork, const RabitqMeta& meta,
                        const float* centroids, const RabitqListEntry* entries,
                        const ivf::CentroidProjection* projection, bool extend) {
  auto page_at = [&](BlockNumber block, PageType type) {
    Buffer buffer = extend ? ReadBufferExtended(index, fork, P_NEW, RBM_NORMAL, nullptr)
                           : ReadBufferExtended(index, fork, block, RBM_NORMAL, nullptr);
    if (BufferGetBlockNumber(buffer) != block) {
      elog(ERROR, "rabitq index \"%s\": expected block %u, got %u", RelationGetRelationName(index),
           block, BufferGetBlockNumber(buffer));
    }
    LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
    Page page = BufferGetPage(buffer);
    BlockNumber next = extend ? InvalidBlockNumber : page_opaque(page)->next;
    init_page(page, type);
    page_opaque(page)->next = next;
    return buffer;
  };
  auto finish = [](Buffer buffer, Size used) {
    Page page = BufferGetPage(buffer);
    ((PageHeader)page)->pd_lower = MAXALIGN(SizeOfPageHeaderData) + used;
    MarkBufferDirty(buffer);
    UnlockReleaseBuffer(buffer);
  };

  Buffer buffer = page_at(kMetaBlock, kPageMeta);
  memcpy(PageGetContents(BufferGetPage(buffer)), &meta, sizeof(meta));
  finish(buffer, sizeof(meta));

  Size total = static_cast<Size>(meta.lists) * meta.padded_dim * sizeof(float);
  write_stream(page_at, finish, meta.centroid_start, kPageCentroids,
               {{reinterpret_cast<const char*>(centroids), total}});

  BlockNumber block = meta.directory_start;
  for (uint32 first = 0; first < meta.lists; first += kEntriesPerDirectoryPage, block++) {
    uint32 n = std::min<uint32>(kEntriesPerDirectoryPage, meta.lists - first);
    buffer = page_at(block, kPageDirectory);
    memcpy(PageGetContents(BufferGetPage(buffer)), entries + first, n * sizeof(RabitqListEntry));
    finish(buffer, n * sizeof(RabitqListEntry));
  }

  if (meta.projection_rank > 0) {
    const uint32 rank = meta.projection_rank;
    write_stream(
        page_at, finish, meta.projection_start, kPageProjection,
        {{reinterpret_cast<const char*>(projection->basis), sizeof(float) * rank * meta.padded_dim},
         {reinterpret_cast<const char*>(projection->projected),
          sizeof(float) * rank * meta.lists}});
  }
}

// Makes st->projection once (the leader before the header pages, each parallel worker for
// its own assignment): the same bytes from the same centroids. It is small (under 1 MB at
// 2000 lists of 832 dimensions); making it takes a transient copy of the centroids.
void make_projection(BuildState* st) {
  if (st->projection.rank > 0) return;
  const uint32 rank = ivf::projection_rank(st->lists, st->padded_dim);
  if (rank == 0) return;
  auto* buffer = static_cast<float*>(palloc_extended(
      sizeof(float) * ivf::projection_floats(st->lists, st->padded_dim, rank), MCXT_ALLOC_HUGE));
  guard([&] {
    ivf::build_projection(st->centroids, st->lists, st->padded_dim, rank, st->threads, buffer,
                          &st->projection);
  });
}

RabitqMeta make_meta(Metric metric, int dim, uint32 padded_dim, uint32 lists, int bits, uint64 seed,
                     const float* centroids) {
  RabitqMeta meta;
  memset(&meta, 0, sizeof(meta));
  meta.magic = kMagic;
  meta.version = kFormatVersion;
  meta.dim = dim;
  meta.padded_dim = padded_dim;
  meta.lists = lists;
  meta.metric = static_cast<uint16>(metric);
  meta.bits = static_cast<uint16>(bits);
  meta.seed = seed;
  Size centroid_bytes = static_cast<Size>(lists) * padded_dim * sizeof(float);
  BlockNumber centroid_pages = (centroid_bytes + kPagePayload - 1) / kPagePayload;
  meta.centroid_start = kMetaBlock + 1;
  meta.directory_start = meta.centroid_start + centroid_pages;
  meta.centroid_hash = fnv1a(centroids, centroid_bytes);
  return meta;
}

RabitqListEntry* empty_entries(uint32 lists) {
  auto* entries = static_cast<RabitqListEntry*>(palloc0(sizeof(RabitqListEntry) * lists));
  for (uint32 i = 0; i < lists; i++) {
    entries[i].code_head = entries[i].code_tail = InvalidBlockNumber;
    entries[i].vector_head = entries[i].vector_tail = InvalidBlockNumber;
  }
  return entries;
}

void train(BuildState* st, float* centroids_rotated) {
  pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, kPhaseKmeans);
  auto* centroids = static_cast<float*>(
      palloc_extended(sizeof(float) * st->lists * st->dim, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO));
  if (st->sample_rows > 0) {
    ivf::KMeansOptions options;
    options.clusters = st->lists;
    options.iterations = static_cast<uint32_t>(st->options.kmeans_iterations);
    options.seed = static_cast<uint64_t>(st->options.seed);
    options.spherical = false;
    options.threads = st->threads;
    options.progress = kmeans_progress;
    options.progress_arg = st;
    // Elkan's bounds where what the sample leaves of maintenance_work_mem holds them; else
    // plain Lloyd iterations, which give the same centroids up to near ties.
    options.bounds_budget = static_cast<std::size_t>(
        std::max(0.0, memory_left(st->sample_capacity, st->dim, st->lists, st->padded_dim)));
    // The sample is not used after training, so the two-level k-means may reorder it.
    if (st->lists >= ivf::kHierarchicalMinClusters)
      ivf::train_kmeans_hierarchical(st->sample, st->sample_rows, st->dim, options, centroids);
    else
      ivf::train_kmeans(st->sample, st->sample_rows, st->dim, options, centroids);
    CHECK_FOR_INTERRUPTS();
  }
  rotate_rows(st->dim, st->options_seed, st->lists, centroids, centroids_rotated);
  pfree(centroids);
}

// Sample rows the calibration uses: the first kCalibrationQueries as queries, against
// the others in their kCalibrationProbes nearest lists. About 130k pairs on Fashion-MNIST's
// default index.
constexpr uint64 kCalibrationRows = 8192;
constexpr uint32 kCalibrationQueries = 512;
constexpr uint32 kCalibrationProbes = 16;

// The index's full-probe epsilon, measured on the k-means sample (rabitq/calibration.h); 0
// when the sample is too small to say. The sample's rows are prepared, in random order.
// Their rotated copy takes what the sample and the centroids leave of maintenance_work_mem
// (under the default 64 MB, about 6,700 rows of 784 dimensions).
float calibrate(BuildState* st) {
  const double row_bytes = sizeof(float) * static_cast<double>(st->padded_dim);
  const double fit =
      std::max(0.0, memory_left(st->sample_rows, st->dim, st->lists, st->padded_dim)) / row_bytes;
  const uint64 n = std::min({st->sample_rows, kCalibrationRows, static_cast<uint64>(fit)});
  if (n <= kCalibrationQueries) return 0;
  auto* rotated =
      static_cast<float*>(palloc_extended(sizeof(float) * n * st->padded_dim, MCXT_ALLOC_HUGE));
  rotate_rows(st->dim, st->options_seed, static_cast<uint32>(n), st->sample, rotated);
  const ::ruvector::rabitq::CalibrationSample sample{st->metric,    rotated,   n,
                                                     st->centroids, st->lists, st->padded_dim};
  const float full = ::ruvector::rabitq::full_probe_epsilon(::ruvector::rabitq::normalized_errors(
      sample, kCalibrationQueries, kCalibrationProbes, st->threads));
  pfree(rotated);
  elog(DEBUG1, "rabitq build of \"%s\": full-probe epsilon %.3f from %llu sample rows",
       RelationGetRelationName(st->index), full, static_cast<unsigned long long>(n));
  return full;
}

}  // namespace

const float* row_values(BuildState* st, Datum value) {
  RuVector* v = datum_get_ruvector(value);
  if (v->dim != st->dim) {
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                    errmsg("expected %d dimensions, not %d", st->dim, v->dim)));
  }
  return v->x;
}

uint64 tid_priority(const BuildState* st, const ItemPointerData& tid) {
  const uint64 place = (static_cast<uint64>(ItemPointerGetBlockNumberNoCheck(&tid)) << 16) |
                       ItemPointerGetOffsetNumberNoCheck(&tid);
  return ivf::row_priority(st->options_seed, place);
}

// Of maintenance_work_mem, the share the sample may hold while reading: kSampleSlack × its
// target (priority_sample.h). The rest is for the centroids and for the rows encoded at a
// time once the sample is cut to its target (check_memory). Fashion-MNIST's default index
// (490 lists × sample_factor 64 = 31,360 rows of 784 dimensions) needs about 160 MB to
// sample fully; under the default 64 MB it samples 13,300 rows, 27 a list.
constexpr double kSampleMemoryShare = 0.75;

uint64 sample_limit(int dim) {
  const double row_bytes = (dim * sizeof(float) + sizeof(uint64)) * ivf::kSampleSlack;
  const double rows =
      static_cast<double>(maintenance_work_mem) * 1024.0 * kSampleMemoryShare / row_bytes;
  return static_cast<uint64>(std::max(64.0, std::floor(rows)));
}

uint64 sample_threshold(const BuildState* st, uint64 rows) {
  return ivf::sample_threshold(rows, static_cast<uint32>(st->options.sample_factor),
                               static_cast<uint32>(st->options.lists), sample_limit(st->dim));
}

float* sample_slot(BuildState* st, uint64 priority) {
  if (priority >= sample_threshold(st, st->rows_seen)) return nullptr;
  if (st->sample_rows == st->sample_capacity) make_sample_room(st);
  return st->sample + st->sample_rows * st->dim;
}

// One pass that counts the rows and samples them (ivf/priority_sample.h): a row is kept
// while its priority is under the threshold for the rows seen so far.
void sample_callback(Relation, ItemPointer tid, Datum* values, bool* isnull, bool, void* arg) {
  guard([&] {
    auto* st = static_cast<BuildState*>(arg);
    if (isnull[0]) return;
    CHECK_FOR_INTERRUPTS();
    // Rows that cannot be indexed (zero vectors under cosine) are counted too: the count
    // sizes the lists.
    st->rows_seen++;
    const uint64 priority = tid_priority(st, *tid);
    float* slot = sample_slot(st, priority);
    if (slot == nullptr) return;
    MemoryContext old = MemoryContextSwitchTo(st->tmp);
    bool ok = prepare_vector(st->metric, row_values(st, values[0]), st->dim, slot);
    MemoryContextSwitchTo(old);
    MemoryContextReset(st->tmp);
    if (!ok) return;  // a zero vector under cosine is not indexed
    st->sample_priority[st->sample_rows++] = priority;
  });
}

// Rotates and assigns the batch's rows, then encodes them against their centroids on
// st->threads threads: the extended code's rescale search costs tens of µs a row. Pure C++
// inside (no Postgres calls, no palloc); each row's bytes depend only on the row, so builds
// stay byte-identical.
void compute_batch(BuildState* st) {
  if (st->batch_rows == 0) return;
  rotate_rows(st->dim, st->options_seed, st->batch_rows, st->batch_prepared, st->batch_rotated);
  if (st->projection.rank > 0) {
    ivf::nearest_centroids_projected(st->batch_rotated, st->batch_rows, st->projection, st->threads,
                                     st->batch_lists);
  } else {
    ivf::nearest_centroids_batch(st->batch_rotated, st->batch_rows, st->centroids, st->lists,
                                 st->padded_dim, /*inner_product=*/false, st->threads,
                                 st->batch_lists);
  }
  const Size tuple_size = st->tuple_size;
  const Size ex_size = st->ex_size;
  memset(st->batch_codes, 0, tuple_size * st->batch_rows);
  if (ex_size > 0) memset(st->batch_ex, 0, ex_size * st->batch_rows);
  ivf::parallel_for(st->threads, st->batch_rows, [st, tuple_size, ex_size](std::size_t i) {
    const uint32 padded = st->padded_dim;
    std::vector<float> residual(padded);
    const float* rotated = st->batch_rotated + i * padded;
    const float* centroid = st->centroids + static_cast<Size>(st->batch_lists[i]) * padded;
    for (uint32 j = 0; j < padded; j++) residual[j] = rotated[j] - centroid[j];
    auto* ex = ex_size > 0 ? reinterpret_cast<ExItem*>(st->batch_ex + i * ex_size) : nullptr;
    encode_row(residual.data(), padded, st->bits,
               reinterpret_cast<CodeTuple*>(st->batch_codes + i * tuple_size), ex);
  });
}

void write_batch(BuildState* st, const RowBatch& batch) {
  const Size tuple_size = st->tuple_size;
  const Size ex_size = st->ex_size;
  for (uint32 i = 0; i < batch.rows; i++) {
    CHECK_FOR_INTERRUPTS();
    RabitqListEntry* entry = &st->entries[batch.lists[i]];
    // A copy: in a parallel build the batch is a worker's message, in the queue's memory.
    auto* tuple = reinterpret_cast<CodeTuple*>(st->tuple_scratch);
    memcpy(tuple, batch.codes + i * tuple_size, tuple_size);
    tuple->heap_tid = batch.tids[i];
    tuple->vector_block = InvalidBlockNumber;
    if (!st->options.rerank_from_heap) {
      ItemPointerData where =
          store_vector_build(st->index, ChainRef{entry, Chain::kVectors},
                             batch.raw + static_cast<Size>(i) * st->dim, st->dim);
      tuple->vector_block = ItemPointerGetBlockNumber(&where);
      tuple->vector_offset = ItemPointerGetOffsetNumber(&where);
    }
    if (st->bits > 1) {
      ItemPointerData where = chain_append_build(st->index, ChainRef{entry, Chain::kVectors},
                                                 batch.ex + i * ex_size, ex_size);
      code_ex_ref(tuple, st->padded_dim)->block = ItemPointerGetBlockNumber(&where);
      code_ex_ref(tuple, st->padded_dim)->offset = ItemPointerGetOffsetNumber(&where);
    }
    chain_append_build(st->index, ChainRef{entry, Chain::kCodes}, tuple, tuple_size);
    entry->live++;
    entry->radius = std::max(entry->radius, tuple->factors.residual_norm);
    st->indexed++;
  }
  pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, static_cast<int64>(st->indexed));
}

void flush_batch(BuildState* st) {
  if (st->batch_rows == 0) return;
  compute_batch(st);
  write_batch(st, RowBatch{st->batch_rows, st->batch_tids, st->batch_lists, st->batch_codes,
                           st->batch_ex, st->batch_raw});
  st->batch_rows = 0;
}

bool add_batch_row(BuildState* st, const ItemPointerData& tid, Datum value) {
  const Size row = st->batch_rows;
  MemoryContext old = MemoryContextSwitchTo(st->tmp);
  memcpy(st->batch_raw + row * st->dim, row_values(st, value), sizeof(float) * st->dim);
  MemoryContextSwitchTo(old);
  MemoryContextReset(st->tmp);
  if (!prepare_vector(st->metric, st->batch_raw + row * st->dim, st->dim,
                      st->batch_prepared + row * st->dim)) {
    return false;  // a zero vector under cosine is not indexed
  }
  st->batch_tids[st->batch_rows++] = tid;
  return st->batch_rows == st->batch_limit;
}

void assign_callback(Relation, ItemPointer tid, Datum* values, bool* isnull, bool, void* arg) {
  guard([&] {
    auto* st = static_cast<BuildState*>(arg);
    if (!isnull[0] && add_batch_row(st, *tid, values[0])) flush_batch(st);
  });
}

void allocate_batch(BuildState* st) {
  const Size batch = st->batch_limit;
  st->batch_tids = static_cast<ItemPointerData*>(palloc(sizeof(ItemPointerData) * batch));
  st->batch_lists = static_cast<uint32*>(palloc(sizeof(uint32) * batch));
  st->batch_raw =
      static_cast<float*>(palloc_extended(sizeof(float) * batch * st->dim, MCXT_ALLOC_HUGE));
  st->batch_prepared =
      static_cast<float*>(palloc_extended(sizeof(float) * batch * st->dim, MCXT_ALLOC_HUGE));
  st->batch_rotated =
      static_cast<float*>(palloc_extended(sizeof(float) * batch * st->padded_dim, MCXT_ALLOC_HUGE));
  st->batch_codes = static_cast<char*>(palloc_extended(batch * st->tuple_size, MCXT_ALLOC_HUGE));
  st->tuple_scratch = static_cast<char*>(palloc(st->tuple_size));
  if (st->ex_size > 0) {
    st->batch_ex = static_cast<char*>(palloc_extended(batch * st->ex_size, MCXT_ALLOC_HUGE));
  }
  make_projection(st);
}

namespace {

// Parallel workers for the two table passes: as many as Postgres plans for a B-tree
// build of this table (max_parallel_maintenance_workers, the table's size or its
// parallel_workers setting, 32 MB of maintenance_work_mem per participant), none for
// CREATE INDEX CONCURRENTLY.
int build_workers(Relation heap, Relation index, IndexInfo* info) {
  if (info->ii_Concurrent || !IsUnderPostmaster) return 0;
  return plan_create_index_workers(RelationGetRelid(heap), RelationGetRelid(index));
}

// Whether the index's WITH clause names `option` (rd_options holds defaults for the rest).
bool option_named(Relation index, const char* option) {
  HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(RelationGetRelid(index)));
  if (!HeapTupleIsValid(tuple)) {
    elog(ERROR, "cache lookup failed for relation %u", RelationGetRelid(index));
  }
  bool isnull = false;
  Datum reloptions = SysCacheGetAttr(RELOID, tuple, Anum_pg_class_reloptions, &isnull);
  bool named = false;
  if (!isnull) {
    ListCell* cell;
    foreach (cell, untransformRelOptions(reloptions)) {
      if (strcmp(static_cast<DefElem*>(lfirst(cell))->defname, option) == 0) named = true;
    }
  }
  ReleaseSysCache(tuple);
  return named;
}

// rerank_from_heap is on by default: the index keeps codes only, a small fraction of the
// vectors' size, and reads a reranked row's vector from the table (in place for inline
// storage; decompressed for compressed rows). An index on an expression has no column to
// read: it keeps copies unless its WITH clause asks for rerank_from_heap, an error there.
bool reranks_from_heap(Relation index, const RabitqOptions* options) {
  const bool asked = options == nullptr || options->rerank_from_heap;
  if (index->rd_index->indkey.values[0] != 0) return asked;
  if (asked && options != nullptr && option_named(index, "rerank_from_heap")) {
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("rerank_from_heap needs an index on a column, not an expression"),
                    errhint("Index the column itself, or set rerank_from_heap off.")));
  }
  return false;
}

}  // namespace

IndexBuildResult* build(Relation heap, Relation index, IndexInfo* info) {
  if (RelationGetNumberOfBlocks(index) != 0) {
    elog(ERROR, "index \"%s\" already contains data", RelationGetRelationName(index));
  }
  auto* st = static_cast<BuildState*>(palloc0(sizeof(BuildState)));
  static const RabitqOptions kDefaults = {
      0, 0, kDefaultBits, 0, kDefaultSampleFactor, kDefaultKmeansIterations, true};
  st->heap = heap;
  st->index = index;
  st->info = info;
  st->metric = index_metric(index);
  st->dim = column_dimensions(index);
  st->padded_dim = padded_dimensions(st->dim);
  st->bits = code_bits(index, st->dim);
  st->options = index->rd_options != nullptr
                    ? *reinterpret_cast<const RabitqOptions*>(index->rd_options)
                    : kDefaults;
  st->options_seed = static_cast<uint64>(st->options.seed);
  st->tuple_size = code_tuple_size(st->padded_dim, st->bits);
  st->ex_size = st->bits > 1 ? ex_item_size(st->padded_dim, st->bits) : 0;
  st->options.rerank_from_heap =
      reranks_from_heap(index, reinterpret_cast<const RabitqOptions*>(index->rd_options));
  st->threads = static_cast<uint32>(std::max(1, std::min(max_parallel_maintenance_workers + 1, 4)));
  st->tmp = AllocSetContextCreate(CurrentMemoryContext, "rabitq build row", ALLOCSET_DEFAULT_SIZES);
  const int workers = build_workers(heap, index, info);
  INSTR_TIME_SET_CURRENT(st->phase_start);

  // One pass counts and samples the rows; then the lists are the option, or the default for
  // that many rows, and the sample its sample_factor × lists rows of smallest priority.
  pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, kPhaseSampling);
  st->sample_capacity = initial_sample_capacity(st);
  st->sample = static_cast<float*>(
      palloc_extended(sizeof(float) * st->sample_capacity * st->dim, MCXT_ALLOC_HUGE));
  st->sample_priority =
      static_cast<uint64*>(palloc_extended(sizeof(uint64) * st->sample_capacity, MCXT_ALLOC_HUGE));
  double heap_rows = 0;
  if (workers == 0 || !run_parallel_pass(st, BuildPass::kSample, workers, &heap_rows)) {
    table_index_build_scan(heap, index, info, false, false, sample_callback, st, nullptr);
  }
  const uint64 rows = st->rows_seen;
  uint64 target;
  if (st->options.lists > 0) {
    st->lists = static_cast<uint32>(st->options.lists);
    target = static_cast<uint64>(st->options.sample_factor) * st->lists;
  } else {
    st->lists = ivf::default_lists(rows);
    target = std::min(static_cast<uint64>(st->options.sample_factor) * st->lists,
                      std::max<uint64>(rows, 1));
  }
  // The sample holds at most what maintenance_work_mem allows: fewer rows a list train the
  // centroids a little less well, which beats refusing to build (pgvector's IVFFlat
  // refuses; a new user's first CREATE INDEX runs under the default 64 MB).
  if (const uint64 limit = sample_limit(st->dim); target > limit) {
    ereport(NOTICE, (errmsg("rabitq k-means sample limited to %llu rows by maintenance_work_mem",
                            static_cast<unsigned long long>(limit)),
                     errdetail("sample_factor %d asks for %llu rows for %u lists; %d MB of "
                               "maintenance_work_mem holds %llu.",
                               st->options.sample_factor, static_cast<unsigned long long>(target),
                               st->lists, maintenance_work_mem / 1024,
                               static_cast<unsigned long long>(limit)),
                     errhint("Raise maintenance_work_mem for the full sample, which may improve "
                             "recall.")));
    target = limit;
  }
  st->sample_rows =
      ivf::keep_smallest(target, st->sample, st->sample_priority, st->sample_rows, st->dim);
  pfree(st->sample_priority);
  st->sample_priority = nullptr;
  st->sample_capacity = std::max<uint64>(st->sample_rows, 1);
  st->sample =
      static_cast<float*>(repalloc_huge(st->sample, sizeof(float) * st->sample_capacity * st->dim));
  // What the build needs from here on, as if the sample had its full size.
  st->batch_limit = check_memory(target, st->dim, st->lists, st->padded_dim, st->bits);
  double sample_s = phase_seconds(st);

  if (st->sample_rows < st->lists) {
    uint32 fewer = static_cast<uint32>(std::max<uint64>(st->sample_rows, 1));
    if (st->sample_rows > 0) {
      ereport(NOTICE, (errmsg("rabitq index created with little data: %u lists for %llu rows",
                              fewer, static_cast<unsigned long long>(st->sample_rows)),
                       errdetail("The index was asked for %u lists.", st->lists),
                       errhint("REINDEX once the table has data, for better recall.")));
    }
    st->lists = fewer;
  }
  auto* centroids = static_cast<float*>(palloc_extended(sizeof(float) * st->lists * st->padded_dim,
                                                        MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO));
  train(st, centroids);
  st->centroids = centroids;
  double kmeans_s = phase_seconds(st);
  const float full_epsilon = calibrate(st);
  pfree(st->sample);
  st->sample = nullptr;

  RabitqMeta meta = make_meta(st->metric, st->dim, st->padded_dim, st->lists, st->bits,
                              st->options_seed, st->centroids);
  meta.full_epsilon = full_epsilon;
  if (st->options.rerank_from_heap) meta.flags |= kMetaHeapRerank;
  make_projection(st);
  if (st->projection.rank > 0) {
    meta.projection_rank = st->projection.rank;
    meta.projection_start = meta.directory_start +
                            (st->lists + kEntriesPerDirectoryPage - 1) / kEntriesPerDirectoryPage;
  }
  st->entries = empty_entries(st->lists);
  write_header_pages(index, MAIN_FORKNUM, meta, st->centroids, st->entries, &st->projection, true);

  pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, kPhaseAssigning);
  allocate_batch(st);
  if (workers == 0 || !run_parallel_pass(st, BuildPass::kAssign, workers, &heap_rows)) {
    heap_rows =
        table_index_build_scan(heap, index, info, false, true, assign_callback, st, nullptr);
    flush_batch(st);
  }
  double assign_s = phase_seconds(st);

  meta.built_rows = static_cast<uint64>(st->indexed);
  write_header_pages(index, MAIN_FORKNUM, meta, st->centroids, st->entries, &st->projection, false);
  if (RelationNeedsWAL(index)) {
    log_newpage_range(index, MAIN_FORKNUM, 0, RelationGetNumberOfBlocks(index), true);
  }
  elog(DEBUG1,
       "rabitq build of \"%s\": %u lists, %llu sample rows, %.0f rows; seconds: count and "
       "sample %.2f, k-means %.2f, assign and encode %.2f, WAL %.2f",
       RelationGetRelationName(index), st->lists, static_cast<unsigned long long>(st->sample_rows),
       st->indexed, sample_s, kmeans_s, assign_s, phase_seconds(st));

  auto* result = static_cast<IndexBuildResult*>(palloc(sizeof(IndexBuildResult)));
  result->heap_tuples = heap_rows;
  result->index_tuples = st->indexed;
  MemoryContextDelete(st->tmp);
  return result;
}

// The init fork of an unlogged index: one list with a zero centroid, no rows.
void build_empty(Relation index) {
  int dim = column_dimensions(index);
  uint32 padded_dim = padded_dimensions(dim);
  int bits = code_bits(index, dim);
  auto* centroid = static_cast<float*>(palloc0(sizeof(float) * padded_dim));
  RabitqMeta meta = make_meta(index_metric(index), dim, padded_dim, 1, bits, 0, centroid);
  const RabitqOptions* options = reinterpret_cast<const RabitqOptions*>(index->rd_options);
  if (options != nullptr) meta.seed = static_cast<uint64>(options->seed);
  if (reranks_from_heap(index, options)) meta.flags |= kMetaHeapRerank;
  write_header_pages(index, INIT_FORKNUM, meta, centroid, empty_entries(1), nullptr, true);
  log_newpage_range(index, INIT_FORKNUM, 0, RelationGetNumberOfBlocksInFork(index, INIT_FORKNUM),
                    true);
}

}  // namespace ruvector::pg::rabitq
