// CREATE INDEX for rabitq, shared by the serial driver (rabitq_build.cpp) and the parallel
// one (rabitq_build_parallel.cpp): the build's state and the steps both run. Either way the
// table is read twice, and each pass sees its rows in the table's physical order, so the
// index's pages are the same bytes whether or not parallel workers helped.
#pragma once

#include "extension/rabitq/rabitq.h"
#include "ivf/nearest_projected.h"

extern "C" {
#include "nodes/execnodes.h"
#include "portability/instr_time.h"
}

namespace ruvector::pg::rabitq {

constexpr uint32 kAssignBatch = 1024;

struct BuildState {
  Relation heap;
  Relation index;
  IndexInfo* info;
  Metric metric;
  int dim;
  uint32 padded_dim;
  uint32 lists;
  int bits;
  RabitqOptions options;
  uint64 options_seed;
  uint32 threads;  // for k-means and batches; 1 in parallel workers
  MemoryContext tmp;
  Size tuple_size;  // code_tuple_size()
  Size ex_size;     // ex_item_size(), 0 with bits = 1

  // sampling
  uint64 rows_seen;
  uint64 sample_capacity;
  uint64 sample_rows;
  float* sample;            // sample_capacity × dim, prepared (normalised for cosine)
  uint64* sample_priority;  // sample_capacity

  // assignment
  const float* centroids;  // lists × padded_dim, rotated
  // The centroids through a low-rank subspace, for the assignment (ivf/nearest_projected.h)
  // and, stored in the index, for a scan's probe order; rank 0 where the plain scan is as
  // fast.
  ivf::CentroidProjection projection;
  RabitqListEntry* entries;
  uint32 batch_rows;
  uint32 batch_limit;  // rows per batch: kAssignBatch, fewer when maintenance_work_mem is tight
  ItemPointerData* batch_tids;
  uint32* batch_lists;
  float* batch_raw;       // batch_limit × dim, as stored in the table
  float* batch_rotated;   // batch_limit × padded_dim
  float* batch_prepared;  // batch_limit × dim, normalised for cosine
  char* batch_codes;      // batch_limit code tuples
  char* batch_ex;         // batch_limit ex items (bits > 1)
  char* tuple_scratch;    // one code tuple, being written
  double indexed;
  instr_time phase_start;  // for the DEBUG1 line with each phase's seconds
};

// Rows encoded and ready to be appended to their lists' chains: arrays of `rows`.
struct RowBatch {
  uint32 rows;
  const ItemPointerData* tids;
  const uint32* lists;
  const char* codes;  // code tuples; heap TID and places are filled in when written
  const char* ex;     // ex items, bits > 1
  const float* raw;   // none with rerank_from_heap
};

// Pass 1: counts and samples the rows (ivf/priority_sample.h). A row's priority is a hash
// of the seed and its TID, so that a worker reading part of the table computes it too.
uint64 tid_priority(const BuildState* st, const ItemPointerData& tid);
// The most rows the k-means sample may have: what about three quarters of
// maintenance_work_mem hold while reading (rabitq_build.cpp). Parallel workers get the
// leader's settings, so they compute the same.
uint64 sample_limit(int dim);
// A row counted as the rows-th is sampled while its priority is below this.
uint64 sample_threshold(const BuildState* st, uint64 rows);
// Where the row counted as the st->rows_seen-th goes in the sample, or nullptr when its
// priority is past the threshold. The caller writes the prepared row there and then
// records it with st->sample_priority[st->sample_rows++] = priority.
float* sample_slot(BuildState* st, uint64 priority);
void sample_callback(Relation, ItemPointer tid, Datum* values, bool* isnull, bool, void* arg);

// Pass 2: assigns every row to its nearest centroid and encodes it in batches.
void assign_callback(Relation, ItemPointer tid, Datum* values, bool* isnull, bool, void* arg);
// Allocates the batch arrays of st->batch_limit rows.
void allocate_batch(BuildState* st);
// Adds a non-null row to the batch arrays; true when the batch is then full.
bool add_batch_row(BuildState* st, const ItemPointerData& tid, Datum value);
// Rotates, assigns and encodes the st->batch_rows rows of the batch arrays (no Postgres
// calls: safe in a worker).
void compute_batch(BuildState* st);
// Appends the rows to their lists' chains, in order (the leader only).
void write_batch(BuildState* st, const RowBatch& batch);
// compute_batch + write_batch of the batch arrays, then empties them.
void flush_batch(BuildState* st);
// The raw vector of a row, checked against the index's dimensions.
const float* row_values(BuildState* st, Datum value);

// The build's two passes over the table: 1 draws the sample, 2 assigns and encodes rows.
enum class BuildPass { kSample, kAssign };
// Runs a pass with `workers` parallel workers; the leader writes every page. Returns false,
// having read nothing, when no worker could be set up; then the caller reads the table
// itself. *heap_rows: the rows the table scan saw.
bool run_parallel_pass(BuildState* st, BuildPass pass, int workers, double* heap_rows);

}  // namespace ruvector::pg::rabitq
