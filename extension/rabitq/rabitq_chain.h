// Appending to a list's chain of code or vector pages, and the lock that serialises the
// writers of one list (see rabitq_chain.cpp).
#pragma once

#include "extension/rabitq/rabitq_items.h"

namespace ruvector::pg::rabitq {

// Which of a list's two chains.
enum class Chain { kCodes, kVectors };

// One chain of one list: `entry` is the list's directory entry (a copy the caller owns,
// whose head and tail of `chain` the appends keep up to date).
struct ChainRef {
  RabitqListEntry* entry;
  Chain chain;
  BlockNumber& head() const {
    return chain == Chain::kVectors ? entry->vector_head : entry->code_head;
  }
  BlockNumber& tail() const {
    return chain == Chain::kVectors ? entry->vector_tail : entry->code_tail;
  }
  PageType type() const { return chain == Chain::kVectors ? kPageVectors : kPageCodes; }
};

// Where the list's entry lives on disk, for logged writes: the directory page, pinned by the
// caller and locked only inside each record (lock_entry), and the entry's index on it.
struct DirectorySlot {
  Buffer buffer;
  uint32 slot;
};

// What a write changes in its list's counters. It is applied to the entry as it stands on
// the directory page inside the write's record, never written back as a copy read earlier:
// VACUUM counts tombstones into live, dead and reuse_from at any time between the records
// of an insert (rabitq_vacuum.cpp).
struct EntryDelta {
  int32 live = 0;
  int32 dead = 0;
  float radius = 0;                             // the entry's radius rises to at least this
  BlockNumber reuse_from = InvalidBlockNumber;  // replaces the entry's unless invalid
};

// Inside a GenericXLog record: locks the directory page exclusively, registers it and
// returns the list's entry on its image, with `delta` applied. The caller unlocks
// directory.buffer after GenericXLogFinish. The directory is the last lock a writer takes
// (after its chain pages and the metapage), and nobody waits for another lock while
// holding it, except a repack, which has the index to itself.
RabitqListEntry* lock_entry(GenericXLogState* state, DirectorySlot directory,
                            const EntryDelta& delta);

// The writers of one list after CREATE INDEX (inserts, and the slot reuse within them) hold
// its list lock from before they read its entry until their last record: they append at
// its tails and take its tombstones, which only they change (a repack, the only other
// writer of chains, locks out the whole index). The lock is a heavyweight lock on a page
// tag of the index whose block number names the list, above every block an index can
// reach in practice; nothing else takes page locks on a rabitq index (pg_locks shows
// locktype "page" and, its page column being a signed int4, page -65537 + list).
constexpr BlockNumber kListLockBase = MaxBlockNumber - (kMaxLists - 1);
void lock_list(Relation index, uint32 list);
void unlock_list(Relation index, uint32 list);

// During CREATE INDEX: no WAL, no locks against other backends. Returns the item's place.
ItemPointerData chain_append_build(Relation index, const ChainRef& chain, const void* item,
                                   Size size);

// After build, under the list lock: one GenericXLog record adds the item (and a new page
// when the tail is full) and writes the chain's head and tail, and `delta`, into the
// directory entry, so that the chain and its entry never disagree after a crash. An item
// that fits on the tail page with an empty delta changes no entry: its record leaves the
// directory out, and the directory page stays unlocked.
ItemPointerData chain_append_logged(Relation index, const ChainRef& chain, const void* item,
                                    Size size, DirectorySlot directory,
                                    const EntryDelta& delta = EntryDelta());

// Stores a raw vector as one or more chunks (vector_layout); returns the place of the first.
// During CREATE INDEX, or after it (logged appends, under the list lock).
ItemPointerData store_vector_build(Relation index, const ChainRef& chain, const float* x, int dim);
ItemPointerData store_vector_logged(Relation index, const ChainRef& chain, const float* x, int dim,
                                    DirectorySlot directory);

// Stores a new row in a slot VACUUM freed in the list (a tombstoned code tuple), for
// inserts into a list whose entry counts dead rows, under the list lock: `tuple` (heap TID,
// factors and code set; its vector and ex places are filled in here), `ex_item` (bits > 1)
// and the raw vector `x` overwrite the old row's, in place where their layout allows, and
// the entry's counters (live, dead, radius, reuse_from) and tails change in the same record
// (see rabitq_reuse.cpp). Returns false, having written nothing, when the list has no
// tombstone.
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

// Copies of directory entries, read under share locks: all lists, or one. Each copy is
// consistent (writers change an entry only under the exclusive lock, in one record), and a
// chain walked from it afterwards reaches at least every row the entry counts.
void read_list_entries(Relation index, const RabitqMeta& meta, RabitqListEntry* out);
RabitqListEntry read_list_entry(Relation index, const RabitqMeta& meta, uint32 list);

}  // namespace ruvector::pg::rabitq
