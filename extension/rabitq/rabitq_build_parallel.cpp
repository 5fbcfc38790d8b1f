// Parallel CREATE INDEX for rabitq. Postgres parallel workers read the table in chunks of
// consecutive blocks, each claiming the next chunk nobody has, and do a pass's per-row
// work there: pass 1 the rows' sample priorities and prepared vectors, pass 2 rotation,
// assignment and encoding. Each sends its results through its own message queue. The
// leader takes the chunks in block order, from whichever queue holds the next one (or
// reads it itself when no worker has claimed it yet), and does with each row what the
// serial build does. The sample and the pages are thus a serial build's, byte for byte,
// whatever the number of workers and however their work interleaves.
#include "extension/rabitq/rabitq_build.h"

#include <algorithm>

#include "extension/boundary.h"
#include "ivf/priority_sample.h"

extern "C" {
#include "access/parallel.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/index.h"
#include "commands/progress.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/shm_mq.h"
#include "storage/shm_toc.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/wait_event.h"

PGDLLEXPORT void ruvector_rabitq_build_worker(dsm_segment* seg, shm_toc* toc);
}

namespace ruvector::pg::rabitq {

namespace {

constexpr uint64 kKeyShared = UINT64CONST(0x5242510000000001);
constexpr uint64 kKeyCentroids = UINT64CONST(0x5242510000000002);
constexpr uint64 kKeyQueues = UINT64CONST(0x5242510000000003);
constexpr uint64 kKeyQueryText = UINT64CONST(0x5242510000000004);

constexpr Size kQueueBytes = 4 * 1024 * 1024;  // per worker
constexpr Size kMessageBytes = 1024 * 1024;    // a worker sends about this much at a time
// About this many chunks per participant, so that a slow one holds the leader up little,
// within bounds that keep a chunk's setup (a table scan each) cheap.
constexpr uint32 kChunksPerParticipant = 32;
constexpr BlockNumber kMinChunkBlocks = 8;
constexpr BlockNumber kMaxChunkBlocks = 256;

struct SharedBuild {
  Oid heap_oid;
  Oid index_oid;
  bool sample;  // pass 1; else pass 2
  BlockNumber nblocks;
  BlockNumber chunk_blocks;
  uint32 chunks;
  pg_atomic_uint32 next_chunk;  // the next chunk nobody has claimed
  RabitqOptions options;
  uint16 metric;
  int dim;
  uint32 padded_dim;
  uint32 lists;
  int bits;
  uint32 batch_limit;  // pass 2: rows a worker encodes and sends at a time
  // Set by a worker whose table scan left a HOT chain out (a HOT-updated row that old
  // snapshots may still see): the leader must then mark the index unusable by them
  // (pg_index.indcheckxmin), as nbtree's workers tell theirs through BTShared.
  pg_atomic_uint32 broken_hot_chain;
};

// The head of every message. Pass 1 records (SampleRecord) or pass 2 arrays follow.
struct ChunkMessage {
  uint32 chunk;
  uint32 rows;       // records or rows that follow
  uint32 last;       // 1 in the chunk's final message
  uint32 counted;    // final message, pass 1: rows the chunk counted
  double heap_rows;  // final message: what the chunk's table scan returned
};

// Pass 1: a row that may belong to the sample; its prepared vector follows.
struct SampleRecord {
  uint64 priority;
  uint32 ordinal;  // among the chunk's counted rows
  uint32 unused;
};

Size sample_record_size(int dim) { return MAXALIGN(sizeof(SampleRecord) + sizeof(float) * dim); }

BlockNumber chunk_start(const SharedBuild* shared, uint32 chunk) {
  return static_cast<BlockNumber>(chunk) * shared->chunk_blocks;
}
// Never past the table's end: a range scan that reaches the end wraps around to block 0.
BlockNumber chunk_length(const SharedBuild* shared, uint32 chunk) {
  return std::min(shared->chunk_blocks, shared->nblocks - chunk_start(shared, chunk));
}

// Pass 2 payload, in this order: code tuples, ex items, raw vectors (not with
// rerank_from_heap), lists, heap TIDs. Each array's size keeps the next one aligned.
Size raw_bytes(const BuildState* st, uint32 rows) {
  return st->options.rerank_from_heap ? 0 : sizeof(float) * st->dim * rows;
}
Size batch_bytes(const BuildState* st, uint32 rows) {
  return rows * (st->tuple_size + st->ex_size + sizeof(uint32) + sizeof(ItemPointerData)) +
         raw_bytes(st, rows);
}

// ---- workers -------------------------------------------------------------------------

struct WorkerState {
  BuildState st;
  const SharedBuild* shared;
  shm_mq_handle* queue;
  uint32 chunk;
  uint32 counted;  // pass 1: rows counted in this chunk
  uint64 seen;     // pass 1: rows counted in all of this worker's chunks
  char* records;   // pass 1
  uint32 nrecords;
  uint32 record_capacity;
};

void send(WorkerState* w, shm_mq_iovec* parts, int nparts) {
  if (shm_mq_sendv(w->queue, parts, nparts, false, true) != SHM_MQ_SUCCESS) {
    ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
                    errmsg("rabitq build worker lost its connection to the leader")));
  }
}

