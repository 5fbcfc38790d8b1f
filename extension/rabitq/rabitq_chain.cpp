// Appending items to a list's page chain. During CREATE INDEX the index is invisible to
// everyone else, so pages are written directly and WAL-logged in bulk at the end; after
// that every change goes through GenericXLog so that it is crash-safe and replayed on
// standbys.
//
// Concurrency after the build. Writers of one list are serialised by its list lock, so an
// append's walk to the tail and its record see no other writer's half-done work; writers of
// different lists share only the directory page (about kEntriesPerDirectoryPage lists a
// page) and the metapage, each locked for the moment of one record. A scan reads an entry
// under a share lock and walks the chain page by page under share locks: an append adds its
// item to the tail page, or links a new page from it in the same record that initialises the
// page, so a walk sees the chain either before or after an append, never a link to a page
// that is not yet part of it.
#include "extension/rabitq/rabitq_chain.h"

#include <algorithm>

#include "extension/rabitq/rabitq_free_pages.h"

extern "C" {
#include "storage/lmgr.h"
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

// Adds a signed change to a counter that never goes below zero.
uint32 add_clamped(uint32 value, int32 delta) {
  int64 sum = static_cast<int64>(value) + delta;
  return sum < 0 ? 0 : static_cast<uint32>(sum);
}

bool changes_counters(const EntryDelta& delta) {
  return delta.live != 0 || delta.dead != 0 || delta.radius > 0 ||
         BlockNumberIsValid(delta.reuse_from);
}

}  // namespace

RabitqListEntry* lock_entry(GenericXLogState* state, DirectorySlot directory,
                            const EntryDelta& delta) {
  LockBuffer(directory.buffer, BUFFER_LOCK_EXCLUSIVE);
  Page page = GenericXLogRegisterBuffer(state, directory.buffer, 0);
  RabitqListEntry* entry = &directory_entries(page)[directory.slot];
  entry->live = add_clamped(entry->live, delta.live);
  entry->dead = add_clamped(entry->dead, delta.dead);
  entry->radius = std::max(entry->radius, delta.radius);
  if (BlockNumberIsValid(delta.reuse_from)) entry->reuse_from = delta.reuse_from;
  return entry;
}

void lock_list(Relation index, uint32 list) {
  LockPage(index, kListLockBase + list, ExclusiveLock);
}

void unlock_list(Relation index, uint32 list) {
  UnlockPage(index, kListLockBase + list, ExclusiveLock);
}

ItemPointerData chain_append_build(Relation index, const ChainRef& chain, const void* item,
                                   Size size) {
  Buffer buffer;
  Page page;
  if (BlockNumberIsValid(chain.tail())) {
    buffer = ReadBuffer(index, chain.tail());
    LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
    page = BufferGetPage(buffer);
    if (!fits(page, size)) {
      Buffer fresh = new_page(index, Extension::kAlone);
      init_page(BufferGetPage(fresh), chain.type());
      page_opaque(page)->next = BufferGetBlockNumber(fresh);
      MarkBufferDirty(buffer);
      UnlockReleaseBuffer(buffer);
      buffer = fresh;
      page = BufferGetPage(buffer);
    }
  } else {
    buffer = new_page(index, Extension::kAlone);
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
                                    Size size, DirectorySlot directory, const EntryDelta& delta) {
  Buffer buffer = InvalidBuffer;
  Page page = nullptr;
  // The tail recorded in the directory is authoritative (the list lock keeps other writers
  // away from it), but follow next links anyway: it costs nothing and keeps appends correct
  // if an entry was ever left behind.
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
  // An item added to the tail page alone leaves the entry as it is: then the directory page,
  // which every scan reads and the records of its other lists' writers change, is not locked.
  const bool entry_changes = BufferIsValid(fresh.page) || changes_counters(delta);
  if (entry_changes) {
    RabitqListEntry* entry = lock_entry(state, directory, delta);
    ChainRef{entry, chain.chain}.head() = chain.head();
    ChainRef{entry, chain.chain}.tail() = chain.tail();
  }
  GenericXLogFinish(state);
  if (entry_changes) LockBuffer(directory.buffer, BUFFER_LOCK_UNLOCK);

  if (BufferIsValid(buffer)) UnlockReleaseBuffer(buffer);
  if (BufferIsValid(fresh.page)) release_taken_page(fresh);
  return place(chain.tail(), offset);
}

namespace {

// Written last to first, so that each chunk can point at its successor. `append` stores one
// chunk and returns its place.
template <typename Append>
ItemPointerData store_chunks(const float* x, int dim, Append append) {
  const VectorLayout layout = vector_layout(dim);
  auto* chunk = static_cast<VectorChunk*>(palloc(layout.max_chunk_size()));
  ItemPointerData next;
  ItemPointerSetInvalid(&next);
  for (int c = layout.chunks - 1; c >= 0; c--) {
    bool has_next = ItemPointerIsValid(&next);
    chunk->next_block = has_next ? ItemPointerGetBlockNumber(&next) : InvalidBlockNumber;
    chunk->next_offset = has_next ? ItemPointerGetOffsetNumber(&next) : InvalidOffsetNumber;
    fill_chunk(layout, x, c, chunk);
    next = append(chunk, layout.chunk_size(c));
  }
  pfree(chunk);
  return next;
}

}  // namespace

ItemPointerData store_vector_build(Relation index, const ChainRef& chain, const float* x, int dim) {
  return store_chunks(x, dim, [&](const VectorChunk* chunk, Size size) {
    return chain_append_build(index, chain, chunk, size);
  });
}

ItemPointerData store_vector_logged(Relation index, const ChainRef& chain, const float* x, int dim,
                                    DirectorySlot directory) {
  return store_chunks(x, dim, [&](const VectorChunk* chunk, Size size) {
    return chain_append_logged(index, chain, chunk, size, directory);
  });
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
