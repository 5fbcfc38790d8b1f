// The index image ruLake caches for a collection: IVF lists of 1-bit RaBitQ codes plus the
// original rows for the exact rerank, built with the same rotation, k-means, encoder and
// estimator as the rabitq access method.
//
// An image is one contiguous byte buffer holding offsets, never pointers, so the
// extension can copy it into shared memory and any backend can search it in place at
// whatever address it is mapped. Sections, each 64-byte aligned:
//   header      magic, version, shape, section offsets, total size
//   centroids   lists × padded_dim float, in rotated space
//   centroid codes  the centroids in int8 with the norms that bound a distance from them
//               (ivf/centroid_codes.h): which lists to probe, reading a quarter of the bytes
//   list_start  lists + 1 uint64: rows of list i are [list_start[i], list_start[i+1])
//   codes       rows × padded_dim/64 uint64, grouped by list
//   factors     rows × CodeFactors
//   ids         rows × int64
//   vectors     rows × dim float, as given (the exact distance uses them)
// Searching needs nothing but the image: a cached collection never touches its source.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "ivf/centroid_codes.h"
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
// IndexBuilder gives the same bytes for the same rows without holding them twice.
std::vector<unsigned char> build_index(const IndexParams& params, const std::int64_t* ids,
                                       const float* vectors, std::size_t count);

// An image in memory from std::malloc, so that the rows can grow into it in place and a
// caller can keep the bytes (release, then std::free) without copying them.
class Image {
 public:
  Image() = default;
  Image(unsigned char* bytes, std::size_t size) : bytes_(bytes), size_(size) {}
  ~Image();
  Image(Image&& other) noexcept;
  Image& operator=(Image&& other) noexcept;
  Image(const Image&) = delete;
  Image& operator=(const Image&) = delete;

  const unsigned char* data() const { return bytes_; }
  std::size_t size() const { return size_; }
  // Hands the bytes to the caller, who frees them with std::free.
  unsigned char* release();

 private:
  unsigned char* bytes_ = nullptr;
  std::size_t size_ = 0;
};

// The size of the image of `rows` rows (before cosine rows without a direction are left
// out), with its lists chosen as the build chooses them.
std::size_t image_bytes(const IndexParams& params, std::uint64_t rows);
// The most memory IndexBuilder holds at once for `rows` rows: the image, the k-means sample
// and the per-row list numbers. What a caller budgets for one build.
std::size_t build_memory_bytes(const IndexParams& params, std::uint64_t rows);

// Builds an image from rows that arrive in batches, in the order build_index takes them.
// The rows are stored once, in memory that becomes the image: finish() grows it to the
// image's size and moves them into place, so a build takes about one image of memory plus
// the bounded working set build_memory_bytes counts, never the rows and the image.
class IndexBuilder {
 public:
  // Called with the number of rows about to be held whenever it grows, before memory is
  // taken for them; it throws to refuse them (a memory budget).
  using Budget = std::function<void(std::uint64_t rows)>;

  explicit IndexBuilder(const IndexParams& params, Budget budget = {});
  ~IndexBuilder();
  IndexBuilder(const IndexBuilder&) = delete;
  IndexBuilder& operator=(const IndexBuilder&) = delete;

  // Appends `count` rows: ids[i] with the dim floats at vectors + i * dim. Throws
  // std::invalid_argument for a non-finite value, naming the row.
  void add(const std::int64_t* ids, const float* vectors, std::size_t count);
  // The same in two streams, for sources that store ids apart from rows (a bundle's
  // vectors file): the i-th id added pairs with the i-th row added.
  void add_ids(const std::int64_t* ids, std::size_t count);
  void add_vectors(const float* vectors, std::size_t count);

  std::uint64_t rows() const { return rows_; }

  // The image of every row added; throws std::invalid_argument when ids and rows differ
  // in number. The builder is empty afterwards.
  Image finish();

  // The size of the image finish() or finish_into() gives for the rows added so far, so
  // that a caller can take the memory for it before the build (shared memory). Leaves out
  // the rows the image leaves out (cosine rows without a direction); throws as finish().
  std::size_t image_size();
  // Builds the same bytes as finish() into `out`, image_size() bytes at an 8-byte aligned
  // address, and empties the builder. The rows move into `out` and their memory is
  // returned a block at a time as they go, so the build never holds them twice. On an
  // exception `out` holds no image (its header is left zero).
  void finish_into(void* out, std::size_t size);

