// See collection_index.h.
#include "rulake/collection_index.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <queue>
#include <stdexcept>
#include <string>
#include <tuple>

#include "ivf/assign.h"
#include "ivf/defaults.h"
#include "ivf/kmeans.h"
#include "kernels/cpu/distance.h"
#include "rabitq/code.h"
#include "rabitq/query.h"
#include "rabitq/rotator.h"

namespace ruvector::rulake {

namespace {

constexpr char kMagic[8] = {'R', 'L', 'K', 'I', 'M', 'A', 'G', 'E'};
constexpr std::uint32_t kVersion = 1;
constexpr std::uint32_t kMaxDim = 16000;
constexpr std::size_t kAlign = 64;
// k-means trains on at most this many rows per list, spread evenly over the collection.
constexpr std::size_t kSamplePerList = 64;
constexpr std::size_t kBatch = 4096;

struct Header {
  char magic[8];
  std::uint32_t version;
  std::uint32_t dim;
  std::uint32_t padded_dim;
  std::uint32_t metric;
  std::uint32_t lists;
  std::uint32_t reserved;
  std::uint64_t rows;
  std::uint64_t seed;
  std::uint64_t centroids;  // section offsets from the start of the image
  std::uint64_t list_start;
  std::uint64_t codes;
  std::uint64_t factors;
  std::uint64_t ids;
  std::uint64_t vectors;
  std::uint64_t total;
};

std::size_t align(std::size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

std::size_t code_words(std::uint32_t padded_dim) { return padded_dim / 64; }

// Section offsets of an image of this shape; false when the sizes overflow.
bool layout(Header* h) {
  const double bytes = static_cast<double>(h->rows) * (h->dim * 4.0 + h->padded_dim / 8.0 + 24) +
                       static_cast<double>(h->lists) * (h->padded_dim * 4.0 + 8);
  if (bytes > 1e18) return false;
  std::size_t at = align(sizeof(Header));
  h->centroids = at;
  at = align(at + std::size_t{h->lists} * h->padded_dim * sizeof(float));
  h->list_start = at;
  at = align(at + (std::size_t{h->lists} + 1) * sizeof(std::uint64_t));
  h->codes = at;
  at = align(at + h->rows * code_words(h->padded_dim) * sizeof(std::uint64_t));
  h->factors = at;
  at = align(at + h->rows * sizeof(rabitq::CodeFactors));
  h->ids = at;
  at = align(at + h->rows * sizeof(std::int64_t));
  h->vectors = at;
  at = align(at + h->rows * h->dim * sizeof(float));
  h->total = at;
  return true;
}

bool is_metric(std::uint32_t m) {
  return m == static_cast<std::uint32_t>(Metric::kL2) ||
         m == static_cast<std::uint32_t>(Metric::kInnerProduct) ||
         m == static_cast<std::uint32_t>(Metric::kCosine);
}

Header read_header(const void* image, std::size_t size) {
  Header h;
  if (image == nullptr || size < sizeof(Header))
    throw std::runtime_error("rulake index image is truncated");
  std::memcpy(&h, image, sizeof(Header));
  if (std::memcmp(h.magic, kMagic, sizeof(kMagic)) != 0)
    throw std::runtime_error("not a rulake index image");
  if (h.version != kVersion)
    throw std::runtime_error("rulake index image version " + std::to_string(h.version) +
                             " is not supported");
  Header expect = h;
  if (h.dim == 0 || h.dim > kMaxDim || h.padded_dim != rabitq::padded_dimensions(h.dim) ||
      !is_metric(h.metric) || h.lists > h.rows || (h.rows > 0 && h.lists == 0) ||
      !layout(&expect) || expect.centroids != h.centroids || expect.list_start != h.list_start ||
      expect.codes != h.codes || expect.factors != h.factors || expect.ids != h.ids ||
      expect.vectors != h.vectors || expect.total != h.total) {
    throw std::runtime_error("rulake index image header is corrupt");
  }
  if (h.total > size) throw std::runtime_error("rulake index image is truncated");
  const auto* starts =
      reinterpret_cast<const std::uint64_t*>(static_cast<const char*>(image) + h.list_start);
  if (h.lists > 0 && (starts[0] != 0 || starts[h.lists] != h.rows))
    throw std::runtime_error("rulake index image list table is corrupt");
  for (std::uint32_t i = 0; i < h.lists; i++) {
    if (starts[i] > starts[i + 1])
      throw std::runtime_error("rulake index image list table is corrupt");
  }
  return h;
}

template <typename T>
T* section(void* image, std::uint64_t offset) {
  return reinterpret_cast<T*>(static_cast<char*>(image) + offset);
}
template <typename T>
const T* section(const void* image, std::uint64_t offset) {
  return reinterpret_cast<const T*>(static_cast<const char*>(image) + offset);
}

void check_dim(std::uint32_t dim) {
  if (dim == 0 || dim > kMaxDim)
    throw std::invalid_argument("dimensions must be between 1 and 16000, not " +
                                std::to_string(dim));
}

}  // namespace

std::vector<unsigned char> build_index(const IndexParams& params, const std::int64_t* ids,
                                       const float* vectors, std::size_t count) {
  check_dim(params.dim);
  const std::uint32_t dim = params.dim;
  const Metric metric = params.metric;
  if (!is_metric(static_cast<std::uint32_t>(metric))) throw std::invalid_argument("unknown metric");
  for (std::size_t i = 0; i < count * dim; i++) {
    if (!std::isfinite(vectors[i]))
      throw std::invalid_argument("row " + std::to_string(i / dim) +
                                  " has a NaN or infinite value");
  }

  // Rows that can be indexed, prepared (normalised for cosine) for k-means and encoding.
  std::vector<std::size_t> keep;
  keep.reserve(count);
  std::vector<float> prepared(count * dim);
  for (std::size_t i = 0; i < count; i++) {
    if (rabitq::prepare_vector(metric, vectors + i * dim, static_cast<int>(dim),
                               prepared.data() + keep.size() * dim)) {
      keep.push_back(i);
    }
  }
  const std::size_t n = keep.size();
  prepared.resize(n * dim);

  Header h{};
  std::memcpy(h.magic, kMagic, sizeof(kMagic));
  h.version = kVersion;
  h.dim = dim;
  h.padded_dim = rabitq::padded_dimensions(dim);
  h.metric = static_cast<std::uint32_t>(metric);
  h.rows = n;
  h.seed = params.seed;
  std::uint32_t lists = params.lists != 0 ? params.lists : ivf::default_lists(n);
  h.lists = n == 0 ? 0 : static_cast<std::uint32_t>(std::min<std::size_t>(std::max(lists, 1u), n));
  if (!layout(&h)) throw std::invalid_argument("collection is too large for one index image");
  std::vector<unsigned char> image(h.total, 0);
  std::memcpy(image.data(), &h, sizeof(h));
  if (n == 0) return image;
  const std::uint32_t padded = h.padded_dim;

  // k-means in the original space on an even spread of rows, then centroids rotated.
  std::size_t sample_n = std::min(n, std::size_t{h.lists} * kSamplePerList);
  std::vector<float> sample(sample_n * dim);
  for (std::size_t s = 0; s < sample_n; s++) {
    std::size_t row = s * n / sample_n;
    std::memcpy(sample.data() + s * dim, prepared.data() + row * dim, sizeof(float) * dim);
  }
  std::vector<float> centroids(std::size_t{h.lists} * dim);
  ivf::KMeansOptions km;
  km.clusters = h.lists;
  km.iterations = params.kmeans_iterations;
  km.seed = params.seed;
  // Plain means for every metric: the estimator's error grows with the residual ||x - c||,
  // and for inner product <x,q> = <c,q> + <x-c,q> holds for any c, so the centroid that
  // minimises the residual is the best one (unit-norm spherical centroids are not).
  km.spherical = false;
  km.threads = std::max(1u, params.threads);
  ivf::train_kmeans(sample.data(), sample_n, dim, km, centroids.data());
  rabitq::Rotator rotator(dim, params.seed);
  float* rotated_centroids = section<float>(image.data(), h.centroids);
  for (std::uint32_t c = 0; c < h.lists; c++) {
    rotator.rotate(centroids.data() + std::size_t{c} * dim,
                   rotated_centroids + std::size_t{c} * padded);
  }

  // Pass 1: each row's list. Pass 2: encode into the list's slots, in row order within a
  // list. Rows are rotated twice rather than kept rotated, to bound memory.
  std::vector<std::uint32_t> list_of(n);
  std::vector<float> batch(kBatch * padded);
  auto rotate_batch = [&](std::size_t from, std::size_t rows) {
    for (std::size_t r = 0; r < rows; r++) {
      rotator.rotate(prepared.data() + (from + r) * dim, batch.data() + r * padded);
    }
  };
  for (std::size_t from = 0; from < n; from += kBatch) {
    std::size_t rows = std::min(kBatch, n - from);
    rotate_batch(from, rows);
    ivf::nearest_centroids_batch(batch.data(), rows, rotated_centroids, h.lists, padded, false,
                                 km.threads, list_of.data() + from);
  }
  auto* starts = section<std::uint64_t>(image.data(), h.list_start);
  for (std::size_t i = 0; i < n; i++) starts[list_of[i] + 1]++;
  for (std::uint32_t c = 0; c < h.lists; c++) starts[c + 1] += starts[c];
  std::vector<std::uint64_t> next(starts, starts + h.lists);

  auto* codes = section<std::uint64_t>(image.data(), h.codes);
  auto* factors = section<rabitq::CodeFactors>(image.data(), h.factors);
  auto* out_ids = section<std::int64_t>(image.data(), h.ids);
  auto* out_vectors = section<float>(image.data(), h.vectors);
  std::vector<float> residual(padded);
  const std::size_t words = code_words(padded);
  for (std::size_t from = 0; from < n; from += kBatch) {
    std::size_t rows = std::min(kBatch, n - from);
    rotate_batch(from, rows);
    for (std::size_t r = 0; r < rows; r++) {
      std::size_t i = from + r;
      std::uint32_t list = list_of[i];
      std::uint64_t slot = next[list]++;
      const float* c = rotated_centroids + std::size_t{list} * padded;
      const float* x = batch.data() + r * padded;
      for (std::uint32_t j = 0; j < padded; j++) residual[j] = x[j] - c[j];
      rabitq::encode(residual.data(), padded, codes + slot * words, &factors[slot]);
      out_ids[slot] = ids[keep[i]];
      std::memcpy(out_vectors + slot * dim, vectors + keep[i] * dim, sizeof(float) * dim);
    }
  }
  return image;
}

ImageInfo image_info(const void* image, std::size_t size) {
  Header h = read_header(image, size);
  return ImageInfo{h.dim,
                   h.padded_dim,
                   h.lists,
                   static_cast<Metric>(h.metric),
                   h.seed,
                   h.rows,
                   static_cast<std::size_t>(h.total)};
}

ImageView image_view(const void* image, std::size_t size) {
  Header h = read_header(image, size);
  ImageView v;
  v.info = image_info(image, size);
  v.centroids = section<float>(image, h.centroids);
  v.list_start = section<std::uint64_t>(image, h.list_start);
  v.codes = section<std::uint64_t>(image, h.codes);
  v.factors = section<rabitq::CodeFactors>(image, h.factors);
  v.ids = section<std::int64_t>(image, h.ids);
  v.vectors = section<float>(image, h.vectors);
  return v;
}

std::uint32_t per_shard_rerank(std::uint32_t rerank_factor, std::uint32_t shards) {
  std::uint32_t per = std::max(5u, rerank_factor / std::max(1u, shards));
  return std::min(per, std::max(1u, rerank_factor));
}

std::vector<ShardHit> merge_hits(const std::vector<std::vector<Hit>>& per_shard, std::uint32_t k) {
  std::vector<ShardHit> all;
  for (std::size_t s = 0; s < per_shard.size(); s++) {
    for (const Hit& hit : per_shard[s])
      all.push_back(ShardHit{static_cast<std::uint32_t>(s), hit.id, hit.distance});
  }
  auto earlier = [](const ShardHit& a, const ShardHit& b) {
    return std::tie(a.distance, a.shard, a.id) < std::tie(b.distance, b.shard, b.id);
  };
  std::size_t n = std::min<std::size_t>(k, all.size());
  std::partial_sort(all.begin(), all.begin() + n, all.end(), earlier);
  all.resize(n);
  return all;
}

}  // namespace ruvector::rulake
