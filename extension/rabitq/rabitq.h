// The rabitq index access method: on-disk layout, options, GUCs and the entry points
// shared by the callback files (build, insert, scan, vacuum, cost, handler).
//
// Layout (every page carries a RabitqPageOpaque in its special space):
//   block 0                     metapage: RabitqMeta
//   centroid_start ...          the rotated centroids, lists × padded_dim float4, as one byte
//                               stream across pages (an entry may span a page boundary)
//   directory_start ...         one RabitqListEntry per list, kEntriesPerDirectoryPage a page
//   projection_start ...        with projection_rank > 0: the centroids' principal subspace
//                               (ivf/nearest_projected.h), rank × padded_dim float4 of basis
//                               then lists × rank of the centroids' coordinates, one byte
//                               stream like the centroids; it orders a scan's probes
//   the rest                    per list, two chains linked by opaque->next:
//                                 code pages: one item per row (CodeTuple: heap TID, factors,
//                                   1-bit RaBitQ code of the residual against the list centroid;
//                                   with bits > 1 also an ExRef to the row's ExItem)
//                                 vector pages: the raw vector of each row, for the exact rerank,
//                                   as one or more chunk items (a vector may span pages);
//                                   none with rerank_from_heap, which reads the table instead;
//                                   with bits > 1 also each row's ExItem (its ex planes),
//                                   appended right after its vector
// A scan reads every code tuple of a probed list but only a few ex items and vectors, so
// ex codes live with the vectors: the pass over the codes stays as compact as with bits = 1.
// Codes and vectors are kept apart so that a scan touches only the small code pages and
// fetches a raw vector only for the few candidates whose lower bound can still win.
//   free pages                  pages of lists VACUUM repacked, linked from the metapage's
//                               free_head by opaque->next; appends take them before extending
// VACUUM marks a dead row's code tuple deleted (a tombstone), and a later insert into the
// same list overwrites it and, in place, the row's vector chunks and ex item
// (rabitq_reuse.cpp). A list with more tombstones than live rows is repacked: its live rows are
// copied into new chains and its old pages go to the free list (rabitq_repack.cpp). The file
// never shrinks: free pages are reused by later appends to any list, as btree reuses pages.
#pragma once

#include "extension/pg_wrapper.h"

extern "C" {
#include "access/amapi.h"
#include "access/generic_xlog.h"
#include "access/reloptions.h"
#include "nodes/pathnodes.h"
#include "storage/bufmgr.h"
#include "storage/itemptr.h"
#include "utils/relcache.h"
}

#include <cstdint>

#include "ivf/centroid_codes.h"
#include "ivf/nearest_projected.h"
#include "rabitq/code.h"
#include "rabitq/ex_code.h"
#include "rabitq/metric.h"

