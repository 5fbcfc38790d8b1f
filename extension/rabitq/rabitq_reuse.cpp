// Reusing the slots of rows VACUUM removed. VACUUM only marks a dead row's code tuple as a
// tombstone; an insert into a list with tombstones (entry.dead > 0) overwrites one in place:
// the code tuple, and, where their layout allows, the row's raw vector chunks and ex item,
// so that steady DELETE + INSERT churn does not grow the index.
//
// Concurrency. Inserts into a list are serialised by the exclusive lock of its directory
// page, which is held throughout; only its holder clears a tombstone or rewrites an item in
// place, and nobody moves items, so what this file reads of a tombstone and its items stays
// true until it writes them. Locks are taken directory, then code page, then vector pages
// (the order of appends); scans and VACUUM never hold more than one index page at a time,
// so no lock cycle can form. Scans copy a candidate (heap TID, vector and ex item places)
// from a code page and read its vector later: a scan that copied a row before VACUUM
// tombstoned it may rerank it with the vector (and refine it with the ex item) of the row
// now in its slot. That is harmless: VACUUM tombstones only rows dead to every snapshot,
// so the executor's heap fetch (or read_heap_vector's) finds the old TID invisible and
// skips it, whatever its distance. The reused items keep their size, chunk counts and next
// links, so read_vector never sees a malformed vector. All pages of a reuse change in one
// GenericXLog record: after a crash a live code tuple never points at a half-written vector.
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

struct ChunkPlace {
  BlockNumber block;
  OffsetNumber offset;
  int count;
};

// The first tombstone of the right size on a code page, or InvalidOffsetNumber.
OffsetNumber find_tombstone(Page page, Size tuple_size) {
  OffsetNumber max = PageGetMaxOffsetNumber(page);
  for (OffsetNumber off = FirstOffsetNumber; off <= max; off++) {
    ItemId id = PageGetItemId(page, off);
    if (!ItemIdIsNormal(id) || ItemIdGetLength(id) != tuple_size) continue;
    if (reinterpret_cast<CodeTuple*>(PageGetItem(page, id))->flags & kCodeDeleted) return off;
  }
  return InvalidOffsetNumber;
}

