// The index image ruLake caches for a collection: IVF lists of 1-bit RaBitQ codes plus the
// original rows for the exact rerank, built with the same rotation, k-means, encoder and
// estimator as the rabitq access method.
//
// An image is one contiguous byte buffer holding offsets, never pointers, so the
// extension can copy it into shared memory and any backend can search it in place at
// whatever address it is mapped. Sections, each 64-byte aligned:
//   header      magic, version, shape, section offsets, total size
//   centroids   lists × padded_dim float, in rotated space
//   list_start  lists + 1 uint64: rows of list i are [list_start[i], list_start[i+1])
//   codes       rows × padded_dim/64 uint64, grouped by list
//   factors     rows × CodeFactors
//   ids         rows × int64
//   vectors     rows × dim float, as given (the exact distance uses them)
// Searching needs nothing but the image: a cached collection never touches its source.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "rabitq/code.h"
#include "rabitq/metric.h"

namespace ruvector::rulake {

using rabitq::Metric;

struct IndexParams {
  std::uint32_t dim = 0;
  Metric metric = Metric::kL2;
  std::uint64_t seed = 0;   // rotation seed, also seeds k-means
  std::uint32_t lists = 0;  // 0: ivf::default_lists(rows); never more than the rows
  std::uint32_t kmeans_iterations = 10;
  unsigned threads = 1;  // the image does not depend on it
};

// Builds the image of `count` rows: ids[i] with the dim floats at vectors + i * dim.
// Cosine rows without a direction (zero norm) are left out, as the access method does.
// Throws std::invalid_argument for a dim outside [1, 16000] or a non-finite value.
std::vector<unsigned char> build_index(const IndexParams& params, const std::int64_t* ids,
                                       const float* vectors, std::size_t count);

struct ImageInfo {
  std::uint32_t dim;
  std::uint32_t padded_dim;
  std::uint32_t lists;
  Metric metric;
  std::uint64_t seed;
  std::uint64_t rows;
  std::size_t bytes;
};

// Checks the header and that every section lies inside `size` bytes; throws
// std::runtime_error for an image that is truncated or not an image.
ImageInfo image_info(const void* image, std::size_t size);

// The sections of a checked image, for the search (search.cpp).
struct ImageView {
  ImageInfo info;
  const float* centroids;           // lists × padded_dim, rotated
  const std::uint64_t* list_start;  // lists + 1
  const std::uint64_t* codes;       // rows × padded_dim / 64
  const rabitq::CodeFactors* factors;
  const std::int64_t* ids;
  const float* vectors;  // rows × dim, as given
};
ImageView image_view(const void* image, std::size_t size);

struct SearchParams {
  std::uint32_t k = 10;
  std::uint32_t rerank_factor = 20;  // k × rerank_factor candidates get exact distances
  std::uint32_t probes = 0;          // lists probed, nearest centroids first; 0: all
};

struct Hit {
  std::int64_t id;
  float distance;
};

// Up to k hits ordered by (distance, id). Read-only and deterministic: the same image
// bytes and query give the same hits. `query` must hold image_info().dim floats (the caller
// checks; a pointer carries no length). Throws std::invalid_argument for a non-finite value,
// or a zero query under cosine.
void search_index(const void* image, std::size_t size, const float* query,
                  const SearchParams& params, std::vector<Hit>* out);

// Federation: each shard answers with a smaller rerank factor, and the shards' hits merge.
struct ShardHit {
  std::uint32_t shard;
  std::int64_t id;
  float distance;
};

// max(5, rerank_factor / shards), never above rerank_factor.
std::uint32_t per_shard_rerank(std::uint32_t rerank_factor, std::uint32_t shards);

// The global top k of per-shard hit lists, ordered by (distance, shard, id).
std::vector<ShardHit> merge_hits(const std::vector<std::vector<Hit>>& per_shard, std::uint32_t k);

}  // namespace ruvector::rulake
