// Repacking a list: VACUUM only marks dead rows as tombstones, which inserts into the same
// list reuse (rabitq_reuse.cpp). When a list has more tombstones than live rows, say after a large
// DELETE, VACUUM copies its live rows into new chains, points the list's directory entry at
// them and moves the old pages to the free list, from which appends to any list take pages
// (rabitq_free_pages.cpp). A repack reads and writes only the lists it repacks, each about
// twice its dead rows at most, so VACUUM stays proportional to what was deleted.
//
// Moving rows changes the places scans copy out of code pages, and freed pages change
// chains, so a repack needs the index to itself: it takes an AccessExclusiveLock on the
// index, as VACUUM's heap truncation does on the table, only if it can do so without
// waiting (it tries for up to kLockTimeoutMs), and it stops between lists when anyone
// queues behind it. So it needs no list lock (rabitq_chain.h): inserts, which take those,
// hold a RowExclusiveLock on the index meanwhile. What it did not repack waits for the
// next VACUUM. On a standby the lock is replayed, so standby queries on the index wait for
// (or are cancelled by) the repack as they are by a truncation.
//
// Crash safety: the new chains are named in the metapage (orphan_codes, orphan_vectors)
// by the record that allocates their first page; one record then swaps them into the
// directory entry and names the old chains there instead, which are then freed a few
// pages a record. Whenever it stops, every page is in a chain, an orphaned chain or the
// free list, and the next VACUUM frees the orphans.
#include "extension/rabitq/rabitq_repack.h"

#include <algorithm>

#include "extension/rabitq/rabitq_chain.h"
#include "extension/rabitq/rabitq_free_pages.h"

extern "C" {
#include "access/xact.h"
#include "commands/vacuum.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "utils/rel.h"
}

