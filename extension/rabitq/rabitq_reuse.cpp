// Reusing the slots of rows VACUUM removed. VACUUM only marks a dead row's code tuple as a
// tombstone; an insert into a list with tombstones (entry.dead > 0) overwrites one in place:
// the code tuple, and, where their layout allows, the row's raw vector chunks and ex item,
// so that steady DELETE + INSERT churn does not grow the index.
//
// Concurrency. The writers of a list are serialised by its list lock (rabitq_chain.h), held
// throughout; only its holder clears a tombstone or rewrites an item in place, and nobody
// moves items, so what this file reads of a tombstone and its items stays true until it
// writes them. VACUUM may mark more tombstones meanwhile (under the code page's lock) and
// count them into the entry (under the directory's), so the reuse's record applies its
// change to the counters (rabitq_chain.h: EntryDelta) to the entry as it then is. Locks are
// taken code page, then vector pages, then the metapage (the order of appends), then the
// directory, which its holders never wait on another lock under; scans and VACUUM never hold
// more than one index page at a time, so no lock cycle can form. Scans copy a candidate
// (heap TID, vector and ex item places) from a code page and read its vector later: a scan
// that copied a row before VACUUM tombstoned it may rerank it with the vector (and refine it
// with the ex item) of the row now in its slot. That is harmless: VACUUM tombstones only
// rows dead to every snapshot, so the executor's heap fetch (or the heap rerank's) finds the
// old TID invisible and skips it, whatever its distance. The reused items keep their size,
// chunk counts and next links, so read_vector never sees a malformed vector. All pages of a
// reuse change in one GenericXLog record: after a crash a live code tuple never points at a
// half-written vector.
#include "extension/rabitq/rabitq_chain.h"

#include <algorithm>

extern "C" {
#include "utils/rel.h"
}

