// See rabitq_recent.h.
#include "extension/rabitq/rabitq_recent.h"

extern "C" {
#include "access/heapam.h"
#include "access/tableam.h"
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

namespace {

// Pins `block` of `rel` through its entry when that buffer still holds it.
bool pin_recent(Relation rel, BlockNumber block, RecentBuffers* recent, Buffer* out) {
  if (block > recent->mask && recent->mask + 1 < kMaxEntries) grow(recent, block);
  const RecentBuffers::Entry& e = recent->entries[block & recent->mask];
  if (e.block != block) return false;
#if PG_VERSION_NUM >= 160000
  if (!ReadRecentBuffer(rel->rd_locator, MAIN_FORKNUM, block, e.buffer)) return false;
#else
  if (!ReadRecentBuffer(rel->rd_node, MAIN_FORKNUM, block, e.buffer)) return false;
#endif
  // What ReadBuffer counts for the relation's statistics (pg_statio_*); ReadRecentBuffer
  // counts only the query's buffer usage (EXPLAIN BUFFERS).
  pgstat_count_buffer_read(rel);
  pgstat_count_buffer_hit(rel);
  *out = e.buffer;
  return true;
}

void record(RecentBuffers* recent, BlockNumber block, Buffer buffer) {
  if (block > recent->mask && recent->mask + 1 < kMaxEntries) grow(recent, block);
  recent->entries[block & recent->mask] = {block, buffer};
}

bool is_heap_fetch(IndexFetchTableData* fetch, RecentBuffers* recent) {
  return recent != nullptr && fetch != nullptr &&
         fetch->rel->rd_tableam == GetHeapamTableAmRoutine() &&
         !RelationUsesLocalBuffers(fetch->rel);
}

}  // namespace

Buffer pin_block(Relation index, BlockNumber block, RecentBuffers* recent) {
  // Temporary indexes live in local buffers, which have no mapping lock to save.
  if (recent == nullptr || RelationUsesLocalBuffers(index)) {
    return ReadBufferExtended(index, MAIN_FORKNUM, block, RBM_NORMAL, nullptr);
  }
  Buffer buffer;
  if (pin_recent(index, block, recent, &buffer)) return buffer;
  buffer = ReadBufferExtended(index, MAIN_FORKNUM, block, RBM_NORMAL, nullptr);
  record(recent, block, buffer);
  return buffer;
}

void position_heap_fetch(IndexFetchTableData* fetch, BlockNumber block, RecentBuffers* recent) {
  if (!is_heap_fetch(fetch, recent)) return;
  auto* heap = reinterpret_cast<IndexFetchHeapData*>(fetch);
  if (BufferIsValid(heap->xs_cbuf) && BufferGetBlockNumber(heap->xs_cbuf) == block) return;
  Buffer buffer;
  if (!pin_recent(fetch->rel, block, recent, &buffer)) return;
  // heapam's fetch checks that the buffer it holds is the block's (ReleaseAndReadBuffer)
  // and otherwise releases it: it owns this pin from here on.
  if (BufferIsValid(heap->xs_cbuf)) ReleaseBuffer(heap->xs_cbuf);
  heap->xs_cbuf = buffer;
}

void record_heap_fetch(IndexFetchTableData* fetch, RecentBuffers* recent) {
  if (!is_heap_fetch(fetch, recent)) return;
  const Buffer buffer = reinterpret_cast<IndexFetchHeapData*>(fetch)->xs_cbuf;
  if (BufferIsValid(buffer)) record(recent, BufferGetBlockNumber(buffer), buffer);
}

}  // namespace ruvector::pg::rabitq