 private:
  void hold(std::uint64_t rows);
  // Drops cosine rows without a direction, checks the count; the rows the image holds.
  std::uint64_t indexable_rows();

  IndexParams params_;
  Budget budget_;
  std::int64_t* ids_ = nullptr;
  unsigned char* vectors_ = nullptr;  // rows × dim floats; becomes the image
  std::uint64_t capacity_ = 0;        // rows both buffers have room for
  std::uint64_t budgeted_ = 0;        // rows the budget has allowed
  std::uint64_t ids_added_ = 0;
  std::uint64_t rows_ = 0;
};

// Rows placed in the lists of a base image without k-means, each with its list, code and
// factors as the base's own rows would have them. An overlay (rulake/overlay.h) holds the
// rows written since `base` was built this way, so that they are searched as `base`'s
// would be, and carries them from one overlay to the next without encoding them again.
struct PlacedRows {
  std::vector<std::int64_t> ids;
  std::vector<float> vectors;  // dim floats a row, as given
  std::vector<std::uint32_t> lists;
  std::vector<std::uint64_t> codes;  // padded_dim / 64 words a row
  std::vector<rabitq::CodeFactors> factors;
};
// Appends `count` rows (ids[i] with the dim floats at vectors + i * dim) placed on the
// centroids of `base` (a checked image with lists); cosine rows without a direction are
// left out. Throws as IndexBuilder::add does for a bad value.
void place_on_centroids(const void* base, std::size_t base_size, const std::int64_t* ids,
                        const float* vectors, std::size_t count, PlacedRows* out);
// The image of placed rows on `base`'s centroids, rotation, metric and dimensions; within a
// list rows keep their order in `rows`. Its lists may outnumber its rows. It holds no
// centroids (image_view gives none): it is searched with `base`'s (search_view).
Image image_on_centroids(const void* base, std::size_t base_size, const PlacedRows& rows);
// Both at once.
Image build_on_centroids(const void* base, std::size_t base_size, const std::int64_t* ids,
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

// Checks the header and that every section lies inside `size` bytes; throws a ruvector::Error
// of kind kIntegrity (XX001 at the SQL boundary) for an image that is truncated or corrupt.
ImageInfo image_info(const void* image, std::size_t size);

// The sections of a checked image, for the search (batch_search.cpp).
struct ImageView {
  ImageInfo info;
  const float* centroids;  // lists × padded_dim, rotated; nullptr for image_on_centroids'
  ivf::CentroidCodes centroid_codes;  // of the rotated centroids; codes nullptr without them
  const std::uint64_t* list_start;    // lists + 1
  const std::uint64_t* codes;         // rows × padded_dim / 64
  const rabitq::CodeFactors* factors;
  const std::int64_t* ids;
  const float* vectors;  // rows × dim, as given
};
ImageView image_view(const void* image, std::size_t size);

struct SearchParams {
  std::uint32_t k = 10;
  std::uint32_t rerank_factor = 20;  // k × rerank_factor candidates get exact distances
  std::uint32_t probes = 0;          // lists probed, nearest centroids first; 0: all
  // Ids never returned, sorted ascending: the rows an overlay has replaced or deleted. They
  // are left out before the candidates are chosen, so they take no rerank slot.
  const std::int64_t* skip = nullptr;
  std::size_t skip_count = 0;
  const std::int64_t* skip2 = nullptr;  // a second such list (two overlays' tombstones)
  std::size_t skip2_count = 0;
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

// Rows asked of each shard for a global top k: k + ceil(sqrt(k * ln(shards))), at most 4k.
// Asking each shard for only k loses a true neighbour whenever a shard holds more than its
// share of the top k and its approximate ranking puts one just past k; the bonus grows with
// the chance of that skew. One shard (or k = 0) is asked for k.
std::uint32_t per_shard_k(std::uint32_t k, std::uint32_t shards);

// The global top k of per-shard hit lists, ordered by (distance, shard, id).
std::vector<ShardHit> merge_hits(const std::vector<std::vector<Hit>>& per_shard, std::uint32_t k);

}  // namespace ruvector::rulake