// Searches the code chain from `from` to its end, or up to `stop`, for a tombstone; returns
// its page, exclusively locked, and its offset, or InvalidBuffer. Pages are searched under
// share locks, so that the walk does not hold up scans; the page to be written is then
// locked exclusively and searched again.
Buffer search_chain(Relation index, BlockNumber from, BlockNumber stop, Size tuple_size,
                    OffsetNumber* offset) {
  for (BlockNumber block = from; BlockNumberIsValid(block) && block != stop;) {
    Buffer buffer = ReadBuffer(index, block);
    LockBuffer(buffer, BUFFER_LOCK_SHARE);
    Page page = BufferGetPage(buffer);
    check_page(page, block, kPageCodes, index);
    if (find_tombstone(page, tuple_size) != InvalidOffsetNumber) {
      LockBuffer(buffer, BUFFER_LOCK_UNLOCK);
      LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
      *offset = find_tombstone(page, tuple_size);
      if (*offset != InvalidOffsetNumber) return buffer;
    }
    block = page_opaque(page)->next;
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

// Whether (block, offset) is an item of exactly `size` bytes on a vector page; its first
// `copy` bytes are copied to `out` (a chunk's header).
bool vector_item(Relation index, BlockNumber block, OffsetNumber offset, Size size, void* out,
                 Size copy) {
  if (!BlockNumberIsValid(block)) return false;
  Buffer buffer = ReadBuffer(index, block);
  LockBuffer(buffer, BUFFER_LOCK_SHARE);
  Page page = BufferGetPage(buffer);
  check_page(page, block, kPageVectors, index);
  bool ok = offset >= FirstOffsetNumber && offset <= PageGetMaxOffsetNumber(page);
  if (ok) {
    ItemId id = PageGetItemId(page, offset);
    ok = ItemIdIsNormal(id) && ItemIdGetLength(id) == size;
    if (ok && copy > 0) memcpy(out, PageGetItem(page, id), copy);
  }
  UnlockReleaseBuffer(buffer);
  return ok;
}

// The chunks of the old row's vector when they are laid out exactly as store_vector lays out
// `dim` floats, on at most max_pages pages; else 0. They can then take the new vector.
int old_vector_chunks(Relation index, BlockNumber block, OffsetNumber offset, int dim,
                      int max_pages, ChunkPlace* places) {
  const int per_chunk = vector_chunk_floats();
  const int chunks = (dim + per_chunk - 1) / per_chunk;
  if (chunks > max_pages) return 0;  // every chunk but the last fills a page
  for (int c = 0; c < chunks; c++) {
    int count = std::min(per_chunk, dim - c * per_chunk);
    VectorChunk header;
    if (!vector_item(index, block, offset, offsetof(VectorChunk, x) + sizeof(float) * count,
                     &header, offsetof(VectorChunk, x)) ||
        header.count != count) {
      return 0;
    }
    places[c] = ChunkPlace{block, offset, count};
    block = header.next_block;
    offset = header.next_offset;
  }
  return BlockNumberIsValid(block) ? 0 : chunks;
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
  const auto* old = reinterpret_cast<const CodeTuple*>(
      PageGetItem(BufferGetPage(code), PageGetItemId(BufferGetPage(code), code_offset)));
  ExRef old_ex{InvalidBlockNumber, InvalidOffsetNumber, 0};
  if (meta.bits > 1) old_ex = *code_ex_ref(const_cast<CodeTuple*>(old), meta.padded_dim);

  // Pages of the record beside the directory and code page: the vector's first, since it
  // is the bigger item to lose; the ex item's if there is room left.
  BlockNumber blocks[MAX_GENERIC_XLOG_PAGES];
  int nblocks = 0;
  ChunkPlace chunks[kMaxPagesInPlace];
  int nchunks = 0;
  const bool vectors = (meta.flags & kMetaHeapRerank) == 0;
  if (vectors) {
    nchunks = old_vector_chunks(index, old->vector_block, old->vector_offset, dim, kMaxPagesInPlace,
                                chunks);
    for (int c = 0; c < nchunks; c++) add_block(blocks, &nblocks, chunks[c].block);
  }
  bool ex_in_place = false;
  if (meta.bits > 1) {
    ex_in_place = vector_item(index, old_ex.block, old_ex.offset, ex_size, nullptr, 0);
    if (ex_in_place) {
      add_block(blocks, &nblocks, old_ex.block);
      if (nblocks > kMaxPagesInPlace) {
        nblocks--;
        ex_in_place = false;
      }
    }
  }

  // What cannot be rewritten in place is appended first, each in its own record: a crash
  // before the reuse's record leaves those items unreferenced and the tombstone as it was.
  // The code page stays locked (directory, code, vector pages: the order of appends).
  tuple->vector_block = InvalidBlockNumber;
  tuple->vector_offset = InvalidOffsetNumber;
  if (vectors) {
    ItemPointerData where;
    if (nchunks > 0) {
      ItemPointerSet(&where, chunks[0].block, chunks[0].offset);
    } else {
      where = store_vector(index, ChainRef{entry, true}, x, dim, true, directory);
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
          chain_append_logged(index, ChainRef{entry, true}, ex_item, ex_size, directory);
      ref->block = ItemPointerGetBlockNumber(&where);
      ref->offset = ItemPointerGetOffsetNumber(&where);
      ref->unused = 0;
    }
  }
  entry->dead--;
  entry->live++;
  entry->reuse_from = BufferGetBlockNumber(code);
  entry->radius = std::max(entry->radius, tuple->factors.residual_norm);

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
  Page dir_page = GenericXLogRegisterBuffer(state, directory.buffer, 0);
  Page code_page = GenericXLogRegisterBuffer(state, code, 0);
  memcpy(PageGetItem(code_page, PageGetItemId(code_page, code_offset)), tuple, tuple_size);
  for (int c = 0; c < nchunks; c++) {
    Page page = page_of(state, chunks[c].block);
    auto* chunk =
        reinterpret_cast<VectorChunk*>(PageGetItem(page, PageGetItemId(page, chunks[c].offset)));
    memcpy(chunk->x, x + static_cast<Size>(c) * vector_chunk_floats(),
           sizeof(float) * chunks[c].count);
  }
  if (ex_in_place) {
    Page page = page_of(state, old_ex.block);
    memcpy(PageGetItem(page, PageGetItemId(page, old_ex.offset)), ex_item, ex_size);
  }
  directory_entries(dir_page)[directory.slot] = *entry;
  GenericXLogFinish(state);
  for (int i = 0; i < nblocks; i++) UnlockReleaseBuffer(buffers[i]);
  UnlockReleaseBuffer(code);
  return true;
}

}  // namespace ruvector::pg::rabitq