namespace ruvector::pg::rabitq {

constexpr uint32 kMagic = 0x52425131;  // "RBQ1"
constexpr uint32 kFormatVersion = 1;
constexpr BlockNumber kMetaBlock = 0;
constexpr uint16 kPageId = 0xFF8A;  // identifies our pages, as pgvector's page ids do

using ::ruvector::rabitq::Metric;  // stored in the metapage as uint16

enum PageType : uint16 {
  kPageMeta = 1,
  kPageCentroids = 2,
  kPageDirectory = 3,
  kPageCodes = 4,
  kPageVectors = 5,
  kPageFree = 6,  // on the free list (rabitq_free_pages.cpp)
  kPageProjection = 7,
};

struct RabitqPageOpaque {
  BlockNumber next;  // next page of the same chain, or InvalidBlockNumber
  uint16 type;       // PageType
  uint16 page_id;    // kPageId
};

struct RabitqMeta {
  uint32 magic;
  uint32 version;
  uint32 dim;         // the column's dimensions
  uint32 padded_dim;  // dim rounded up to a multiple of 64: the code length in bits
  uint32 lists;
  uint16 metric;  // Metric
  uint16 bits;    // bits per dimension of the codes: 1, or kMinExBits..kMaxExBits
  uint64 seed;    // rotation seed
  BlockNumber centroid_start;
  BlockNumber directory_start;
  uint64 centroid_hash;  // FNV-1a of the centroid bytes: keys the backend-local cache
  uint64 built_rows;     // rows indexed by CREATE INDEX
  uint32 flags;          // kMetaHeapRerank; 0 in indexes built before flags existed
  // The free list and the chains no directory entry references: those a repack is writing,
  // or has just replaced, which VACUUM moves to the free list (rabitq_free_pages.cpp). All
  // are kNoPage when empty, as they read in indexes built before they existed.
  BlockNumber free_head;
  uint32 free_pages;
  BlockNumber orphan_codes;
  BlockNumber orphan_vectors;
  // The epsilon at which the error bound missed kFullMissRate of the build's calibration
  // pairs (rabitq/calibration.h): what a scan that probes every list uses. 0 in indexes
  // built before calibration, and with too small a sample: scans use kFullEpsilonFallback.
  float full_epsilon;
  // Where the centroids' subspace starts and its rank (ivf::projection_rank of lists and
  // padded_dim at build). 0 in indexes built before it existed and where the rank is 0:
  // their scans bound the probe keys from the int8 centroid codes alone.
  BlockNumber projection_start;
  uint32 projection_rank;
};
// The largest projection_rank read_meta accepts (ivf::projection_rank gives at most 64).
constexpr uint32 kMaxProjectionRank = 256;
// The end of a page list in free_head and the orphan heads: the metapage, never a chain's.
constexpr BlockNumber kNoPage = kMetaBlock;
// No vector pages: the exact rerank reads each candidate's vector from the table (the
// rerank_from_heap option). The index holds only codes: a fraction of the table's size.
constexpr uint32 kMetaHeapRerank = 1;

struct RabitqListEntry {
  BlockNumber code_head;
  BlockNumber code_tail;  // inserts append here
  BlockNumber vector_head;
  BlockNumber vector_tail;
  uint32 live;   // rows added (build + inserts) minus rows removed by VACUUM
  uint32 dead;   // tombstones VACUUM left that no insert has reused yet (rabitq_reuse.cpp)
  float radius;  // the largest ||residual|| ever added: bounds every row's distance
  // The code page where an insert looks for a tombstone first: where the last one was
  // reused. kReuseFromHead (the metapage's number, never a code page's) in indexes from
  // before slots were reused and after every VACUUM that adds tombstones. Only a hint: the
  // search goes on from the head when it finds none from there to the end.
  BlockNumber reuse_from;
};
static_assert(sizeof(RabitqListEntry) == 32, "the directory's on-disk layout");
constexpr BlockNumber kReuseFromHead = kMetaBlock;

// A row's entry on a code page. The code words follow, 8-byte aligned: padded_dim / 64
// words of 1-bit code, then with bits > 1 an ExRef. An index built with bits = 1 has
// exactly the layout it had before ex codes existed.
struct CodeTuple {
  ItemPointerData heap_tid;
  uint16 flags;  // kCodeDeleted
  BlockNumber vector_block;
  OffsetNumber vector_offset;
  uint16 unused;
  ::ruvector::rabitq::CodeFactors factors;
  uint64 code[FLEXIBLE_ARRAY_MEMBER];
};
constexpr uint16 kCodeDeleted = 1;

// Where a row's ExItem is (bits > 1), after the code words of its CodeTuple.
struct ExRef {
  BlockNumber block;
  OffsetNumber offset;
  uint16 unused;
};

// A row's B-bit code on a vector page (bits > 1): bits × padded_dim / 64 words follow, a
// copy of the 1-bit code (the sign plane) and then the ex planes, most significant first
// (see rabitq/ex_code.h). The copy makes a refinement read this item alone.
struct ExItem {
  ::ruvector::rabitq::ExFactors ex;
  float residual_norm;  // a copy of the CodeTuple's, so a refinement reads only this item
  uint32 unused;
  uint64 planes[FLEXIBLE_ARRAY_MEMBER];
};

// A piece of a raw vector on a vector page; the floats follow.
struct VectorChunk {
  BlockNumber next_block;  // the next chunk of the same vector, or InvalidBlockNumber
  OffsetNumber next_offset;
  uint16 count;  // floats in this chunk
  float x[FLEXIBLE_ARRAY_MEMBER];
};

// Where the special space of every page of ours starts: item data lies before it.
constexpr Size kSpecialOffset = BLCKSZ - MAXALIGN(sizeof(RabitqPageOpaque));
// Bytes of a page usable by items after the header, one line pointer and the special space.
constexpr Size kPagePayload =
    BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(RabitqPageOpaque));
