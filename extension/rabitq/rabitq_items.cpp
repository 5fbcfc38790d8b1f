// Checked pages, chain walks and vector chunks of a rabitq index (see rabitq_items.h).
#include "extension/rabitq/rabitq_items.h"
#include "extension/rabitq/rabitq_recent.h"

#include <algorithm>

extern "C" {
#include "utils/rel.h"
}

namespace ruvector::pg::rabitq {

namespace {

[[noreturn]] void report_bad_link(Relation index, BlockNumber block, BlockNumber nblocks) {
  ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                  errmsg("rabitq index \"%s\" links to block %u past its end (%u blocks)",
                         RelationGetRelationName(index), block, nblocks),
                  errhint("REINDEX the index.")));
  pg_unreachable();
}

[[noreturn]] void report_cycle(Relation index, BlockNumber block) {
  ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                  errmsg("rabitq index \"%s\" has a cycle in a chain of pages at block %u",
                         RelationGetRelationName(index), block),
                  errhint("REINDEX the index.")));
  pg_unreachable();
}

// The chunk at (block, offset) of a checked vector page, holding 1 to `room` floats.
const VectorChunk* chunk_at(Relation index, Page page, BlockNumber block, OffsetNumber offset,
                            int room) {
  const Size header = offsetof(VectorChunk, x);
  const auto* chunk = reinterpret_cast<const VectorChunk*>(
      item_at(index, page, block, offset, header + sizeof(float), kMaxItemSize));
  if (unlikely(chunk->count < 1 || chunk->count > room ||
               ItemIdGetLength(PageGetItemId(page, offset)) !=
                   header + sizeof(float) * chunk->count)) {
    report_bad_item(index, block, offset);
  }
  return chunk;
}

// Follows a vector's chunks: copies them to `out` when given, records their places in
// `places` when given (up to max_places; returns 0 past that or when a chunk is not where
// `layout` puts it). Returns the number of chunks.
int follow_vector(Relation index, BlockNumber block, OffsetNumber offset,
                  const VectorLayout& layout, float* out, ChunkPlace* places, int max_places,
                  BlockNumber* nblocks) {
  int filled = 0, c = 0;
  const BlockNumber first = block;
  while (BlockNumberIsValid(block)) {
    Buffer buffer = read_page(index, block, kPageVectors, BUFFER_LOCK_SHARE, nblocks);
    const VectorChunk* chunk =
        chunk_at(index, BufferGetPage(buffer), block, offset, layout.dim - filled);
    const int count = chunk->count;
    if (out != nullptr) memcpy(out + filled, chunk->x, sizeof(float) * count);
    BlockNumber next_block = chunk->next_block;
    OffsetNumber next_offset = chunk->next_offset;
    UnlockReleaseBuffer(buffer);
    if (places != nullptr) {
      if (c >= max_places || c >= layout.chunks || count != layout.count(c)) return 0;
      places[c] = ChunkPlace{block, offset, count};
    }
    filled += count;
    c++;
    block = next_block;
    offset = next_offset;
  }
  if (filled != layout.dim) {
    ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                    errmsg("rabitq index \"%s\": the vector at block %u has %d of %d dimensions",
                           RelationGetRelationName(index), first, filled, layout.dim),
                    errhint("REINDEX the index.")));
  }
  return c;
}

}  // namespace

void report_bad_item(Relation index, BlockNumber block, OffsetNumber offset) {
  ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                  errmsg("index \"%s\" contains a corrupted item at block %u, offset %u",
                         RelationGetRelationName(index), block, offset),
                  errhint("REINDEX the index.")));
  pg_unreachable();
}

Buffer read_page(Relation index, BlockNumber block, PageType type, int mode, BlockNumber* nblocks,
                 BufferAccessStrategy strategy, RecentBuffers* recent) {
  if (nblocks != nullptr && unlikely(block >= *nblocks)) {
    *nblocks = RelationGetNumberOfBlocks(index);
    if (block >= *nblocks) report_bad_link(index, block, *nblocks);
  }
  Buffer buffer = recent != nullptr
                      ? pin_block(index, block, recent)
                      : ReadBufferExtended(index, MAIN_FORKNUM, block, RBM_NORMAL, strategy);
  LockBuffer(buffer, mode);
  check_page(BufferGetPage(buffer), block, type, index);
  return buffer;
}

Buffer walk_chain(Relation index, ChainWalk* walk, int mode, BufferAccessStrategy strategy) {
  const BlockNumber block = walk->next;
  if (!BlockNumberIsValid(block)) return InvalidBuffer;
  // A chain holds each page once: a walk longer than the file goes round in a cycle.
  if (unlikely(++walk->pages > walk->nblocks)) {
    walk->nblocks = RelationGetNumberOfBlocks(index);
    if (walk->pages > walk->nblocks) report_cycle(index, block);
  }
  Buffer buffer = read_page(index, block, walk->type, mode, &walk->nblocks, strategy, walk->recent);
  walk->next = page_opaque(BufferGetPage(buffer))->next;
  return buffer;
}

VectorLayout vector_layout(int dim) {
  const int per_chunk = static_cast<int>((kMaxItemSize - offsetof(VectorChunk, x)) / sizeof(float));
  return VectorLayout{dim, per_chunk, (dim + per_chunk - 1) / per_chunk};
}

void fill_chunk(const VectorLayout& layout, const float* x, int c, VectorChunk* chunk) {
  chunk->count = static_cast<uint16>(layout.count(c));
  memcpy(chunk->x, x + static_cast<Size>(c) * layout.per_chunk, sizeof(float) * chunk->count);
}

void copy_ex_item(Relation index, const ExRef& ref, Size ex_size, void* out, BlockNumber* nblocks) {
  Buffer buffer = read_page(index, ref.block, kPageVectors, BUFFER_LOCK_SHARE, nblocks);
  const ExItem* item = ex_item_at(index, BufferGetPage(buffer), ref.block, ref.offset, ex_size);
  if (out != nullptr) memcpy(out, item, ex_size);
  UnlockReleaseBuffer(buffer);
}

void read_vector(Relation index, BlockNumber block, OffsetNumber offset, const VectorLayout& layout,
                 float* out, BlockNumber* nblocks) {
  follow_vector(index, block, offset, layout, out, nullptr, 0, nblocks);
}

int vector_chunk_places(Relation index, BlockNumber block, OffsetNumber offset,
                        const VectorLayout& layout, int max_chunks, ChunkPlace* places,
                        BlockNumber* nblocks) {
  if (layout.chunks > max_chunks) return 0;  // not read: it could not be used
  return follow_vector(index, block, offset, layout, nullptr, places, max_chunks, nblocks);
}

}  // namespace ruvector::pg::rabitq