// Whether a message ends its chunk (then it carries the chunk's counts).
enum class ChunkEnd { kMoreFollows, kLast };

void send_records(WorkerState* w, ChunkEnd end, double heap_rows) {
  const uint32 last = end == ChunkEnd::kLast ? 1 : 0;
  ChunkMessage head = {w->chunk, w->nrecords, last, w->counted, heap_rows};
  shm_mq_iovec parts[2] = {{reinterpret_cast<const char*>(&head), sizeof(head)},
                           {w->records, w->nrecords * sample_record_size(w->st.dim)}};
  send(w, parts, 2);
  w->nrecords = 0;
}

void send_batch(WorkerState* w, ChunkEnd end, double heap_rows) {
  BuildState* st = &w->st;
  guard([st] { compute_batch(st); });
  const uint32 n = st->batch_rows;
  const uint32 last = end == ChunkEnd::kLast ? 1 : 0;
  ChunkMessage head = {w->chunk, n, last, 0, heap_rows};
  shm_mq_iovec parts[6] = {
      {reinterpret_cast<const char*>(&head), sizeof(head)},
      {st->batch_codes, n * st->tuple_size},
      {st->batch_ex, n * st->ex_size},
      {reinterpret_cast<const char*>(st->batch_raw), raw_bytes(st, n)},
      {reinterpret_cast<const char*>(st->batch_lists), n * sizeof(uint32)},
      {reinterpret_cast<const char*>(st->batch_tids), n * sizeof(ItemPointerData)}};
  send(w, parts, 6);
  st->batch_rows = 0;
}

// Pass 1 in a worker: counts the row and sends it on if the leader might sample it.
void worker_sample_callback(Relation, ItemPointer tid, Datum* values, bool* isnull, bool,
                            void* arg) {
  guard([&] {
    auto* w = static_cast<WorkerState*>(arg);
    if (isnull[0]) return;
    BuildState* st = &w->st;
    const uint32 ordinal = w->counted++;
    w->seen++;
    const uint64 priority = tid_priority(st, *tid);
    // The leader tests the row against the threshold of every row counted before it in the
    // table, at least the `seen` rows of this worker's chunks so far; the threshold never
    // rises, so this test lets through every row the leader keeps.
    if (priority >= sample_threshold(st, w->seen)) return;
    auto* record =
        reinterpret_cast<SampleRecord*>(w->records + w->nrecords * sample_record_size(st->dim));
    MemoryContext old = MemoryContextSwitchTo(st->tmp);
    bool ok = prepare_vector(st->metric, row_values(st, values[0]), st->dim,
                             reinterpret_cast<float*>(record + 1));
    MemoryContextSwitchTo(old);
    MemoryContextReset(st->tmp);
    if (!ok) return;  // a zero vector under cosine: counted, never sampled
    record->priority = priority;
    record->ordinal = ordinal;
    record->unused = 0;
    if (++w->nrecords == w->record_capacity) send_records(w, ChunkEnd::kMoreFollows, 0);
  });
}