namespace ruvector::pg::rabitq {

namespace {

// As VACUUM_TRUNCATE_LOCK_WAIT_INTERVAL and VACUUM_TRUNCATE_LOCK_TIMEOUT in vacuumlazy.c.
constexpr long kLockRetryMs = 50;
constexpr long kLockTimeoutMs = 5000;

bool lock_for_repack(Relation index) {
  for (long waited = 0;; waited += kLockRetryMs) {
    if (ConditionalLockRelation(index, AccessExclusiveLock)) return true;
    if (waited >= kLockTimeoutMs) return false;
    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, kLockRetryMs,
                    WAIT_EVENT_VACUUM_TRUNCATE);
    ResetLatch(MyLatch);
    CHECK_FOR_INTERRUPTS();
  }
}

bool worth_repacking(const RabitqListEntry& entry) { return entry.dead > entry.live; }

// A chain being written. The page being filled is an image in local memory; the page
// itself is already in the chain (the record that took it linked it), pinned but not
// locked: nobody else is in the index.
struct NewChain {
  PageType type;
  BlockNumber head;
  BlockNumber tail;
  Buffer buffer;
  // A vector chunk on the image whose successor starts the next page: advance() links it.
  OffsetNumber link;
  PGAlignedBlock image;
};

NewChain* start_chain(PageType type) {
  auto* chain = static_cast<NewChain*>(palloc(sizeof(NewChain)));
  chain->type = type;
  chain->head = chain->tail = InvalidBlockNumber;
  chain->buffer = InvalidBuffer;
  chain->link = InvalidOffsetNumber;
  return chain;
}

// Takes the chain's next page and, in the same record, writes the full page before it
// with its next link (or, for the first page, names the chain in the metapage).
void advance(Relation index, NewChain* chain) {
  TakenPage taken = take_page(index, true);
  BlockNumber block = BufferGetBlockNumber(taken.page);
  GenericXLogState* state = GenericXLogStart(index);
  RabitqMeta* meta;
  register_taken_page(state, taken, chain->type, &meta);
  if (BufferIsValid(chain->buffer)) {
    Page image = chain->image.data;
    page_opaque(image)->next = block;
    if (chain->link != InvalidOffsetNumber) {
      auto* chunk =
          reinterpret_cast<VectorChunk*>(PageGetItem(image, PageGetItemId(image, chain->link)));
      chunk->next_block = block;
      chunk->next_offset = FirstOffsetNumber;
      chain->link = InvalidOffsetNumber;
    }
    LockBuffer(chain->buffer, BUFFER_LOCK_EXCLUSIVE);
    memcpy(GenericXLogRegisterBuffer(state, chain->buffer, 0), image, BLCKSZ);
  } else {
    (chain->type == kPageCodes ? meta->orphan_codes : meta->orphan_vectors) = block;
    chain->head = block;
  }
  GenericXLogFinish(state);
  if (BufferIsValid(chain->buffer)) UnlockReleaseBuffer(chain->buffer);
  LockBuffer(taken.page, BUFFER_LOCK_UNLOCK);  // keeps the pin
  UnlockReleaseBuffer(taken.meta);
  chain->buffer = taken.page;
  chain->tail = block;
  init_page(chain->image.data, chain->type);
}

// Writes the last page of the chain.
void finish_chain(Relation index, NewChain* chain) {
  if (!BufferIsValid(chain->buffer)) return;
  LockBuffer(chain->buffer, BUFFER_LOCK_EXCLUSIVE);
  GenericXLogState* state = GenericXLogStart(index);
  memcpy(GenericXLogRegisterBuffer(state, chain->buffer, 0), chain->image.data, BLCKSZ);
  GenericXLogFinish(state);
  UnlockReleaseBuffer(chain->buffer);
  chain->buffer = InvalidBuffer;
}

ItemPointerData add(Relation index, NewChain* chain, const void* item, Size size) {
  if (!BufferIsValid(chain->buffer) || PageGetFreeSpace(chain->image.data) < MAXALIGN(size)) {
    advance(index, chain);
  }
  OffsetNumber offset = PageAddItem(chain->image.data, static_cast<Item>(const_cast<void*>(item)),
                                    size, InvalidOffsetNumber, false, false);
  if (offset == InvalidOffsetNumber) {
    elog(ERROR, "rabitq index \"%s\": failed to add an item of %zu bytes while repacking",
         RelationGetRelationName(index), size);
  }
  ItemPointerData where;
  ItemPointerSet(&where, chain->tail, offset);
  return where;
}

// Stores a raw vector as store_vector lays it out: one chunk, or chunks that each fill a
// page and link to the next, which here are written first to last.
ItemPointerData add_vector(Relation index, NewChain* chain, const float* x,
                           const VectorLayout& layout, VectorChunk* chunk) {
  if (layout.chunks > 1 && BufferIsValid(chain->buffer) &&
      PageGetMaxOffsetNumber(chain->image.data) > 0) {
    advance(index, chain);  // a full chunk needs an empty page
  }
  ItemPointerData first;
  OffsetNumber previous = InvalidOffsetNumber;
  for (int c = 0; c < layout.chunks; c++) {
    chunk->next_block = InvalidBlockNumber;
    chunk->next_offset = InvalidOffsetNumber;
    fill_chunk(layout, x, c, chunk);
    if (c > 0) {
      chain->link = previous;
      advance(index, chain);
    }
    ItemPointerData where = add(index, chain, chunk, layout.chunk_size(c));
    if (c == 0) first = where;
    previous = ItemPointerGetOffsetNumber(&where);
  }
  return first;
}

// Copies the live rows of `list` into new chains, swaps them into its directory entry and
// frees the old chains.
void repack_list(IndexVacuumInfo* info, const RabitqMeta& meta, uint32 list,
                 const RabitqListEntry& old) {
  Relation index = info->index;
  const Size tuple_size = code_tuple_size(meta.padded_dim, meta.bits);
  const Size ex_size = meta.bits > 1 ? ex_item_size(meta.padded_dim, meta.bits) : 0;
  const int dim = static_cast<int>(meta.dim);
  const bool vectors = (meta.flags & kMetaHeapRerank) == 0;
  NewChain* codes = start_chain(kPageCodes);
  NewChain* rows = start_chain(kPageVectors);
  auto* tuple = static_cast<CodeTuple*>(palloc(tuple_size));
  auto* x = static_cast<float*>(palloc(sizeof(float) * dim));
  const VectorLayout layout = vector_layout(dim);
  auto* chunk = static_cast<VectorChunk*>(palloc(layout.max_chunk_size()));
  BlockNumber nblocks = 0;  // read_page's cache
  void* ex = ex_size > 0 ? palloc(ex_size) : nullptr;

  RabitqListEntry entry = old;
  entry.live = 0;
  entry.dead = 0;
  entry.radius = 0;
  entry.reuse_from = kReuseFromHead;
  ChainWalk walk = chain_walk(old.code_head, kPageCodes);
  for (;;) {
    CHECK_FOR_INTERRUPTS();  // no cost-based sleep: others may be queued behind the lock
    Buffer buffer = walk_chain(index, &walk, BUFFER_LOCK_SHARE, info->strategy);
    if (!BufferIsValid(buffer)) break;
    Page page = BufferGetPage(buffer);
    const BlockNumber block = BufferGetBlockNumber(buffer);
    OffsetNumber max = PageGetMaxOffsetNumber(page);
    for (OffsetNumber off = FirstOffsetNumber; off <= max; off++) {
      memcpy(tuple, code_tuple_at(index, page, block, off, tuple_size), tuple_size);
      if (tuple->flags & kCodeDeleted) continue;
      if (vectors) {
        read_vector(index, tuple->vector_block, tuple->vector_offset, layout, x, &nblocks);
        ItemPointerData where = add_vector(index, rows, x, layout, chunk);
        tuple->vector_block = ItemPointerGetBlockNumber(&where);
        tuple->vector_offset = ItemPointerGetOffsetNumber(&where);
      }
      if (ex != nullptr) {
        ExRef* ref = code_ex_ref(tuple, meta.padded_dim);
        copy_ex_item(index, *ref, ex_size, ex, &nblocks);
        ItemPointerData where = add(index, rows, ex, ex_size);
        ref->block = ItemPointerGetBlockNumber(&where);
        ref->offset = ItemPointerGetOffsetNumber(&where);
      }
      add(index, codes, tuple, tuple_size);
      entry.live++;
      entry.radius = std::max(entry.radius, tuple->factors.residual_norm);
    }
    UnlockReleaseBuffer(buffer);
  }
  finish_chain(index, codes);
  finish_chain(index, rows);
  entry.code_head = codes->head;
  entry.code_tail = codes->tail;
  entry.vector_head = rows->head;
  entry.vector_tail = rows->tail;

  // The swap: the directory takes the new chains, the metapage names the old ones.
  BlockNumber dir_block = directory_block(meta, list);
  Buffer dir = read_page(index, dir_block, kPageDirectory, BUFFER_LOCK_EXCLUSIVE, nullptr);
  Buffer meta_buffer = read_page(index, kMetaBlock, kPageMeta, BUFFER_LOCK_EXCLUSIVE, nullptr);
  GenericXLogState* state = GenericXLogStart(index);
  Page dir_page = GenericXLogRegisterBuffer(state, dir, 0);
  RabitqMeta* m = meta_image(GenericXLogRegisterBuffer(state, meta_buffer, 0));
  directory_entries(dir_page)[directory_slot(list)] = entry;
  m->orphan_codes = BlockNumberIsValid(old.code_head) ? old.code_head : kNoPage;
  m->orphan_vectors = BlockNumberIsValid(old.vector_head) ? old.vector_head : kNoPage;
  GenericXLogFinish(state);
  UnlockReleaseBuffer(meta_buffer);
  UnlockReleaseBuffer(dir);

  pfree(codes);
  pfree(rows);
  pfree(tuple);
  pfree(x);
  pfree(chunk);
  if (ex != nullptr) pfree(ex);
}

}  // namespace

