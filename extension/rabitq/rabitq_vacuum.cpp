// VACUUM of a rabitq index: bulk delete marks the code tuples of dead heap rows as
// deleted (tombstones) page by page, reading only the small code pages, then counts them in
// the list's directory entry; inserts into the list reuse those slots (rabitq_reuse.cpp).
// Cleanup repacks lists that are mostly tombstones (rabitq_repack.cpp) and reports the
// index's size and free pages.
//
// Bulk delete takes no list lock (rabitq_chain.h), so that it neither waits for nor holds
// up inserts: it only sets a flag in code tuples, under each code page's exclusive lock, and
// adds to live and dead in the directory entry as it stands, under the directory's. Inserts
// apply their own changes to the entry the same way (EntryDelta), so neither loses the
// other's. Since VACUUM marks before it counts, an entry never counts more tombstones than
// its chain holds, and an insert that reads dead > 0 under the list lock finds one.
#include "extension/rabitq/rabitq.h"

#include <algorithm>

#include "extension/rabitq/rabitq_chain.h"
#include "extension/rabitq/rabitq_items.h"
#include "extension/rabitq/rabitq_repack.h"

extern "C" {
#include "commands/vacuum.h"
#include "utils/rel.h"
}

namespace ruvector::pg::rabitq {

namespace {

// Marks the dead rows of one list; returns how many it marked and counts live ones.
uint32 vacuum_list(Relation index, const RabitqListEntry& entry, Size tuple_size,
                   IndexBulkDeleteCallback callback, void* callback_state,
                   BufferAccessStrategy strategy, double* live) {
  uint32 removed = 0;
  OffsetNumber* dead = static_cast<OffsetNumber*>(palloc(sizeof(OffsetNumber) * MaxOffsetNumber));
  ChainWalk walk = chain_walk(entry.code_head, kPageCodes);
  for (;;) {
    vacuum_delay_point();
    Buffer buffer = walk_chain(index, &walk, BUFFER_LOCK_EXCLUSIVE, strategy);
    if (!BufferIsValid(buffer)) break;
    Page page = BufferGetPage(buffer);
    const BlockNumber block = BufferGetBlockNumber(buffer);
    int ndead = 0;
    OffsetNumber max = PageGetMaxOffsetNumber(page);
    for (OffsetNumber off = FirstOffsetNumber; off <= max; off++) {
      CodeTuple* t = code_tuple_at(index, page, block, off, tuple_size);
      if (t->flags & kCodeDeleted) continue;
      if (callback(&t->heap_tid, callback_state)) {
        dead[ndead++] = off;
      } else {
        *live += 1;
      }
    }
    if (ndead > 0) {
      GenericXLogState* state = GenericXLogStart(index);
      Page copy = GenericXLogRegisterBuffer(state, buffer, 0);
      for (int i = 0; i < ndead; i++) {
        auto* t = reinterpret_cast<CodeTuple*>(PageGetItem(copy, PageGetItemId(copy, dead[i])));
        t->flags |= kCodeDeleted;
      }
      GenericXLogFinish(state);
      removed += ndead;
    }
    UnlockReleaseBuffer(buffer);
  }
  pfree(dead);
  return removed;
}

void record_removed(Relation index, const RabitqMeta& meta, uint32 list, uint32 removed) {
  BlockNumber block = directory_block(meta, list);
  Buffer buffer = read_page(index, block, kPageDirectory, BUFFER_LOCK_EXCLUSIVE, nullptr);
  GenericXLogState* state = GenericXLogStart(index);
  Page page = GenericXLogRegisterBuffer(state, buffer, 0);
  RabitqListEntry* entry = &directory_entries(page)[directory_slot(list)];
  entry->live = entry->live >= removed ? entry->live - removed : 0;
  entry->dead += removed;
  entry->reuse_from = kReuseFromHead;  // tombstones may now precede where inserts look first
  GenericXLogFinish(state);
  UnlockReleaseBuffer(buffer);
}

}  // namespace

IndexBulkDeleteResult* bulk_delete(IndexVacuumInfo* info, IndexBulkDeleteResult* stats,
                                   IndexBulkDeleteCallback callback, void* callback_state) {
  Relation index = info->index;
  if (stats == nullptr) {
    stats = static_cast<IndexBulkDeleteResult*>(palloc0(sizeof(IndexBulkDeleteResult)));
  }
  RabitqMeta meta = read_meta(index);
  double live = 0;
  for (uint32 list = 0; list < meta.lists; list++) {
    RabitqListEntry entry = read_list_entry(index, meta, list);
    // Rows appended (or stored in reused slots) after this point were inserted by live
    // transactions: not our business. Tombstones are marked before they are counted, so
    // that an insert that finds the count above zero always finds a tombstone.
    uint32 removed = vacuum_list(index, entry, code_tuple_size(meta.padded_dim, meta.bits),
                                 callback, callback_state, info->strategy, &live);
    if (removed > 0) record_removed(index, meta, list, removed);
    stats->tuples_removed += removed;
  }
  stats->num_index_tuples = live;
  stats->num_pages = RelationGetNumberOfBlocks(index);
  return stats;
}

IndexBulkDeleteResult* vacuum_cleanup(IndexVacuumInfo* info, IndexBulkDeleteResult* stats) {
  if (info->analyze_only) return stats;
  Relation index = info->index;
  if (stats == nullptr) {
    // No bulk delete ran: report the live rows the directory counts.
    stats = static_cast<IndexBulkDeleteResult*>(palloc0(sizeof(IndexBulkDeleteResult)));
    RabitqMeta meta = read_meta(index);
    auto* entries = static_cast<RabitqListEntry*>(palloc(sizeof(RabitqListEntry) * meta.lists));
    read_list_entries(index, meta, entries);
    double live = 0;
    for (uint32 i = 0; i < meta.lists; i++) live += entries[i].live;
    pfree(entries);
    stats->num_index_tuples = live;
    stats->estimated_count = false;
  }
  RepackResult repack = repack_lists(info);
  if (repack.lists > 0 || repack.pages_freed > 0) {
    ereport(info->message_level,
            (errmsg("rabitq index \"%s\": repacked %u lists, freed %u pages",
                    RelationGetRelationName(index), repack.lists, repack.pages_freed)));
  }
  // VACUUM's own message_level is DEBUG2 whether VERBOSE or not (the pages freed appear in
  // VERBOSE's summary as newly deleted), but a repack left undone is for the user to know.
  if (repack.locked_out) {
    ereport(NOTICE, (errmsg("rabitq index \"%s\": lists not repacked: the index is in use",
                            RelationGetRelationName(index)),
                     errdetail("The next VACUUM tries again.")));
  }
  // In a parallel VACUUM message_level is DEBUG2 even with VERBOSE: the worker logs.
  if (repack.in_parallel && !start_repack_worker(index)) {
    ereport(WARNING,
            (errmsg("rabitq index \"%s\": could not start a worker to repack its lists",
                    RelationGetRelationName(index)),
             errhint("Raise max_worker_processes, or run VACUUM (PARALLEL 0) on the table.")));
  }
  RabitqMeta meta = read_meta(index);
  stats->num_pages = RelationGetNumberOfBlocks(index);
  stats->pages_newly_deleted = repack.pages_freed;
  stats->pages_deleted = meta.free_pages;
  stats->pages_free = meta.free_pages;
  return stats;
}

}  // namespace ruvector::pg::rabitq