// Pass 2 in a worker: the serial build's batch, sent to the leader instead of written.
void worker_assign_callback(Relation, ItemPointer tid, Datum* values, bool* isnull, bool,
                            void* arg) {
  guard([&] {
    auto* w = static_cast<WorkerState*>(arg);
    if (!isnull[0] && add_batch_row(&w->st, *tid, values[0]))
      send_batch(w, ChunkEnd::kMoreFollows, 0);
  });
}

void init_worker_state(WorkerState* w, const SharedBuild* shared, const float* centroids,
                       Relation heap, Relation index) {
  BuildState* st = &w->st;
  st->heap = heap;
  st->index = index;
  st->info = BuildIndexInfo(index);
  st->metric = static_cast<Metric>(shared->metric);
  st->dim = shared->dim;
  st->padded_dim = shared->padded_dim;
  st->lists = shared->lists;
  st->bits = shared->bits;
  st->options = shared->options;
  st->options_seed = static_cast<uint64>(shared->options.seed);
  st->threads = 1;  // the workers are the parallelism
  st->tmp = AllocSetContextCreate(CurrentMemoryContext, "rabitq build row", ALLOCSET_DEFAULT_SIZES);
  st->tuple_size = code_tuple_size(st->padded_dim, st->bits);
  st->ex_size = st->bits > 1 ? ex_item_size(st->padded_dim, st->bits) : 0;
  w->shared = shared;
  if (shared->sample) {
    w->record_capacity =
        static_cast<uint32>(std::max<Size>(1, kMessageBytes / sample_record_size(st->dim)));
    w->records = static_cast<char*>(
        palloc_extended(w->record_capacity * sample_record_size(st->dim), MCXT_ALLOC_HUGE));
    return;
  }
  st->centroids = centroids;
  st->batch_limit = shared->batch_limit;
  allocate_batch(st);
}

}  // namespace

}  // namespace ruvector::pg::rabitq

// The entry point of a parallel worker (CreateParallelContext names it): the table and
// index are opened with the locks the leader holds for CREATE INDEX.
void ruvector_rabitq_build_worker(dsm_segment* seg, shm_toc* toc) {
  using namespace ruvector::pg::rabitq;
  auto* shared = static_cast<SharedBuild*>(shm_toc_lookup(toc, kKeyShared, false));
  debug_query_string = static_cast<char*>(shm_toc_lookup(toc, kKeyQueryText, true));
  pgstat_report_activity(STATE_RUNNING, debug_query_string);
  Relation heap = table_open(shared->heap_oid, ShareLock);
  Relation index = index_open(shared->index_oid, AccessExclusiveLock);
  auto* queue =
      reinterpret_cast<shm_mq*>(static_cast<char*>(shm_toc_lookup(toc, kKeyQueues, false)) +
                                ParallelWorkerNumber * kQueueBytes);
  shm_mq_set_sender(queue, MyProc);
  auto* w = static_cast<WorkerState*>(palloc0(sizeof(WorkerState)));
  w->queue = shm_mq_attach(queue, seg, nullptr);
  const float* centroids =
      shared->sample ? nullptr : static_cast<float*>(shm_toc_lookup(toc, kKeyCentroids, false));
  init_worker_state(w, shared, centroids, heap, index);

  for (;;) {
    const uint32 chunk = pg_atomic_fetch_add_u32(&shared->next_chunk, 1);
    if (chunk >= shared->chunks) break;
    w->chunk = chunk;
    w->counted = 0;
    const double rows = table_index_build_range_scan(
        heap, index, w->st.info, false, false, false, chunk_start(shared, chunk),
        chunk_length(shared, chunk),
        shared->sample ? worker_sample_callback : worker_assign_callback, w, nullptr);
    if (shared->sample)
      send_records(w, ChunkEnd::kLast, rows);
    else
      send_batch(w, ChunkEnd::kLast, rows);
  }
  // Read by the leader once every worker has finished, in either pass.
  if (w->st.info->ii_BrokenHotChain) pg_atomic_write_u32(&shared->broken_hot_chain, 1);
  index_close(index, AccessExclusiveLock);
  table_close(heap, ShareLock);
}

