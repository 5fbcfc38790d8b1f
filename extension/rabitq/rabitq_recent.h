// Which shared buffer last held each page of an index, as this backend saw it. A scan
// reads a hundred code pages a query on a large index, and for each Postgres' ReadBuffer
// looks the block up in the buffer mapping table: a hash probe into a table sized for all
// of shared_buffers, missing the cache at every step, under a partition lock that every
// backend's lookups share. ReadRecentBuffer skips the lookup when the buffer a block was
// last seen in still holds it (it checks the buffer's tag under its header lock), which is
// true for every page of an index that stays in shared_buffers. The same holds for the
// pages of the indexed table that reranks and the executor read (position_heap_fetch).
#pragma once

#include "extension/rabitq/rabitq.h"

extern "C" {
#include "access/relscan.h"
}

namespace ruvector::pg::rabitq {

// A direct-mapped table of block -> buffer, a hint only: an entry may name a buffer that
// has since been given to another page, which ReadRecentBuffer detects.
struct RecentBuffers {
  struct Entry {
    BlockNumber block;
    Buffer buffer;
  };
  MemoryContext context;  // where `entries` lives (the index's shape entry)
  uint32 mask;            // entries - 1, a power of two
  Entry* entries;
};

// A table in `context` sized for an index of `nblocks` pages.
RecentBuffers* make_recent_buffers(MemoryContext context, BlockNumber nblocks);

// Pins `block` of the index's main fork, as ReadBufferExtended(RBM_NORMAL, no strategy)
// would, through the buffer recorded for it when that still holds it; else reads it and
// records where. `recent` may be null (then it is ReadBufferExtended).
Buffer pin_block(Relation index, BlockNumber block, RecentBuffers* recent);

// The same for the table's pages, which a scan reads twice a returned row: once for the rerank,
// once when the executor fetches the row. For a heap table, positions `fetch` (a heap index
// fetch) on `block`'s buffer when the table still finds it there, so that heapam's fetch takes
// the buffer it holds instead of looking the block up; it then also skips its opportunistic
// prune of the page, which a lookup of that page by anyone else still does. Other table
// methods and temporary tables are left alone.
void position_heap_fetch(IndexFetchTableData* fetch, BlockNumber block, RecentBuffers* recent);
// After a fetch through `fetch`: records the buffer it holds for its block.
void record_heap_fetch(IndexFetchTableData* fetch, RecentBuffers* recent);

// The buffer recorded for `block`, InvalidBuffer when none. It is not pinned and may hold
// another page by now: good for a prefetch of its memory, not for reading it.
inline Buffer recent_buffer(const RecentBuffers* recent, BlockNumber block) {
  if (recent == nullptr) return InvalidBuffer;
  const RecentBuffers::Entry& e = recent->entries[block & recent->mask];
  return e.block == block ? e.buffer : InvalidBuffer;
}

}  // namespace ruvector::pg::rabitq