constexpr Size kEntriesPerDirectoryPage = kPagePayload / sizeof(RabitqListEntry);
// The largest item an empty page takes: PageAddItem needs its MAXALIGNed size plus a
// line pointer to fit between the header and the special space.
constexpr Size kMaxItemSize =
    (BLCKSZ - MAXALIGN(sizeof(RabitqPageOpaque)) - SizeOfPageHeaderData - sizeof(ItemIdData)) &
    ~(MAXIMUM_ALIGNOF - 1);

inline Size code_tuple_size(uint32 padded_dim, int bits) {
  Size ref = bits > 1 ? sizeof(ExRef) : 0;
  return MAXALIGN(offsetof(CodeTuple, code) + padded_dim / 8 + ref);
}

inline Size ex_item_size(uint32 padded_dim, int bits) {
  return offsetof(ExItem, planes) + static_cast<Size>(bits) * (padded_dim / 8);
}

// The ExRef of a tuple with bits > 1.
inline ExRef* code_ex_ref(CodeTuple* tuple, uint32 padded_dim) {
  return reinterpret_cast<ExRef*>(tuple->code + padded_dim / 64);
}
inline const ExRef* code_ex_ref(const CodeTuple* tuple, uint32 padded_dim) {
  return reinterpret_cast<const ExRef*>(tuple->code + padded_dim / 64);
}

// Encodes a residual (padded_dim floats, rotated) into a zeroed tuple's factors and 1-bit
// code and, with bits > 1, into *ex_item: what the build and inserts store for a row.
inline void encode_row(const float* residual, uint32 padded_dim, int bits, CodeTuple* tuple,
                       ExItem* ex_item) {
  ::ruvector::rabitq::encode(residual, padded_dim, tuple->code, &tuple->factors);
  if (bits > 1) {
    memcpy(ex_item->planes, tuple->code, padded_dim / 8);
    ::ruvector::rabitq::encode_ex(residual, padded_dim, bits, ex_item->planes + padded_dim / 64,
                                  &ex_item->ex);
    ex_item->residual_norm = tuple->factors.residual_norm;
    ex_item->unused = 0;
  }
}

inline RabitqPageOpaque* page_opaque(Page page) {
  return reinterpret_cast<RabitqPageOpaque*>(PageGetSpecialPointer(page));
}

// Options (reloptions) as stored in rd_options.
struct RabitqOptions {
  int32 vl_len_;
  int lists;  // 0: chosen from the row count
  int bits;
  int seed;
  int sample_factor;
  int kmeans_iterations;
  bool rerank_from_heap;
};

constexpr int kDefaultBits = 1;
constexpr int kMaxBits = ::ruvector::rabitq::kMaxExBits;
constexpr int kDefaultSampleFactor = 64;
constexpr int kDefaultKmeansIterations = 10;
constexpr int kMaxLists = 65536;

// GUCs
enum IterativeScan { kIterativeOff = 0, kIterativeRelaxed = 1, kIterativeStrict = 2 };
extern int probes;
extern double epsilon;
extern int iterative_scan;
extern int max_scan_tuples;
// rabitq.debug_fault, a developer switch left out of the docs: the scan loses its first row
// or returns its first two swapped, so that the tests can show each exactness check fails.
enum DebugFault { kFaultOff = 0, kFaultDropOne = 1, kFaultSwapTwo = 2 };
extern int debug_fault;

void init_gucs();
void init_reloptions();

// Progress phases reported in pg_stat_progress_create_index.
constexpr int kPhaseSampling = 2;
constexpr int kPhaseKmeans = 3;
constexpr int kPhaseAssigning = 4;