RepackResult repack_lists(IndexVacuumInfo* info) {
  Relation index = info->index;
  RepackResult result{0, 0, false, false};
  // What an interrupted repack left: needs no lock, since nobody else can reach it.
  result.pages_freed = free_orphans(index);

  RabitqMeta meta = read_meta(index);
  auto* entries = static_cast<RabitqListEntry*>(palloc(sizeof(RabitqListEntry) * meta.lists));
  read_list_entries(index, meta, entries);
  bool any = std::any_of(entries, entries + meta.lists, worth_repacking);
  if (!any) {
    pfree(entries);
    return result;
  }
  // The lock must reach standbys, and the record that tells them takes a transaction id,
  // which a parallel VACUUM cannot assign: it stays in parallel mode (even in the leader,
  // which cleans this index up) until after index cleanup. Heap truncation, which needs
  // the same, comes after parallel mode ends; nothing of an index AM's does.
  if (IsInParallelMode()) {
    result.in_parallel = true;
    pfree(entries);
    return result;
  }
  if (!lock_for_repack(index)) {
    result.locked_out = true;
    pfree(entries);
    return result;
  }
  // Inserts may have reused tombstones before the lock was granted: read the entries again.
  read_list_entries(index, meta, entries);
  // The lists with the fewest live rows first: a list all tombstones needs no new page and
  // frees all of its own, so that later lists' new chains take freed pages, and a repack
  // grows the file only by what the first lists with live rows need.
  auto* order = static_cast<uint32*>(palloc(sizeof(uint32) * meta.lists));
  uint32 n = 0;
  for (uint32 list = 0; list < meta.lists; list++) {
    if (worth_repacking(entries[list])) order[n++] = list;
  }
  std::stable_sort(order, order + n,
                   [&](uint32 a, uint32 b) { return entries[a].live < entries[b].live; });
  for (uint32 i = 0; i < n; i++) {
    if (result.lists > 0 && LockHasWaitersRelation(index, AccessExclusiveLock)) break;
    repack_list(info, meta, order[i], entries[order[i]]);
    result.pages_freed += free_orphans(index);
    result.lists++;
  }
  pfree(order);
  UnlockRelation(index, AccessExclusiveLock);
  pfree(entries);
  return result;
}

}  // namespace ruvector::pg::rabitq