namespace ruvector::pg::rabitq {

namespace {

// A vector rewritten in place has all its chunk pages in the reuse's record, beside the
// directory and the code page. Wider vectors are appended anew (their old chunks are lost).
constexpr int kMaxPagesInPlace = MAX_GENERIC_XLOG_PAGES - 2;

// The first tombstone on a code page, or InvalidOffsetNumber.
OffsetNumber find_tombstone(Relation index, Page page, BlockNumber block, Size tuple_size) {
  OffsetNumber max = PageGetMaxOffsetNumber(page);
  for (OffsetNumber off = FirstOffsetNumber; off <= max; off++) {
    if (code_tuple_at(index, page, block, off, tuple_size)->flags & kCodeDeleted) return off;
  }
  return InvalidOffsetNumber;
}

// Searches the code chain from `from` to its end, or up to `stop`, for a tombstone; returns
// its page, exclusively locked, and its offset, or InvalidBuffer. Pages are searched under
// share locks, so that the walk does not hold up scans; the page to be written is then
// locked exclusively and searched again.
Buffer search_chain(Relation index, BlockNumber from, BlockNumber stop, Size tuple_size,
                    OffsetNumber* offset) {
  ChainWalk walk = chain_walk(from, kPageCodes);
  while (walk.next != stop) {
    Buffer buffer = walk_chain(index, &walk, BUFFER_LOCK_SHARE);
    if (!BufferIsValid(buffer)) break;
    Page page = BufferGetPage(buffer);
    const BlockNumber block = BufferGetBlockNumber(buffer);
    if (find_tombstone(index, page, block, tuple_size) != InvalidOffsetNumber) {
      LockBuffer(buffer, BUFFER_LOCK_UNLOCK);
      LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
      *offset = find_tombstone(index, page, block, tuple_size);
      if (*offset != InvalidOffsetNumber) return buffer;
    }
    UnlockReleaseBuffer(buffer);
  }
  return InvalidBuffer;
}

// A tombstone of the list, its page exclusively locked, or InvalidBuffer. The search starts
// where the last reuse found one: inserts use up a list's tombstones in chain order, so a
// run of inserts reads each code page about once instead of walking the pages it has
// already filled again and again. VACUUM sends the search back to the head, and a search
// that finds nothing from its start goes on from the head: the hint never hides a tombstone.
Buffer lock_tombstone(Relation index, const RabitqListEntry& entry, Size tuple_size,
                      OffsetNumber* offset) {
  BlockNumber from = entry.reuse_from == kReuseFromHead ? entry.code_head : entry.reuse_from;
  Buffer buffer = search_chain(index, from, InvalidBlockNumber, tuple_size, offset);
  if (!BufferIsValid(buffer) && from != entry.code_head) {
    buffer = search_chain(index, entry.code_head, from, tuple_size, offset);
  }
  return buffer;
}

// Adds `block` to the distinct blocks of the record unless it is there already.
void add_block(BlockNumber* blocks, int* n, BlockNumber block) {
  if (std::find(blocks, blocks + *n, block) == blocks + *n) blocks[(*n)++] = block;
}

}  // namespace

bool reuse_slot(Relation index, const RabitqMeta& meta, DirectorySlot directory,
                RabitqListEntry* entry, CodeTuple* tuple, ExItem* ex_item, const float* x) {
  const Size tuple_size = code_tuple_size(meta.padded_dim, meta.bits);
  const Size ex_size = meta.bits > 1 ? ex_item_size(meta.padded_dim, meta.bits) : 0;
  const int dim = static_cast<int>(meta.dim);
  OffsetNumber code_offset;
  Buffer code = lock_tombstone(index, *entry, tuple_size, &code_offset);
  if (!BufferIsValid(code)) return false;  // dead counts more than there are: append
  const CodeTuple* old = code_tuple_at(index, BufferGetPage(code), BufferGetBlockNumber(code),
                                       code_offset, tuple_size);
  ExRef old_ex{InvalidBlockNumber, InvalidOffsetNumber, 0};
  if (meta.bits > 1) old_ex = *code_ex_ref(old, meta.padded_dim);
  BlockNumber index_blocks = 0;  // read_page's cache
  const VectorLayout layout = vector_layout(dim);

  // Pages of the record beside the directory and code page: the vector's first, since it
  // is the bigger item to lose; the ex item's if there is room left.
  BlockNumber blocks[MAX_GENERIC_XLOG_PAGES];
  int nblocks = 0;
  ChunkPlace chunks[kMaxPagesInPlace];
  int nchunks = 0;
  const bool vectors = (meta.flags & kMetaHeapRerank) == 0;
  if (vectors) {
    nchunks = vector_chunk_places(index, old->vector_block, old->vector_offset, layout,
                                  kMaxPagesInPlace, chunks, &index_blocks);
    for (int c = 0; c < nchunks; c++) add_block(blocks, &nblocks, chunks[c].block);
  }
  bool ex_in_place = false;
  if (meta.bits > 1) {
    copy_ex_item(index, old_ex, ex_size, nullptr, &index_blocks);  // checks it
    add_block(blocks, &nblocks, old_ex.block);
    ex_in_place = true;
    if (nblocks > kMaxPagesInPlace) {
      nblocks--;
      ex_in_place = false;
    }
  }

  // What cannot be rewritten in place is appended first, each in its own record: a crash
  // before the reuse's record leaves those items unreferenced and the tombstone as it was.
  // The code page stays locked (code, vector pages: the order of appends).
  tuple->vector_block = InvalidBlockNumber;
  tuple->vector_offset = InvalidOffsetNumber;
  if (vectors) {
    ItemPointerData where;
    if (nchunks > 0) {
      ItemPointerSet(&where, chunks[0].block, chunks[0].offset);
    } else {
      where = store_vector_logged(index, ChainRef{entry, Chain::kVectors}, x, dim, directory);
    }
    tuple->vector_block = ItemPointerGetBlockNumber(&where);
    tuple->vector_offset = ItemPointerGetOffsetNumber(&where);
  }
  if (meta.bits > 1) {
    ExRef* ref = code_ex_ref(tuple, meta.padded_dim);
    if (ex_in_place) {
      *ref = old_ex;
    } else {
      ItemPointerData where =
          chain_append_logged(index, ChainRef{entry, Chain::kVectors}, ex_item, ex_size, directory);
      ref->block = ItemPointerGetBlockNumber(&where);
      ref->offset = ItemPointerGetOffsetNumber(&where);
      ref->unused = 0;
    }
  }
  EntryDelta reused;
  reused.live = 1;
  reused.dead = -1;
  reused.radius = tuple->factors.residual_norm;
  reused.reuse_from = BufferGetBlockNumber(code);

  Buffer buffers[MAX_GENERIC_XLOG_PAGES];
  for (int i = 0; i < nblocks; i++) {
    buffers[i] = ReadBuffer(index, blocks[i]);
    LockBuffer(buffers[i], BUFFER_LOCK_EXCLUSIVE);
  }
  auto page_of = [&](GenericXLogState* state, BlockNumber block) {
    int i = static_cast<int>(std::find(blocks, blocks + nblocks, block) - blocks);
    return GenericXLogRegisterBuffer(state, buffers[i], 0);  // the same image when repeated
  };
  GenericXLogState* state = GenericXLogStart(index);
  Page code_page = GenericXLogRegisterBuffer(state, code, 0);
  memcpy(PageGetItem(code_page, PageGetItemId(code_page, code_offset)), tuple, tuple_size);
  for (int c = 0; c < nchunks; c++) {
    Page page = page_of(state, chunks[c].block);
    auto* chunk =
        reinterpret_cast<VectorChunk*>(PageGetItem(page, PageGetItemId(page, chunks[c].offset)));
    memcpy(chunk->x, x + static_cast<Size>(c) * layout.per_chunk, sizeof(float) * chunks[c].count);
  }
  if (ex_in_place) {
    Page page = page_of(state, old_ex.block);
    memcpy(PageGetItem(page, PageGetItemId(page, old_ex.offset)), ex_item, ex_size);
  }
  lock_entry(state, directory, reused);
  GenericXLogFinish(state);
  LockBuffer(directory.buffer, BUFFER_LOCK_UNLOCK);
  for (int i = 0; i < nblocks; i++) UnlockReleaseBuffer(buffers[i]);
  UnlockReleaseBuffer(code);
  return true;
}

}  // namespace ruvector::pg::rabitq
