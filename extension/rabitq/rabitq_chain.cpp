// Appending items to a list's page chain. During CREATE INDEX the index is invisible to
// everyone else, so pages are written directly and WAL-logged in bulk at the end; after
// that every change goes through GenericXLog so that it is crash-safe and replayed on
// standbys.
#include "extension/rabitq/rabitq_chain.h"

#include "extension/rabitq/rabitq_free_pages.h"

extern "C" {
#include "utils/rel.h"
}

namespace ruvector::pg::rabitq {

namespace {

OffsetNumber add_item(Relation index, Page page, const void* item, Size size) {
  OffsetNumber offset = PageAddItem(page, static_cast<Item>(const_cast<void*>(item)), size,
                                    InvalidOffsetNumber, false, false);
  if (offset == InvalidOffsetNumber) {
    elog(ERROR, "rabitq index \"%s\": failed to add an item of %zu bytes",
         RelationGetRelationName(index), size);
  }
  return offset;
}

bool fits(Page page, Size size) { return PageGetFreeSpace(page) >= MAXALIGN(size); }

ItemPointerData place(BlockNumber block, OffsetNumber offset) {
  ItemPointerData where;
  ItemPointerSet(&where, block, offset);
  return where;
}

}  // namespace

ItemPointerData chain_append_build(Relation index, const ChainRef& chain, const void* item,
                                   Size size) {
  Buffer buffer;
  Page page;
  if (BlockNumberIsValid(chain.tail())) {
    buffer = ReadBuffer(index, chain.tail());
    LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
    page = BufferGetPage(buffer);
    if (!fits(page, size)) {
      Buffer fresh = new_page(index, false);
      init_page(BufferGetPage(fresh), chain.type());
      page_opaque(page)->next = BufferGetBlockNumber(fresh);
      MarkBufferDirty(buffer);
      UnlockReleaseBuffer(buffer);
      buffer = fresh;
      page = BufferGetPage(buffer);
    }
  } else {
    buffer = new_page(index, false);
    page = BufferGetPage(buffer);
    init_page(page, chain.type());
    chain.head() = BufferGetBlockNumber(buffer);
  }
  chain.tail() = BufferGetBlockNumber(buffer);
  OffsetNumber offset = add_item(index, page, item, size);
  MarkBufferDirty(buffer);
  UnlockReleaseBuffer(buffer);
  return place(chain.tail(), offset);
}

ItemPointerData chain_append_logged(Relation index, const ChainRef& chain, const void* item,
                                    Size size, DirectorySlot directory) {
  Buffer buffer = InvalidBuffer;
  Page page = nullptr;
  // The tail recorded in the directory is authoritative, but follow next links anyway:
  // it costs nothing and keeps appends correct if an entry was ever left behind.
  ChainWalk walk = chain_walk(chain.tail(), chain.type());
  while (BufferIsValid(buffer = walk_chain(index, &walk, BUFFER_LOCK_EXCLUSIVE))) {
    page = BufferGetPage(buffer);
    if (!BlockNumberIsValid(walk.next)) {
      chain.tail() = BufferGetBlockNumber(buffer);
      break;
    }
    UnlockReleaseBuffer(buffer);
  }

  // A page off the free list brings the metapage into the record: four pages at most.
  TakenPage fresh{InvalidBuffer, InvalidBuffer};
  if (!BufferIsValid(buffer) || !fits(page, size)) fresh = take_page(index, false);

  GenericXLogState* state = GenericXLogStart(index);
  Page dir_page = GenericXLogRegisterBuffer(state, directory.buffer, 0);
  Page target;
  if (BufferIsValid(fresh.page)) {
    target = register_taken_page(state, fresh, chain.type(), nullptr);
    if (BufferIsValid(buffer)) {
      Page old_tail = GenericXLogRegisterBuffer(state, buffer, 0);
      page_opaque(old_tail)->next = BufferGetBlockNumber(fresh.page);
    } else {
      chain.head() = BufferGetBlockNumber(fresh.page);
    }
    chain.tail() = BufferGetBlockNumber(fresh.page);
  } else {
    target = GenericXLogRegisterBuffer(state, buffer, 0);
  }
  OffsetNumber offset = add_item(index, target, item, size);
  directory_entries(dir_page)[directory.slot] = *chain.entry;
  GenericXLogFinish(state);

  if (BufferIsValid(buffer)) UnlockReleaseBuffer(buffer);
  if (BufferIsValid(fresh.page)) release_taken_page(fresh);
  return place(chain.tail(), offset);
}

ItemPointerData store_vector(Relation index, const ChainRef& chain, const float* x, int dim,
                             bool logged, DirectorySlot directory) {
  // Written last to first, so that each chunk can point at its successor.
  const VectorLayout layout = vector_layout(dim);
  auto* chunk = static_cast<VectorChunk*>(palloc(layout.max_chunk_size()));
  ItemPointerData next;
  ItemPointerSetInvalid(&next);
  for (int c = layout.chunks - 1; c >= 0; c--) {
    bool has_next = ItemPointerIsValid(&next);
    chunk->next_block = has_next ? ItemPointerGetBlockNumber(&next) : InvalidBlockNumber;
    chunk->next_offset = has_next ? ItemPointerGetOffsetNumber(&next) : InvalidOffsetNumber;
    fill_chunk(layout, x, c, chunk);
    Size size = layout.chunk_size(c);
    next = logged ? chain_append_logged(index, chain, chunk, size, directory)
                  : chain_append_build(index, chain, chunk, size);
  }
  pfree(chunk);
  return next;
}

void read_list_entries(Relation index, const RabitqMeta& meta, RabitqListEntry* out) {
  BlockNumber block = meta.directory_start;
  for (uint32 first = 0; first < meta.lists; first += kEntriesPerDirectoryPage, block++) {
    Buffer buffer = read_page(index, block, kPageDirectory, BUFFER_LOCK_SHARE, nullptr);
    uint32 n = std::min<uint32>(kEntriesPerDirectoryPage, meta.lists - first);
    memcpy(out + first, directory_entries(BufferGetPage(buffer)), n * sizeof(RabitqListEntry));
    UnlockReleaseBuffer(buffer);
  }
}

RabitqListEntry read_list_entry(Relation index, const RabitqMeta& meta, uint32 list) {
  BlockNumber block = directory_block(meta, list);
  Buffer buffer = read_page(index, block, kPageDirectory, BUFFER_LOCK_SHARE, nullptr);
  RabitqListEntry entry = directory_entries(BufferGetPage(buffer))[directory_slot(list)];
  UnlockReleaseBuffer(buffer);
  return entry;
}

}  // namespace ruvector::pg::rabitq
