// The centroids of a rabitq index, cached per backend. They never change after CREATE
// INDEX, so a backend reads them once per index instead of once per query; the cache is
// keyed by the relation's file and a hash of the centroids that the build stored in the
// metapage (and its shape: lists, dimensions, seed, bits, flags), so a rebuilt index (even
// one that kept its file) is never served stale data.
#include "extension/rabitq/rabitq.h"
#include "extension/rabitq/rabitq_items.h"
#include "extension/rabitq/rabitq_recent.h"

#include <algorithm>

#include <cmath>

#include "kernels/cpu/distance.h"

extern "C" {
#include "utils/rel.h"
}

namespace ruvector::pg::rabitq {

namespace {

struct FileKey {
  Oid tablespace;
  Oid database;
  Oid file;
};

FileKey file_key(Relation index) {
#if PG_VERSION_NUM >= 160000
  return {index->rd_locator.spcOid, index->rd_locator.dbOid, index->rd_locator.relNumber};
#else
  return {index->rd_node.spcNode, index->rd_node.dbNode, index->rd_node.relNode};
#endif
}

// Plain static storage of trivially destructible entries; each entry's memory is a
// memory context under TopMemoryContext, deleted when the entry is evicted.
struct CacheEntry {
  bool valid;
  FileKey key;
  uint64 centroid_hash;
  uint64 last_use;
  MemoryContext context;
  IndexShape shape;
};
constexpr int kCacheEntries = 8;
CacheEntry cache[kCacheEntries];
uint64 use_counter = 0;

bool matches(const CacheEntry& e, const FileKey& key, const RabitqMeta& meta) {
  return e.valid && e.key.tablespace == key.tablespace && e.key.database == key.database &&
         e.key.file == key.file && e.centroid_hash == meta.centroid_hash &&
         e.shape.meta.lists == meta.lists && e.shape.meta.padded_dim == meta.padded_dim &&
         e.shape.meta.dim == meta.dim && e.shape.meta.seed == meta.seed &&
         e.shape.meta.bits == meta.bits && e.shape.meta.flags == meta.flags;
}

// Reads `total` bytes stored as one stream over pages of `type` from `block` (the
// centroids, the projection) into `out`.
void load_stream(Relation index, BlockNumber block, PageType type, Size total, void* out) {
  char* dest = static_cast<char*>(out);
  BlockNumber nblocks = 0;
  for (Size done = 0; done < total; block++) {
    Buffer buffer = read_page(index, block, type, BUFFER_LOCK_SHARE, &nblocks);
    Page page = BufferGetPage(buffer);
    Size n = std::min(total - done, kPagePayload);
    memcpy(dest + done, PageGetContents(page), n);
    done += n;
    UnlockReleaseBuffer(buffer);
  }
}

}  // namespace

const IndexShape* index_shape(Relation index) {
  RabitqMeta meta = read_meta(index);
  FileKey key = file_key(index);
  CacheEntry* victim = &cache[0];
  for (auto& e : cache) {
    if (matches(e, key, meta)) {
      e.last_use = ++use_counter;
      return &e.shape;
    }
    if (!e.valid && victim->valid) victim = &e;
    if (e.valid && victim->valid && e.last_use < victim->last_use) victim = &e;
  }

  victim->valid = false;
  victim->shape.stamp = 0;
  if (victim->context != nullptr) MemoryContextDelete(victim->context);
  victim->context = nullptr;
  MemoryContext context =
      AllocSetContextCreate(TopMemoryContext, "rabitq centroids", ALLOCSET_DEFAULT_SIZES);
  victim->context = context;

  Size floats = static_cast<Size>(meta.lists) * meta.padded_dim;
  auto* centroids = static_cast<float*>(MemoryContextAllocHuge(context, floats * sizeof(float)));
  auto* norms_squared =
      static_cast<float*>(MemoryContextAlloc(context, meta.lists * sizeof(float)));
  load_stream(index, meta.centroid_start, kPageCentroids, floats * sizeof(float), centroids);
  const auto& k = kernels::distance_kernels();
  for (uint32 i = 0; i < meta.lists; i++) {
    norms_squared[i] =
        k.norm_squared(centroids + static_cast<Size>(i) * meta.padded_dim, meta.padded_dim);
  }

  ivf::CentroidCodes& codes = victim->shape.codes;
  auto* bytes = static_cast<uint8*>(MemoryContextAllocHuge(context, floats));
  auto* scales = static_cast<float*>(MemoryContextAlloc(context, meta.lists * sizeof(float)));
  auto* errors = static_cast<float*>(MemoryContextAlloc(context, meta.lists * sizeof(float)));
  auto* squares = static_cast<float*>(MemoryContextAlloc(context, meta.lists * sizeof(float)));
  auto* code_norms = static_cast<float*>(MemoryContextAlloc(context, meta.lists * sizeof(float)));
  ivf::quantize_centroids(centroids, meta.lists, meta.padded_dim, bytes, scales, errors, squares,
                          code_norms);
  codes = {bytes, scales, errors, squares, code_norms, meta.lists, meta.padded_dim};

  victim->shape.projection = ivf::CentroidProjection{};
  if (meta.projection_rank > 0) {
    const uint32 rank = meta.projection_rank;
    const Size basis_floats = static_cast<Size>(rank) * meta.padded_dim;
    const Size stored = basis_floats + static_cast<Size>(rank) * meta.lists;
    auto* data = static_cast<float*>(
        MemoryContextAllocHuge(context, sizeof(float) * (stored + 4 * meta.lists)));
    load_stream(index, meta.projection_start, kPageProjection, sizeof(float) * stored, data);
    ivf::attach_projection(centroids, meta.lists, meta.padded_dim, rank, data, data + basis_floats,
                           data + stored, &victim->shape.projection);
  }

  victim->key = key;
  victim->centroid_hash = meta.centroid_hash;
  victim->shape.meta = meta;
  victim->shape.centroids = centroids;
  victim->shape.centroid_norms_squared = norms_squared;
  victim->shape.recent = make_recent_buffers(context, RelationGetNumberOfBlocks(index));
  victim->shape.heap_recent = make_recent_buffers(context, 0);  // grows as scans read the table
  victim->last_use = ++use_counter;
  victim->shape.stamp = victim->last_use;
  victim->valid = true;
  return &victim->shape;
}

}  // namespace ruvector::pg::rabitq
