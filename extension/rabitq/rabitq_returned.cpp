// See rabitq_returned.h. The proof is by address: a row's column read in place points into
// the shared buffer of the row's heap page, at the offset its tuple header gives. While the
// executor projects the row it holds a pin on that page, so the buffer's tag and the
// tuple's line pointer are stable (pruning, which moves tuples, needs a cleanup lock, and a
// tuple's data never changes in place). A copy of the row elsewhere, a row of another
// table, page or offset, another column, a HOT successor at another offset, or another
// query all fail the test and are computed as before.
#include "extension/rabitq/rabitq_returned.h"

#include <cstring>

#include "extension/vector/vector_type.h"

extern "C" {
#include "access/htup_details.h"
#include "storage/bufmgr.h"
#include "storage/bufpage.h"
#include "utils/rel.h"
}

namespace ruvector::pg::rabitq {

namespace {

#if PG_VERSION_NUM >= 160000
using FileId = RelFileLocator;
inline const FileId& file_of(Relation r) { return r->rd_locator; }
inline bool same_file(const FileId& a, const FileId& b) { return RelFileLocatorEquals(a, b); }
#else
using FileId = RelFileNode;
inline const FileId& file_of(Relation r) { return r->rd_node; }
inline bool same_file(const FileId& a, const FileId& b) { return RelFileNodeEquals(a, b); }
#endif

// One row: the executor projects each row right after the scan returns it, before it asks
// for the next. A second scan publishing in between (a join of two rabitq scans) only
// makes the first scan's rows fall back to computing.
struct Returned {
  const void* owner;  // nullptr: nothing published
  FileId file;
  Oid table;
  TupleDesc desc;
  BlockNumber block;
  OffsetNumber offset;
  AttrNumber attnum;
  ::ruvector::rabitq::Metric metric;
  const float* query;
  int dim;
  double distance;
};

Returned returned;

// The heap page `p` lies in and is pinned for, if it is a shared buffer.
Buffer shared_buffer_of(const char* p) {
  if (p < BufferBlocks || p >= BufferBlocks + static_cast<Size>(NBuffers) * BLCKSZ) {
    return InvalidBuffer;
  }
  return static_cast<Buffer>((p - BufferBlocks) / BLCKSZ) + 1;
}

// Whether `p` is the published row's column on its heap page, read in place.
bool is_published_column(const char* p) {
  Buffer buffer = shared_buffer_of(p);
  if (buffer == InvalidBuffer) return false;
  FileId file;
  ForkNumber fork;
  BlockNumber block;
  BufferGetTag(buffer, &file, &fork, &block);
  if (fork != MAIN_FORKNUM || block != returned.block || !same_file(file, returned.file)) {
    return false;
  }
  Page page = BufferGetPage(buffer);
  if (returned.offset < FirstOffsetNumber || returned.offset > PageGetMaxOffsetNumber(page)) {
    return false;
  }
  ItemId item = PageGetItemId(page, returned.offset);
  if (!ItemIdIsNormal(item)) return false;
  HeapTupleData tuple;
  tuple.t_data = reinterpret_cast<HeapTupleHeader>(PageGetItem(page, item));
  tuple.t_len = ItemIdGetLength(item);
  tuple.t_tableOid = returned.table;
  ItemPointerSet(&tuple.t_self, returned.block, returned.offset);
  const char* start = reinterpret_cast<const char*>(tuple.t_data);
  if (p < start || p >= start + tuple.t_len) return false;
  if (HeapTupleHeaderGetNatts(tuple.t_data) < returned.attnum) return false;
  bool isnull = false;
  Datum column = heap_getattr(&tuple, returned.attnum, returned.desc, &isnull);
  return !isnull && DatumGetPointer(column) == p;
}

}  // namespace

void publish_returned(const void* owner, Relation heap, AttrNumber attnum, ItemPointer tid,
                      ::ruvector::rabitq::Metric metric, const float* query, int dim,
                      double distance) {
  returned.owner = owner;
  returned.file = file_of(heap);
  returned.table = RelationGetRelid(heap);
  returned.desc = RelationGetDescr(heap);
  returned.block = ItemPointerGetBlockNumber(tid);
  returned.offset = ItemPointerGetOffsetNumber(tid);
  returned.attnum = attnum;
  returned.metric = metric;
  returned.query = query;
  returned.dim = dim;
  returned.distance = distance;
}

void forget_returned(const void* owner) {
  if (returned.owner == owner) returned.owner = nullptr;
}

bool returned_distance(::ruvector::rabitq::Metric metric, Datum row, Datum query,
                       double* distance) {
  // An inline, uncompressed vector costs less to compute than to prove.
  if (returned.owner == nullptr || metric != returned.metric ||
      !VARATT_IS_EXTENDED(DatumGetPointer(row))) {
    return false;
  }
  if (!is_published_column(DatumGetPointer(row))) return false;
  RuVector* q = datum_get_ruvector(query);
  if (q->dim != returned.dim ||
      std::memcmp(q->x, returned.query, sizeof(float) * static_cast<size_t>(q->dim)) != 0) {
    return false;
  }
  *distance = returned.distance;
  return true;
}

}  // namespace ruvector::pg::rabitq