namespace ruvector::pg::rabitq {

namespace {

// ---- the leader ----------------------------------------------------------------------

// A worker's message received but not yet used: the first of a chunk that comes later.
struct Waiting {
  const ChunkMessage* message;
  Size length;
  bool detached;  // the worker is gone: nothing more will come from this queue
};

[[noreturn]] void bad_message(const char* what) { elog(ERROR, "rabitq parallel build: %s", what); }

// Uses one of a chunk's pass 1 messages: each record is tested against the threshold of
// the rows counted before it, exactly as sample_callback does. `base`: the rows counted
// before the chunk.
void take_records(BuildState* st, const ChunkMessage* m, Size length, uint64 base) {
  const Size size = sample_record_size(st->dim);
  if (length != sizeof(ChunkMessage) + m->rows * size) bad_message("a sample message is cut");
  const char* at = reinterpret_cast<const char*>(m + 1);
  for (uint32 i = 0; i < m->rows; i++, at += size) {
    const auto* record = reinterpret_cast<const SampleRecord*>(at);
    st->rows_seen = base + record->ordinal + 1;
    float* slot = sample_slot(st, record->priority);
    if (slot == nullptr) continue;
    memcpy(slot, record + 1, sizeof(float) * st->dim);
    st->sample_priority[st->sample_rows++] = record->priority;
  }
  if (m->last) st->rows_seen = base + m->counted;
}

// Uses one of a chunk's pass 2 messages: appends its rows to their lists.
void take_batch(BuildState* st, const ChunkMessage* m, Size length) {
  const uint32 n = m->rows;
  if (length != sizeof(ChunkMessage) + batch_bytes(st, n)) bad_message("a row message is cut");
  const char* at = reinterpret_cast<const char*>(m + 1);
  RowBatch batch;
  batch.rows = n;
  batch.codes = at;
  at += n * st->tuple_size;
  batch.ex = at;
  at += n * st->ex_size;
  batch.raw = reinterpret_cast<const float*>(at);
  at += raw_bytes(st, n);
  batch.lists = reinterpret_cast<const uint32*>(at);
  at += n * sizeof(uint32);
  batch.tids = reinterpret_cast<const ItemPointerData*>(at);
  for (uint32 i = 0; i < n; i++) {
    if (batch.lists[i] >= st->lists) bad_message("a row has no list");
  }
  write_batch(st, batch);
}

// A worker that claimed a chunk is gone without sending all of it: it failed, and its
// error (which WaitForParallelWorkersToFinish rethrows) says why.
[[noreturn]] void chunk_lost(ParallelContext* pcxt, uint32 chunk) {
  WaitForParallelWorkersToFinish(pcxt);
  elog(ERROR, "rabitq parallel build: chunk %u of the table was lost with its worker", chunk);
}

// Uses chunk `chunk` from queue `h`, whose first message is `first`.
double take_chunk(BuildState* st, ParallelContext* pcxt, shm_mq_handle* h, bool sample,
                  uint32 chunk, const ChunkMessage* m, Size length) {
  const uint64 base = st->rows_seen;
  for (;;) {
    if (length < sizeof(ChunkMessage) || m->chunk != chunk) bad_message("chunks out of order");
    if (sample)
      take_records(st, m, length, base);
    else
      take_batch(st, m, length);
    if (m->last) return m->heap_rows;
    void* data;
    if (shm_mq_receive(h, &length, &data, false) != SHM_MQ_SUCCESS) chunk_lost(pcxt, chunk);
    m = static_cast<const ChunkMessage*>(data);
  }
}

// Reads a chunk in the leader, as the serial build reads the whole table.
double read_chunk(BuildState* st, const SharedBuild* shared, uint32 chunk) {
  const double rows = table_index_build_range_scan(
      st->heap, st->index, st->info, false, false, false, chunk_start(shared, chunk),
      chunk_length(shared, chunk), shared->sample ? sample_callback : assign_callback, st, nullptr);
  if (!shared->sample) flush_batch(st);
  return rows;
}

// Takes every chunk in order. Returns how many the leader read itself.
uint32 take_chunks(BuildState* st, ParallelContext* pcxt, SharedBuild* shared,
                   shm_mq_handle** queues, double* heap_rows) {
  const int launched = pcxt->nworkers_launched;
  auto* waiting = static_cast<Waiting*>(palloc0(sizeof(Waiting) * std::max(launched, 1)));
  uint32 read_here = 0;
  *heap_rows = 0;
  for (uint32 chunk = 0; chunk < shared->chunks; chunk++) {
    int from = -1;  // the worker whose queue holds the chunk
    for (;;) {
      bool all_gone = true;  // every worker has left, or waits with a later chunk
      bool all_left = true;  // every worker has left
      for (int i = 0; i < launched && from < 0; i++) {
        Waiting& q = waiting[i];
        if (q.message == nullptr && !q.detached) {
          void* data;
          Size length;
          shm_mq_result r = shm_mq_receive(queues[i], &length, &data, true);
          if (r == SHM_MQ_SUCCESS) {
            q.message = static_cast<const ChunkMessage*>(data);
            q.length = length;
          } else if (r == SHM_MQ_DETACHED) {
            q.detached = true;
          }
        }
        if (q.message != nullptr && q.length >= sizeof(ChunkMessage) && q.message->chunk == chunk) {
          from = i;
        }
        // A worker claims chunks in increasing order, so one waiting with a later chunk
        // never had this one.
        all_gone = all_gone && (q.detached || q.message != nullptr);
        all_left = all_left && q.detached;
      }
      if (from >= 0) break;
      // The leader reads a chunk only when no worker is left to claim it (none started,
      // or all have failed): with workers at hand its time goes to writing what they send.
      if (pg_atomic_read_u32(&shared->next_chunk) <= chunk) {
        uint32 expected = chunk;
        if (all_left && pg_atomic_compare_exchange_u32(&shared->next_chunk, &expected, chunk + 1)) {
          break;
        }
      } else if (all_gone) {
        chunk_lost(pcxt, chunk);
      }
      (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH, -1L, PG_WAIT_EXTENSION);
      ResetLatch(MyLatch);
      CHECK_FOR_INTERRUPTS();
    }
    if (from < 0) {
      *heap_rows += read_chunk(st, shared, chunk);
      read_here++;
    } else {
      Waiting& q = waiting[from];
      const ChunkMessage* first = q.message;
      q.message = nullptr;
      *heap_rows += take_chunk(st, pcxt, queues[from], shared->sample, chunk, first, q.length);
    }
    if (!shared->sample) {
      pgstat_progress_update_param(PROGRESS_SCAN_BLOCKS_DONE,
                                   chunk_start(shared, chunk) + chunk_length(shared, chunk));
    }
  }
  pfree(waiting);
  return read_here;
}

}  // namespace

bool run_parallel_pass(BuildState* st, BuildPass pass, int workers, double* heap_rows) {
  const bool sample = pass == BuildPass::kSample;
  const BlockNumber nblocks = RelationGetNumberOfBlocks(st->heap);
  const BlockNumber chunk_blocks = std::clamp<BlockNumber>(
      nblocks / ((workers + 1) * kChunksPerParticipant), kMinChunkBlocks, kMaxChunkBlocks);
  const uint32 chunks = (nblocks + chunk_blocks - 1) / chunk_blocks;
  if (workers <= 0 || chunks < 2) return false;

  EnterParallelMode();
  ParallelContext* pcxt =
      CreateParallelContext("ruvector", "ruvector_rabitq_build_worker", workers);
  const Size centroid_bytes =
      sample ? 0 : static_cast<Size>(st->lists) * st->padded_dim * sizeof(float);
  const char* query = debug_query_string;
  const Size query_bytes = query != nullptr ? strlen(query) + 1 : 0;
  shm_toc_estimate_chunk(&pcxt->estimator, sizeof(SharedBuild));
  shm_toc_estimate_chunk(&pcxt->estimator, kQueueBytes * workers);
  int keys = 2;
  if (centroid_bytes > 0) {
    shm_toc_estimate_chunk(&pcxt->estimator, centroid_bytes);
    keys++;
  }
  if (query_bytes > 0) {
    shm_toc_estimate_chunk(&pcxt->estimator, query_bytes);
    keys++;
  }
  shm_toc_estimate_keys(&pcxt->estimator, keys);
  InitializeParallelDSM(pcxt);
  if (pcxt->seg == nullptr) {  // no dynamic shared memory segment to be had
    DestroyParallelContext(pcxt);
    ExitParallelMode();
    return false;
  }

  auto* shared = static_cast<SharedBuild*>(shm_toc_allocate(pcxt->toc, sizeof(SharedBuild)));
  memset(shared, 0, sizeof(*shared));
  shared->heap_oid = RelationGetRelid(st->heap);
  shared->index_oid = RelationGetRelid(st->index);
  shared->sample = sample;
  shared->nblocks = nblocks;
  shared->chunk_blocks = chunk_blocks;
  shared->chunks = chunks;
  pg_atomic_init_u32(&shared->next_chunk, 0);
  pg_atomic_init_u32(&shared->broken_hot_chain, 0);
  shared->options = st->options;
  shared->metric = static_cast<uint16>(st->metric);
  shared->dim = st->dim;
  shared->padded_dim = st->padded_dim;
  shared->lists = st->lists;
  shared->bits = st->bits;
  if (!sample) {
    // Rows a worker encodes at a time: the leader's batch, or about kMessageBytes of them.
    const Size per_row = batch_bytes(st, 1);
    shared->batch_limit = static_cast<uint32>(
        std::max<Size>(1, std::min<Size>(st->batch_limit, kMessageBytes / per_row)));
    auto* centroids = static_cast<float*>(shm_toc_allocate(pcxt->toc, centroid_bytes));
    memcpy(centroids, st->centroids, centroid_bytes);
    shm_toc_insert(pcxt->toc, kKeyCentroids, centroids);
  }
  shm_toc_insert(pcxt->toc, kKeyShared, shared);
  if (query_bytes > 0) {
    auto* text = static_cast<char*>(shm_toc_allocate(pcxt->toc, query_bytes));
    memcpy(text, query, query_bytes);
    shm_toc_insert(pcxt->toc, kKeyQueryText, text);
  }
  auto* queue_space = static_cast<char*>(shm_toc_allocate(pcxt->toc, kQueueBytes * workers));
  auto* queues = static_cast<shm_mq_handle**>(palloc(sizeof(shm_mq_handle*) * workers));
  for (int i = 0; i < workers; i++) {
    shm_mq* mq = shm_mq_create(queue_space + i * kQueueBytes, kQueueBytes);
    shm_mq_set_receiver(mq, MyProc);
    queues[i] = shm_mq_attach(mq, pcxt->seg, nullptr);
  }
  shm_toc_insert(pcxt->toc, kKeyQueues, queue_space);

  LaunchParallelWorkers(pcxt);
  for (int i = 0; i < pcxt->nworkers_launched; i++) {
    // A worker that fails to start detaches its queue instead of leaving the leader waiting.
    shm_mq_set_handle(queues[i], pcxt->worker[i].bgwhandle);
  }
  // The workers are the parallelism now: a chunk the leader reads is encoded on one thread.
  const uint32 threads = st->threads;
  st->threads = 1;
  if (!sample) pgstat_progress_update_param(PROGRESS_SCAN_BLOCKS_TOTAL, nblocks);
  const uint32 read_here = take_chunks(st, pcxt, shared, queues, heap_rows);
  st->threads = threads;
  const int launched = pcxt->nworkers_launched;
  WaitForParallelWorkersToFinish(pcxt);
  // index_build sets indcheckxmin from the leader's IndexInfo alone.
  if (pg_atomic_read_u32(&shared->broken_hot_chain) != 0) st->info->ii_BrokenHotChain = true;
  DestroyParallelContext(pcxt);
  ExitParallelMode();
  elog(DEBUG1,
       "rabitq build of \"%s\": %s with %d of %d parallel workers, %u of %u chunks read by "
       "the leader",
       RelationGetRelationName(st->index), sample ? "pass 1" : "pass 2", launched, workers,
       read_here, chunks);
  return true;
}

}  // namespace ruvector::pg::rabitq
