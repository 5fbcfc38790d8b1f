// See rabitq_recent.h.
#include "extension/rabitq/rabitq_recent.h"

extern "C" {
#include "pgstat.h"
#include "utils/rel.h"
}

namespace ruvector::pg::rabitq {

namespace {

// 64k entries (512 KB) cover an index of 512 MB without collisions; a larger one shares
// entries, and a block whose entry another took is read the usual way.
constexpr uint32 kMaxEntries = 1u << 16;

uint32 entries_for(BlockNumber nblocks) {
  uint32 n = 1024;
  while (n < nblocks && n < kMaxEntries) n *= 2;
  return n;
}

void fill_empty(RecentBuffers::Entry* entries, uint32 n) {
  for (uint32 i = 0; i < n; i++) entries[i] = {InvalidBlockNumber, InvalidBuffer};
}

// The index grew past the table (inserts since it was made): a larger one, empty.
void grow(RecentBuffers* recent, BlockNumber block) {
  const uint32 n = entries_for(block + 1);
  if (n <= recent->mask + 1) return;
  pfree(recent->entries);
  recent->entries = static_cast<RecentBuffers::Entry*>(
      MemoryContextAlloc(recent->context, sizeof(RecentBuffers::Entry) * n));
  fill_empty(recent->entries, n);
  recent->mask = n - 1;
}

}  // namespace

RecentBuffers* make_recent_buffers(MemoryContext context, BlockNumber nblocks) {
  auto* recent = static_cast<RecentBuffers*>(MemoryContextAlloc(context, sizeof(RecentBuffers)));
  const uint32 n = entries_for(nblocks);
  recent->context = context;
  recent->mask = n - 1;
  recent->entries = static_cast<RecentBuffers::Entry*>(
      MemoryContextAlloc(context, sizeof(RecentBuffers::Entry) * n));
  fill_empty(recent->entries, n);
  return recent;
}

Buffer pin_block(Relation index, BlockNumber block, RecentBuffers* recent) {
  // Temporary indexes live in local buffers, which have no mapping lock to save.
  if (recent == nullptr || RelationUsesLocalBuffers(index)) {
    return ReadBufferExtended(index, MAIN_FORKNUM, block, RBM_NORMAL, nullptr);
  }
  if (block > recent->mask && recent->mask + 1 < kMaxEntries) grow(recent, block);
  RecentBuffers::Entry& e = recent->entries[block & recent->mask];
  if (e.block == block) {
#if PG_VERSION_NUM >= 160000
    const bool hit = ReadRecentBuffer(index->rd_locator, MAIN_FORKNUM, block, e.buffer);
#else
    const bool hit = ReadRecentBuffer(index->rd_node, MAIN_FORKNUM, block, e.buffer);
#endif
    if (hit) {
      // What ReadBuffer counts for the relation's statistics (pg_statio_*_indexes);
      // ReadRecentBuffer counts only the query's buffer usage (EXPLAIN BUFFERS).
      pgstat_count_buffer_read(index);
      pgstat_count_buffer_hit(index);
      return e.buffer;
    }
  }
  Buffer buffer = ReadBufferExtended(index, MAIN_FORKNUM, block, RBM_NORMAL, nullptr);
  e = {block, buffer};
  return buffer;
}

}  // namespace ruvector::pg::rabitq