// Pages (rabitq_pages.cpp)
// Whether extending the index takes the relation extension lock: not during CREATE INDEX,
// when no other backend can extend it.
enum class Extension { kAlone, kShared };
// A new page at the end of the index, exclusively locked; the caller initialises it.
Buffer new_page(Relation index, Extension extension);
void init_page(Page page, PageType type);
RabitqMeta read_meta(Relation index);
[[noreturn]] void report_bad_page(Page page, BlockNumber block, PageType expected, Relation index);
// Raises an index-corrupted error unless `page` is one of ours of the expected type. The
// special space is where ours is before it is read; Postgres has checked on reading the
// page that pd_lower <= pd_upper <= pd_special, so its line pointers lie inside it.
inline void check_page(Page page, BlockNumber block, PageType expected, Relation index) {
  if (unlikely(PageIsNew(page) || ((PageHeader)page)->pd_special != kSpecialOffset ||
               page_opaque(page)->page_id != kPageId || page_opaque(page)->type != expected)) {
    report_bad_page(page, block, expected, index);
  }
}

// The metric of an index from its opclass's distance support function.
Metric index_metric(Relation index);

struct RecentBuffers;

// The index's rows per list and centroids, cached per backend (rabitq_shape.cpp).
struct IndexShape {
  RabitqMeta meta;
  const float* centroids;  // lists × padded_dim, rotated
  // lists: ||c||² as kernels::norm_squared gives it, as the build's assignment uses it, so
  // that an insert need not recompute it for every row.
  const float* centroid_norms_squared;
  ::ruvector::ivf::CentroidCodes codes;  // int8 copies, for the probe order
  // The index's stored subspace, for the probe order's bounds where it has one (rank > 0);
  // else the bounds come from `codes`.
  ::ruvector::ivf::CentroidProjection projection;
  uint64 stamp;  // unique per load; 0 once evicted (see shape_still_cached)
  // Where this backend last found each page (rabitq_recent.h): a hint that scans update.
  RecentBuffers* recent;
  RecentBuffers* heap_recent;  // the same for the indexed table's pages
};
const IndexShape* index_shape(Relation index);
// Whether a shape index_shape returned with this stamp is still cached. A scan keeps its
// shape for its whole life (the index cannot be rebuilt under its lock), but the entry
// can be evicted when a nested scan loads other indexes.
inline bool shape_still_cached(const IndexShape* shape, uint64 stamp) {
  return shape != nullptr && shape->stamp == stamp;
}

// prepare_vector and exact_distance come from rabitq/metric.h, shared with ruLake.
using ::ruvector::rabitq::exact_distance;
using ::ruvector::rabitq::prepare_vector;

// dim rounded up to the code length (a multiple of 64).
uint32 padded_dimensions(int dim);

// Rotates n rows of dim floats into n rows of padded_dim floats with the rotation of `seed`.
void rotate_rows(int dim, uint64 seed, uint32 n, const float* in, float* out);

// Callbacks
IndexBuildResult* build(Relation heap, Relation index, IndexInfo* info);
void build_empty(Relation index);
bool insert(Relation index, Datum* values, bool* isnull, ItemPointer heap_tid, Relation heap,
            IndexUniqueCheck check_unique, bool index_unchanged, IndexInfo* info);
IndexBulkDeleteResult* bulk_delete(IndexVacuumInfo* info, IndexBulkDeleteResult* stats,
                                   IndexBulkDeleteCallback callback, void* callback_state);
IndexBulkDeleteResult* vacuum_cleanup(IndexVacuumInfo* info, IndexBulkDeleteResult* stats);
void cost_estimate(PlannerInfo* root, IndexPath* path, double loop_count, Cost* startup_cost,
                   Cost* total_cost, Selectivity* selectivity, double* correlation, double* pages);
IndexScanDesc begin_scan(Relation index, int nkeys, int norderbys);
void rescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys);
bool get_tuple(IndexScanDesc scan, ScanDirection dir);
void end_scan(IndexScanDesc scan);
bytea* options(Datum reloptions, bool validate);
bool validate(Oid opclassoid);
char* build_phase_name(int64 phase);

}  // namespace ruvector::pg::rabitq
