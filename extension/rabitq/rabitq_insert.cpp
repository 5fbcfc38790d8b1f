// INSERT into a table with a rabitq index: the row is rotated, assigned to its nearest
// centroid (found through the int8 centroid copies of the probe order) and encoded against
// it, as the build does. Under the list's lock (rabitq_chain.h) it then takes the slot of a
// row VACUUM removed from the list, if there is one (rabitq_reuse.cpp), or its raw vector
// and code are appended to the list's chains, each append in one GenericXLog record
// together with the change to the list's directory entry. The directory page, which holds
// the entries of many lists, is locked only inside those records: inserts into other lists
// and scans do not wait for this one's chain walk.
#include "extension/rabitq/rabitq.h"

#include <algorithm>

#include "extension/rabitq/rabitq_chain.h"
#include "extension/vector/vector_type.h"
#include "ivf/centroid_codes.h"

extern "C" {
#include "utils/rel.h"
}

namespace ruvector::pg::rabitq {

bool insert(Relation index, Datum* values, bool* isnull, ItemPointer heap_tid, Relation,
            IndexUniqueCheck, bool, IndexInfo*) {
  if (isnull[0]) return false;
  MemoryContext context =
      AllocSetContextCreate(CurrentMemoryContext, "rabitq insert", ALLOCSET_DEFAULT_SIZES);
  MemoryContext old = MemoryContextSwitchTo(context);

  RuVector* v = datum_get_ruvector(values[0]);
  const IndexShape* shape = index_shape(index);
  RabitqMeta meta = shape->meta;
  if (v->dim != static_cast<int>(meta.dim)) {
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                    errmsg("expected %u dimensions, not %d", meta.dim, v->dim)));
  }
  auto metric = static_cast<Metric>(meta.metric);
  auto* prepared = static_cast<float*>(palloc(sizeof(float) * meta.dim));
  if (!prepare_vector(metric, v->x, meta.dim, prepared)) {
    // A zero vector has no cosine distance to anything: not indexed, as in the build.
    MemoryContextSwitchTo(old);
    MemoryContextDelete(context);
    return false;
  }
  auto* rotated = static_cast<float*>(palloc(sizeof(float) * meta.padded_dim));
  rotate_rows(meta.dim, meta.seed, 1, prepared, rotated);
  // The int8 copies of the centroids bound every list's distance; only the few lists whose
  // bound could beat the nearest so far get an exact dot product.
  auto* scratch = static_cast<int8*>(palloc(meta.padded_dim));
  auto* lower = static_cast<float*>(palloc(sizeof(float) * meta.lists));
  uint32 list = ivf::nearest_centroid_bounded(
      rotated, shape->centroids, shape->centroid_norms_squared, shape->codes, scratch, lower);
  const float* centroid = shape->centroids + static_cast<Size>(list) * meta.padded_dim;
  for (uint32 j = 0; j < meta.padded_dim; j++) rotated[j] -= centroid[j];
  Size tuple_size = code_tuple_size(meta.padded_dim, meta.bits);
  auto* tuple = static_cast<CodeTuple*>(palloc0(tuple_size));
  ExItem* ex_item = nullptr;
  if (meta.bits > 1)
    ex_item = static_cast<ExItem*>(palloc0(ex_item_size(meta.padded_dim, meta.bits)));
  encode_row(rotated, meta.padded_dim, meta.bits, tuple, ex_item);
  tuple->heap_tid = *heap_tid;

  lock_list(index, list);
  // The entry's tails and tombstone count stay as read until this insert's records change
  // them: only the holder of the list lock does (VACUUM adds tombstones, never takes them).
  BlockNumber block = directory_block(meta, list);
  Buffer directory = read_page(index, block, kPageDirectory, BUFFER_LOCK_SHARE, nullptr);
  DirectorySlot slot{directory, directory_slot(list)};
  RabitqListEntry entry = directory_entries(BufferGetPage(directory))[slot.slot];
  LockBuffer(directory, BUFFER_LOCK_UNLOCK);  // keeps the pin for the records

  // A list with rows VACUUM removed takes the new row in one of their slots. Only then is
  // its code chain walked: a list without dead rows costs an insert nothing more.
  EntryDelta added;
  if (entry.dead > 0) {
    if (reuse_slot(index, meta, slot, &entry, tuple, ex_item, v->x)) {
      ReleaseBuffer(directory);
      unlock_list(index, list);
      MemoryContextSwitchTo(old);
      MemoryContextDelete(context);
      return false;
    }
    // No tombstone although the entry counts some (VACUUM marks rows before it counts
    // them, so every counted one would have been found): the count is wrong; the append
    // below takes back what was read, so that later inserts do not walk the list again.
    added.dead = -static_cast<int32>(entry.dead);
    added.reuse_from = kReuseFromHead;
  }

  tuple->vector_block = InvalidBlockNumber;
  if ((meta.flags & kMetaHeapRerank) == 0) {
    ItemPointerData where =
        store_vector_logged(index, ChainRef{&entry, Chain::kVectors}, v->x, meta.dim, slot);
    tuple->vector_block = ItemPointerGetBlockNumber(&where);
    tuple->vector_offset = ItemPointerGetOffsetNumber(&where);
  }
  if (meta.bits > 1) {
    // Before the code tuple, as in the build: a crash in between leaves an unreferenced
    // ex item (like an unreferenced vector), never a code tuple without its ex item.
    ItemPointerData where = chain_append_logged(index, ChainRef{&entry, Chain::kVectors}, ex_item,
                                                ex_item_size(meta.padded_dim, meta.bits), slot);
    code_ex_ref(tuple, meta.padded_dim)->block = ItemPointerGetBlockNumber(&where);
    code_ex_ref(tuple, meta.padded_dim)->offset = ItemPointerGetOffsetNumber(&where);
  }
  added.live = 1;
  added.radius = tuple->factors.residual_norm;
  chain_append_logged(index, ChainRef{&entry, Chain::kCodes}, tuple, tuple_size, slot, added);
  ReleaseBuffer(directory);
  unlock_list(index, list);

  MemoryContextSwitchTo(old);
  MemoryContextDelete(context);
  return false;
}

}  // namespace ruvector::pg::rabitq
