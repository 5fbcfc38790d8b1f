// Folding a table collection's writes into an overlay (src/rulake/overlay.h) instead of
// priming it again (docs/rulake.md#writes). The write log, rulake.table_writes, has a row
// per write statement naming the ids it touched and the transaction that wrote it; a cached
// entry keeps the snapshot its rows were read under. The ids written since that snapshot
// are read again, in this search's snapshot, and replace the entry's rows of those ids:
// the result holds exactly the rows this snapshot sees, as a full prime would.
//
// Postgres-facing code is C-style (palloc, trivially destructible values); the overlay is
// built in a narrow C++ scope under guard().
#include <algorithm>
#include <cmath>

#include "extension/boundary.h"
#include "extension/rulake/rulake_source.h"
#include "extension/user_switch.h"
#include "extension/vector/vector_type.h"
#include "rulake/collection_index.h"
#include "rulake/overlay.h"

extern "C" {
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
}

namespace ruvector::pg::rulake {

namespace core = ::ruvector::rulake;

namespace {

// The writes since `since` that this snapshot sees. Usable when `since` is older than this
// snapshot (everything it saw, this one sees) and every such write named its ids in the
// collection's id column; a folded log row stands for all the writes it folded, so it
// counts as soon as any of them may be newer than `since` (its xid is their newest).
const char kChangesQuery[] =
    "WITH changes AS (SELECT ids, id_column FROM rulake.table_writes"
    " WHERE relid = $1 AND xid >= pg_snapshot_xmin($2::pg_snapshot)"
    " AND (folded OR NOT pg_visible_in_snapshot(xid, $2::pg_snapshot)))"
    " SELECT pg_snapshot_xmax($2::pg_snapshot) <= pg_snapshot_xmax(pg_current_snapshot())"
    " AND NOT EXISTS (SELECT 1 FROM pg_snapshot_xip(pg_current_snapshot()) x"
    " WHERE x < pg_snapshot_xmax($2::pg_snapshot) AND pg_visible_in_snapshot(x, $2::pg_snapshot)),"
    " NOT coalesce((SELECT bool_or(ids IS NULL OR id_column IS DISTINCT FROM $3)"
    " FROM changes), false),"
    " pg_current_snapshot()::text,"
    " (SELECT coalesce(array_agg(DISTINCT i ORDER BY i), '{}') FROM changes, unnest(ids) i"
    " WHERE i IS NOT NULL)";

struct Changes {
  bool contained;  // everything `since` saw, this snapshot sees
  bool known;      // and every write since named its ids
  bool usable;
  char* now;   // this snapshot, pg_snapshot text
  int64* ids;  // sorted, distinct
  uint64 count;
};

// Postgres code, in the caller's memory context. The log's ids are readable by no role but
// the extension's owner (a role may SELECT some columns of a table and not its id): they
// are read here as the bootstrap superuser, for this collection's table and id column only,
// once the caller may read that column, as every searcher and the worker (as the owner)
// were checked to.
Changes read_changes(const Collection& c, const char* since) {
  Changes out{false, false, false, nullptr, nullptr, 0};
  MemoryContext caller = CurrentMemoryContext;
  AttrNumber id_attnum = get_attnum(c.relid, c.id_column);
  if (id_attnum == InvalidAttrNumber ||
      (pg_class_aclcheck(c.relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK &&
       pg_attribute_aclcheck(c.relid, id_attnum, GetUserId(), ACL_SELECT) != ACLCHECK_OK))
    return out;  // not usable: a full prime raises the permission error
  SavedUser saved = switch_user(BOOTSTRAP_SUPERUSERID);
  Oid types[3] = {OIDOID, TEXTOID, NAMEOID};
  Datum values[3] = {ObjectIdGetDatum(c.relid), CStringGetTextDatum(since),
                     CStringGetDatum(c.id_column)};
  SPI_connect();
  if (SPI_execute_with_args(kChangesQuery, 3, types, values, nullptr, true, 1) != SPI_OK_SELECT ||
      SPI_processed != 1)
    elog(ERROR, "rulake: reading the write log of relation %u failed", c.relid);
  HeapTuple t = SPI_tuptable->vals[0];
  TupleDesc d = SPI_tuptable->tupdesc;
  bool isnull = false;
  out.contained = DatumGetBool(SPI_getbinval(t, d, 1, &isnull)) && !isnull;
  out.known = DatumGetBool(SPI_getbinval(t, d, 2, &isnull)) && !isnull;
  out.usable = out.contained && out.known;
  if (out.usable) {
    MemoryContext old = MemoryContextSwitchTo(caller);
    out.now = pstrdup(SPI_getvalue(t, d, 3));
    ArrayType* array = DatumGetArrayTypePCopy(SPI_getbinval(t, d, 4, &isnull));
    Datum* elems = nullptr;
    int n = 0;
    deconstruct_array(array, INT8OID, 8, true, TYPALIGN_DOUBLE, &elems, nullptr, &n);
    out.ids = static_cast<int64*>(palloc(sizeof(int64) * std::max(n, 1)));
    for (int i = 0; i < n; i++) out.ids[i] = DatumGetInt64(elems[i]);
    out.count = static_cast<uint64>(n);
    MemoryContextSwitchTo(old);
  }
  SPI_finish();
  restore_user(saved);
  return out;
}

// The current rows of `ids`, ordered by id, palloc'd in the caller's context.
struct Fetched {
  bool ok;  // false: a row of other dimensions (a full prime reports it)
  uint64 count;
  int64* ids;
  float* vectors;
};

// Postgres code, in the caller's memory context.
Fetched fetch_rows(const Collection& c, const int64* ids, uint64 count, uint32 dim) {
  Fetched out{true, 0, nullptr, nullptr};
  if (count == 0) return out;
  MemoryContext caller = CurrentMemoryContext;
  Datum* elems = static_cast<Datum*>(palloc(sizeof(Datum) * count));
  for (uint64 i = 0; i < count; i++) elems[i] = Int64GetDatum(ids[i]);
  ArrayType* array =
      construct_array(elems, static_cast<int>(count), INT8OID, 8, true, TYPALIGN_DOUBLE);
  StringInfoData sql;
  initStringInfo(&sql);
  const char* id = quote_identifier(c.id_column);
  const char* vec = quote_identifier(c.vector_column);
  appendStringInfo(&sql,
                   "SELECT %s::bigint, %s FROM %s WHERE %s = ANY($1) AND %s IS NOT NULL"
                   " ORDER BY 1",
                   id, vec,
                   quote_qualified_identifier(get_namespace_name(get_rel_namespace(c.relid)),
                                              get_rel_name(c.relid)),
                   id, vec);
  Oid types[1] = {INT8ARRAYOID};
  Datum values[1] = {PointerGetDatum(array)};
  SPI_connect();
  if (SPI_execute_with_args(sql.data, 1, types, values, nullptr, true, 0) != SPI_OK_SELECT)
    elog(ERROR, "rulake: reading the written rows of relation %u failed", c.relid);
  uint64 n = SPI_processed;
  out.ids = static_cast<int64*>(MemoryContextAlloc(caller, sizeof(int64) * std::max<uint64>(n, 1)));
  out.vectors = static_cast<float*>(
      MemoryContextAllocHuge(caller, sizeof(float) * std::max<uint64>(n, 1) * dim));
  for (uint64 r = 0; r < n; r++) {
    bool isnull = false;
    HeapTuple t = SPI_tuptable->vals[r];
    Datum idd = SPI_getbinval(t, SPI_tuptable->tupdesc, 1, &isnull);
    if (isnull) continue;  // rows without an id are not in the image either
    RuVector* v = datum_get_ruvector(SPI_getbinval(t, SPI_tuptable->tupdesc, 2, &isnull));
    if (static_cast<uint32>(v->dim) != dim) {
      out.ok = false;
      break;
    }
    out.ids[out.count] = DatumGetInt64(idd);
    memcpy(out.vectors + out.count * dim, v->x, sizeof(float) * dim);
    out.count++;
  }
  SPI_finish();
  return out;
}

// Why a fold was not done, at DEBUG1: the full prime that follows is the cost.
bool not_folded(const Collection& c, const char* why) {
  elog(DEBUG1, "rulake: writes to collection \"%s\" not folded in: %s", c.name, why);
  return false;
}

// How many rows may change before the image is primed again.
uint64 allowance(uint64 base_rows) {
  return std::max<uint64>(64, static_cast<uint64>(std::ceil(rebuild_threshold * base_rows)));
}

// Rows the small top overlay may hold before a fold merges it into the one below: a write
// copies the top overlay, so it stays small; the merge copies everything since the image,
// once every so many rows.
constexpr uint64 kTopRows = 128;

enum class Fold { kDone, kNewer, kNo };

// Installs under `target` the layers of `start` up to `level` (its own depth, or a lower
// layer when `start` is newer than this snapshot) with the writes since that layer folded
// in.
Fold fold(const Collection& c, const Pinned& start, int level, const CacheKey& target, Use use) {
  const Pinned::Layer& image = start.layer[0];
  const Pinned::Layer* l1 = level >= 1 ? &start.layer[1] : nullptr;
  const Pinned::Layer* l0 = level >= 2 ? &start.layer[2] : nullptr;
  const char* since = start.layer[level].snapshot;
  if (since == nullptr) return not_folded(c, "the entry has no snapshot"), Fold::kNo;
  core::ImageInfo info = guard([&] { return core::image_info(image.bytes, image.size); });
  if (info.rows == 0 || info.lists == 0) return not_folded(c, "the image is empty"), Fold::kNo;

  Changes changes = read_changes(c, since);
  if (!changes.contained) {
    not_folded(c, "the entry is newer than this snapshot");
    return Fold::kNewer;
  }
  if (!changes.known) {
    not_folded(c, "the write log does not name every change since the entry's snapshot");
    return Fold::kNo;
  }
  uint64 tombstones = guard([&] {
    return core::folded_tombstones(l1 ? l1->bytes : nullptr, l1 ? l1->size : 0,
                                   l0 ? l0->bytes : nullptr, l0 ? l0->size : 0, changes.ids,
                                   changes.count);
  });
  if (tombstones > allowance(info.rows))
    return not_folded(c, "rulake.rebuild_threshold is passed"), Fold::kNo;
  Fetched rows = fetch_rows(c, changes.ids, changes.count, info.dim);
  if (!rows.ok) return not_folded(c, "a written row has other dimensions"), Fold::kNo;
  const uint64 last_used = use == Use::kSearch ? kUsedNow : search_tick(c.name);
  bool installed = guard([&] {
    core::Folded f =
        core::fold_layers(image.bytes, image.size, l1 ? l1->bytes : nullptr, l1 ? l1->size : 0,
                          l0 ? l0->bytes : nullptr, l0 ? l0->size : 0, changes.ids, changes.count,
                          rows.ids, rows.vectors, rows.count, kTopRows);
    int parent = f.over_l1 ? l1->entry : image.entry;
    return pg_call([&] {
      bool added = false;
      return install_entry(target, f.overlay.data(), f.overlay.size(), info.rows, last_used, &added,
                           changes.now, parent);
    });
  });
  return installed ? Fold::kDone : Fold::kNo;
}

}  // namespace

Pinned advance(const Collection& c, const CacheKey& start_key, const CacheKey& target, Use use,
               bool* newest) {
  Pinned none;
  memset(&none, 0, sizeof(none));
  none.entry = -1;
  *newest = false;
  if (c.kind != kSourceTable || c.foreign || rebuild_threshold <= 0) return none;
  Pinned start = pin_entry(start_key, use);
  if (start.entry < 0) return none;
  // From the top layer, or, when that one is newer than this snapshot (a search of an
  // older snapshot, e.g. REPEATABLE READ), from the layers below it.
  Fold done = Fold::kNewer;
  for (int level = start.depth; level >= 0 && done == Fold::kNewer; level--) {
    done = fold(c, start, level, target, use);
    if (done == Fold::kDone) *newest = level == start.depth;
  }
  unpin_entry(start.entry);
  if (done != Fold::kDone) return none;
  return pin_entry(target, use);
}

void note_advanced(const Collection& c, const CacheKey& key, bool newest) {
  RulakeShared* s = shared();
  LWLockAcquire(s->lock, LW_EXCLUSIVE);
  CollectionState* state = find_collection(c.name, IfAbsent::kCreate);
  if (newest) {
    state->has_key = true;
    state->key = key;
    state->status = kReady;
  }
  pg_atomic_fetch_add_u64(&state->deltas, 1);
  LWLockRelease(s->lock);
}

bool overlay_heavy(const CacheKey& key) {
  if (rebuild_threshold <= 0) return false;
  // The worker's look, not a search: it leaves the entry's place in the LRU order.
  Pinned p = pin_entry(key, Use::kBackground);
  if (p.entry < 0) return false;
  bool heavy = false;
  if (p.depth > 0) {
    heavy = guard([&] {
      const Pinned::Layer* l1 = &p.layer[1];
      const Pinned::Layer* l0 = p.depth >= 2 ? &p.layer[2] : nullptr;
      std::size_t tombstones = core::folded_tombstones(
          l1->bytes, l1->size, l0 ? l0->bytes : nullptr, l0 ? l0->size : 0, nullptr, 0);
      return tombstones * 2 > allowance(core::image_info(p.layer[0].bytes, p.layer[0].size).rows);
    });
  }
  unpin_entry(p.entry);
  return heavy;
}

}  // namespace ruvector::pg::rulake
