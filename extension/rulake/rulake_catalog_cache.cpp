// The collections a search reads, kept by the backend between statements. A search's
// catalog query (SPI, the executor, row security) cost about 20 µs, 5% of a federated
// search over four shards and more of a single one; checking a kept row costs a buffer
// read. A kept row serves only:
//  - the role that read it, since row security decides which rows each role sees; and the
//    caller checks that role's read access next (check_read_access, stricter than the
//    policy), so a kept row never lets a role search what it could not search before;
//  - while the row it was read from is still the version the statement's snapshot sees,
//    at the same place with the same bytes in the same relation file. A tuple's data never
//    changes in place (an UPDATE writes a new version elsewhere), so equal bytes are the
//    same row, and what the search takes from it is what the catalog query would give.
// Anything else reads the catalog as before and keeps what it read.
#include "extension/rulake/rulake_source.h"

extern "C" {
#include "access/heapam.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
}

namespace ruvector::pg::rulake {

namespace {

// Entries kept: as many as one federated search pins, so that one search never evicts its
// own shards.
constexpr int kMaxKept = kMaxPinsPerBackend;
// Memory they may hold, counting what replaced entries left: past it they start over.
constexpr Size kMaxKeptBytes = Size{1} << 20;

struct KeptRow {
  Oid user;
  Oid filenode;  // rulake.collections' relation file when read
  ItemPointerData tid;
  uint32 data_len;
  char* data;  // the tuple from its null bitmap to its end
  Collection collection;
};

MemoryContext kept_context = nullptr;
KeptRow* kept = nullptr;
int kept_count = 0;

// The bytes of a heap tuple that hold its values: the null bitmap (with the header's
// padding after it) and the data.
const char* tuple_values(const HeapTupleData& t, uint32* len) {
  const Size from = offsetof(HeapTupleHeaderData, t_bits);
  *len = t.t_len - static_cast<uint32>(from);
  return reinterpret_cast<const char*>(t.t_data) + from;
}

// The tuple at `tid` if the active snapshot sees it; *buffer pinned, to release.
bool fetch_visible(Relation rel, ItemPointerData tid, HeapTupleData* tuple, Buffer* buffer) {
  if (ItemPointerGetBlockNumber(&tid) >= RelationGetNumberOfBlocks(rel)) return false;
  tuple->t_self = tid;
  return heap_fetch(rel, GetActiveSnapshot(), tuple, buffer, false);
}

KeptRow* find_kept(Oid user, const char* name) {
  if (kept == nullptr) return nullptr;
  for (int i = 0; i < kept_count; i++) {
    if (kept[i].user == user && strcmp(kept[i].collection.name, name) == 0) return &kept[i];
  }
  return nullptr;
}

// Whether `k` is still what the catalog query would return.
bool still_current(Relation rel, const KeptRow& k) {
  if (k.filenode != rel->rd_node.relNode) return false;
  HeapTupleData tuple;
  Buffer buffer = InvalidBuffer;
  if (!fetch_visible(rel, k.tid, &tuple, &buffer)) return false;
  uint32 len = 0;
  const char* values = tuple_values(tuple, &len);
  const bool same = len == k.data_len && memcmp(values, k.data, len) == 0;
  ReleaseBuffer(buffer);
  return same;
}

char* kept_strdup(const char* s) {
  return s == nullptr ? nullptr : MemoryContextStrdup(kept_context, s);
}

// Keeps the row just read at `tid` (under the same snapshot as the query that read `c`).
void keep(Relation rel, Oid user, const Collection& c, ItemPointerData tid) {
  if (kept_context == nullptr) {
    kept_context = AllocSetContextCreate(CacheMemoryContext, "rulake searched collections",
                                         ALLOCSET_SMALL_SIZES);
  }
  if (kept == nullptr || kept_count == kMaxKept ||
      MemoryContextMemAllocated(kept_context, false) > kMaxKeptBytes) {
    // Full, or the first: start over rather than track what each entry's strings use.
    // Forgotten first, so that a failed allocation leaves no pointer into freed memory.
    kept = nullptr;
    kept_count = 0;
    MemoryContextReset(kept_context);
    kept = static_cast<KeptRow*>(MemoryContextAllocZero(kept_context, sizeof(KeptRow) * kMaxKept));
  }
  HeapTupleData tuple;
  Buffer buffer = InvalidBuffer;
  if (!fetch_visible(rel, tid, &tuple, &buffer)) return;
  // Filled whole before it takes a slot: an error half way leaves the entries as they were.
  KeptRow row;
  const char* values = tuple_values(tuple, &row.data_len);
  row.data = static_cast<char*>(MemoryContextAlloc(kept_context, row.data_len));
  memcpy(row.data, values, row.data_len);
  ReleaseBuffer(buffer);
  row.user = user;
  row.filenode = rel->rd_node.relNode;
  row.tid = tid;
  row.collection = c;
  row.collection.name = kept_strdup(c.name);
  row.collection.location = kept_strdup(c.location);
  row.collection.id_column = kept_strdup(c.id_column);
  row.collection.vector_column = kept_strdup(c.vector_column);
  row.collection.witness = kept_strdup(c.witness);
  KeptRow* slot = find_kept(user, c.name);
  if (slot == nullptr) slot = &kept[kept_count++];
  *slot = row;
}

// A copy in the caller's memory: the kept strings go when the entries start over.
void copy_out(const Collection& from, Collection* to) {
  *to = from;
  to->name = pstrdup(from.name);
  to->location = from.location == nullptr ? nullptr : pstrdup(from.location);
  to->id_column = from.id_column == nullptr ? nullptr : pstrdup(from.id_column);
  to->vector_column = from.vector_column == nullptr ? nullptr : pstrdup(from.vector_column);
  to->witness = from.witness == nullptr ? nullptr : pstrdup(from.witness);
  // Derived from the catalog, not the row: computed now, as the query would.
  to->foreign = to->kind == kSourceTable && get_rel_relkind(to->relid) == RELKIND_FOREIGN_TABLE;
}

}  // namespace

Collection* require_searched_collections(const char* const* names, int n) {
  // The rows are checked under the statement's snapshot; without one, ask the catalog.
  if (!ActiveSnapshotSet()) return require_collections(names, n);
  const Oid user = GetUserId();
  Relation rel = table_open(get_relname_relid("collections", get_namespace_oid("rulake", false)),
                            AccessShareLock);
  auto* out = static_cast<Collection*>(palloc0(sizeof(Collection) * n));
  auto* have = static_cast<bool*>(palloc0(sizeof(bool) * n));
  int missing = 0;
  for (int i = 0; i < n; i++) {
    const KeptRow* k = find_kept(user, names[i]);
    if (k != nullptr && still_current(rel, *k)) {
      copy_out(k->collection, &out[i]);
      have[i] = true;
    } else {
      missing++;
    }
  }
  if (missing > 0) {
    auto* miss_names = static_cast<const char**>(palloc(sizeof(char*) * missing));
    auto* miss_at = static_cast<int*>(palloc(sizeof(int) * missing));
    int m = 0;
    for (int i = 0; i < n; i++) {
      if (have[i]) continue;
      miss_names[m] = names[i];
      miss_at[m++] = i;
    }
    auto* rows = static_cast<Collection*>(palloc0(sizeof(Collection) * missing));
    auto* found = static_cast<bool*>(palloc(sizeof(bool) * missing));
    auto* tids = static_cast<ItemPointerData*>(palloc(sizeof(ItemPointerData) * missing));
    lookup_collections(miss_names, missing, rows, found, tids);
    for (int j = 0; j < missing; j++) {
      if (!found[j]) {
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
                        errmsg("rulake collection \"%s\" does not exist", miss_names[j]),
                        errhint("Register it with rulake.register(name, source).")));
      }
      out[miss_at[j]] = rows[j];
      keep(rel, user, rows[j], tids[j]);
    }
  }
  table_close(rel, AccessShareLock);
  return out;
}

}  // namespace ruvector::pg::rulake
