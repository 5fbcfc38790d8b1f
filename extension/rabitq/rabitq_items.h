// Checked access to the pages and items of a rabitq index. Every page a chain walk or an
// item reference leads to, and every code tuple, ex item and vector chunk, is read through
// here: a damaged index (a line pointer out of the page, an item of the wrong length, a link
// past the end of the file or to a page of another type, a cycle) raises
// ERRCODE_INDEX_CORRUPTED naming the index and the place, never a read outside the page.
// The checks are inline integer compares; the reports are out of line.
#pragma once

#include "extension/rabitq/rabitq.h"

namespace ruvector::pg::rabitq {

struct RecentBuffers;

[[noreturn]] void report_bad_item(Relation index, BlockNumber block, OffsetNumber offset);

// The item at `offset` of a checked page (check_page) when its line pointer is in use, lies
// between pd_upper and the special space, MAXALIGNed, and is min to max bytes long; else
// an index-corrupted error.
inline char* item_at(Relation index, Page page, BlockNumber block, OffsetNumber offset, Size min,
                     Size max) {
  const auto* header = reinterpret_cast<const PageHeaderData*>(page);
  if (likely(offset >= FirstOffsetNumber && offset <= PageGetMaxOffsetNumber(page))) {
    ItemId id = PageGetItemId(page, offset);
    const Size at = ItemIdGetOffset(id);
    const Size length = ItemIdGetLength(id);
    if (likely(ItemIdIsNormal(id) && length >= min && length <= max && at >= header->pd_upper &&
               at + length <= kSpecialOffset && (at & (MAXIMUM_ALIGNOF - 1)) == 0)) {
      return page + at;
    }
  }
  report_bad_item(index, block, offset);
}

// A code tuple: exactly code_tuple_size() bytes.
inline CodeTuple* code_tuple_at(Relation index, Page page, BlockNumber block, OffsetNumber offset,
                                Size tuple_size) {
  return reinterpret_cast<CodeTuple*>(item_at(index, page, block, offset, tuple_size, tuple_size));
}

// An ex item: exactly ex_item_size() bytes.
inline ExItem* ex_item_at(Relation index, Page page, BlockNumber block, OffsetNumber offset,
                          Size ex_size) {
  return reinterpret_cast<ExItem*>(item_at(index, page, block, offset, ex_size, ex_size));
}

// Reads `block`, locks it in `mode` (BUFFER_LOCK_SHARE or BUFFER_LOCK_EXCLUSIVE) and checks
// that it is an index page of `type`. A block that a link on a page names is checked against
// *nblocks, a cache of the index's size (0: not read yet), which is looked up again before
// the block is reported, since the file grows; nblocks is null for a block that the checked
// metapage places (it, the centroids and the directory), which costs no size lookup.
// With `recent` the block is pinned through it (see rabitq_recent.h), without a strategy.
Buffer read_page(Relation index, BlockNumber block, PageType type, int mode, BlockNumber* nblocks,
                 BufferAccessStrategy strategy = nullptr, RecentBuffers* recent = nullptr);

// A walk along one chain of pages linked by opaque->next: each link is checked by
// read_page, and a walk that reads more pages than the index has (a cycle) is reported.
struct ChainWalk {
  BlockNumber next;  // the page to read next; InvalidBlockNumber at the end
  PageType type;
  uint32 pages;           // pages read so far
  BlockNumber nblocks;    // read_page's cache
  RecentBuffers* recent;  // read_page's, or null
};
inline ChainWalk chain_walk(BlockNumber head, PageType type, BlockNumber nblocks = 0,
                            RecentBuffers* recent = nullptr) {
  return ChainWalk{head, type, 0, nblocks, recent};
}
// Reads, locks and checks the walk's next page and steps past it (walk->next is its link);
// InvalidBuffer at the end of the chain.
Buffer walk_chain(Relation index, ChainWalk* walk, int mode,
                  BufferAccessStrategy strategy = nullptr);

// How a raw vector is stored on vector pages: one chunk when it fits on a page, else chunks
// that each fill a page but the last, linked first to last. The only place that knows it:
// store_vector and the repack's add_vector split vectors with it, read_vector and the
// reuse's in-place check follow it.
struct VectorLayout {
  int dim;
  int per_chunk;  // floats in every chunk but the last
  int chunks;
  int count(int c) const { return c < chunks - 1 ? per_chunk : dim - c * per_chunk; }
  Size chunk_size(int c) const { return offsetof(VectorChunk, x) + sizeof(float) * count(c); }
  // The largest chunk, for a buffer that takes any of them.
  Size max_chunk_size() const { return chunk_size(0); }
};
VectorLayout vector_layout(int dim);

// Fills `chunk` (max_chunk_size() bytes) with chunk c of x; its link is left unset.
void fill_chunk(const VectorLayout& layout, const float* x, int c, VectorChunk* chunk);

struct ChunkPlace {
  BlockNumber block;
  OffsetNumber offset;
  int count;
};

// Copies the ex item at `ref` (ex_size bytes, checked) into `out`, or only checks it when
// `out` is null.
void copy_ex_item(Relation index, const ExRef& ref, Size ex_size, void* out, BlockNumber* nblocks);

// Reads the vector whose first chunk is at (block, offset) into `out` (dim floats); each
// chunk is checked, and the chunks must add up to exactly dim floats.
void read_vector(Relation index, BlockNumber block, OffsetNumber offset, const VectorLayout& layout,
                 float* out, BlockNumber* nblocks);

// The places of a stored vector's chunks when they are laid out exactly as `layout` says, on
// at most max_chunks pages; else 0. Checks each chunk as read_vector does.
int vector_chunk_places(Relation index, BlockNumber block, OffsetNumber offset,
                        const VectorLayout& layout, int max_chunks, ChunkPlace* places,
                        BlockNumber* nblocks);

}  // namespace ruvector::pg::rabitq
