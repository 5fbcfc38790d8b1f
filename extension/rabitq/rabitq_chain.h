// Appending to a list's chain of code or vector pages (see rabitq_chain.cpp).
#pragma once

#include "extension/rabitq/rabitq_items.h"

namespace ruvector::pg::rabitq {

// One chain of one list: `entry` is the list's directory entry (a copy the caller owns);
// `vectors` selects its vector chain, otherwise its code chain.
struct ChainRef {
  RabitqListEntry* entry;
  bool vectors;
  BlockNumber& head() const { return vectors ? entry->vector_head : entry->code_head; }
  BlockNumber& tail() const { return vectors ? entry->vector_tail : entry->code_tail; }
  PageType type() const { return vectors ? kPageVectors : kPageCodes; }
};

// Where the list's entry lives on disk, for logged appends: the directory page (locked
// exclusively by the caller for the whole insert) and the entry's index on that page.
struct DirectorySlot {
  Buffer buffer;
  uint32 slot;
};

// During CREATE INDEX: no WAL, no locks against other backends. Returns the item's place.
ItemPointerData chain_append_build(Relation index, const ChainRef& chain, const void* item,
                                   Size size);

// After build: one GenericXLog record adds the item (and a new page when the tail is
// full) and writes *chain.entry into the directory, so the chain and its entry never
// disagree after a crash.
ItemPointerData chain_append_logged(Relation index, const ChainRef& chain, const void* item,
                                    Size size, DirectorySlot directory);

// Stores a raw vector as one or more chunks (vector_layout); returns the place of the first.
// `directory` is used only when `logged`.
ItemPointerData store_vector(Relation index, const ChainRef& chain, const float* x, int dim,
                             bool logged, DirectorySlot directory);

// Stores a new row in a slot VACUUM freed in the list (a tombstoned code tuple), for
// inserts into a list whose entry counts dead rows: `tuple` (heap TID, factors and code set;
// its vector and ex places are filled in here), `ex_item` (bits > 1) and the raw vector `x`
// overwrite the old row's, in place where their layout allows, and *entry (live, dead,
// radius, tails) is written to `directory` in the same record (see rabitq_reuse.cpp).
// Returns false, having written nothing, when the list has no tombstone.
bool reuse_slot(Relation index, const RabitqMeta& meta, DirectorySlot directory,
                RabitqListEntry* entry, CodeTuple* tuple, ExItem* ex_item, const float* x);

// The directory entry of `list`: its block and index on that block.
inline BlockNumber directory_block(const RabitqMeta& meta, uint32 list) {
  return meta.directory_start + list / kEntriesPerDirectoryPage;
}
inline uint32 directory_slot(uint32 list) { return list % kEntriesPerDirectoryPage; }
inline RabitqListEntry* directory_entries(Page page) {
  return reinterpret_cast<RabitqListEntry*>(PageGetContents(page));
}

// Copies of directory entries, read under share locks: all lists, or one.
void read_list_entries(Relation index, const RabitqMeta& meta, RabitqListEntry* out);
RabitqListEntry read_list_entry(Relation index, const RabitqMeta& meta, uint32 list);

}  // namespace ruvector::pg::rabitq
