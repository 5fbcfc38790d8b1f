// See collection_index.h.
#include "rulake/collection_index.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <queue>
#include <stdexcept>
#include <string>
#include <tuple>

#include "ivf/assign.h"
#include "ivf/centroid_codes.h"
#include "ivf/nearest_projected.h"
#include "ivf/assign_bounds.h"
#include "ivf/defaults.h"
#include "ivf/kmeans.h"
#include "kernels/cpu/distance.h"
#include "rabitq/code.h"
#include "rabitq/query.h"
#include "rabitq/rotator.h"
#include "util/error.h"

namespace ruvector::rulake {

namespace {

constexpr char kMagic[8] = {'R', 'L', 'K', 'I', 'M', 'A', 'G', 'E'};
// 2: int8 copies of the centroids (the centroid codes section) for ranking the lists.
constexpr std::uint32_t kVersion = 2;
constexpr std::uint32_t kMaxDim = 16000;
constexpr std::size_t kAlign = 64;
// k-means trains on at most this many rows per list, spread evenly over the collection.
constexpr std::size_t kSamplePerList = 64;
constexpr std::size_t kBatch = 4096;
// The image was built on another image's centroids (image_on_centroids) and holds none of
// its own: it is searched with that image's. It may have more lists than rows.
constexpr std::uint32_t kOnCentroids = 1;

struct Header {
  char magic[8];
  std::uint32_t version;
  std::uint32_t dim;
  std::uint32_t padded_dim;
  std::uint32_t metric;
  std::uint32_t lists;
  std::uint32_t flags;  // kOnCentroids
  std::uint64_t rows;
  std::uint64_t seed;
  std::uint64_t centroids;  // section offsets from the start of the image
  std::uint64_t centroid_codes;
  std::uint64_t list_start;
  std::uint64_t codes;
  std::uint64_t factors;
  std::uint64_t ids;
  std::uint64_t vectors;
  std::uint64_t total;
};

std::size_t align(std::size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

std::size_t code_words(std::uint32_t padded_dim) { return padded_dim / 64; }

// The centroid codes section (ivf/centroid_codes.h): four floats a list (scale, error
// norm, squared norm, code norm), each an array of `lists`, then lists × padded_dim bytes.
std::size_t centroid_code_floats(std::uint32_t lists) { return align(std::size_t{lists} * 16); }
std::size_t centroid_code_bytes(std::uint32_t lists, std::uint32_t padded_dim) {
  return centroid_code_floats(lists) + std::size_t{lists} * padded_dim;
}

// Section offsets of an image of this shape; false when the sizes overflow.
bool layout(Header* h) {
  const double bytes = static_cast<double>(h->rows) * (h->dim * 4.0 + h->padded_dim / 8.0 + 24) +
                       static_cast<double>(h->lists) * (h->padded_dim * 5.0 + 24);
  if (bytes > 1e18) return false;
  std::size_t at = align(sizeof(Header));
  h->centroids = at;
  if ((h->flags & kOnCentroids) == 0)
    at = align(at + std::size_t{h->lists} * h->padded_dim * sizeof(float));
  h->centroid_codes = at;
  if ((h->flags & kOnCentroids) == 0) at = align(at + centroid_code_bytes(h->lists, h->padded_dim));
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
    fail(ErrorKind::kIntegrity, "rulake index image is truncated");
  std::memcpy(&h, image, sizeof(Header));
  if (std::memcmp(h.magic, kMagic, sizeof(kMagic)) != 0)
    fail(ErrorKind::kIntegrity, "not a rulake index image");
  if (h.version != kVersion)
    fail(ErrorKind::kIntegrity,
         "rulake index image version " + std::to_string(h.version) + " is not supported");
  Header expect = h;
  if (h.dim == 0 || h.dim > kMaxDim || h.padded_dim != rabitq::padded_dimensions(h.dim) ||
      !is_metric(h.metric) || (h.flags & ~kOnCentroids) != 0 ||
      (h.lists > h.rows && (h.flags & kOnCentroids) == 0) || (h.rows > 0 && h.lists == 0) ||
      !layout(&expect) || expect.centroids != h.centroids ||
      expect.centroid_codes != h.centroid_codes || expect.list_start != h.list_start ||
      expect.codes != h.codes || expect.factors != h.factors || expect.ids != h.ids ||
      expect.vectors != h.vectors || expect.total != h.total) {
    fail(ErrorKind::kIntegrity, "rulake index image header is corrupt");
  }
  if (h.total > size) fail(ErrorKind::kIntegrity, "rulake index image is truncated");
  const auto* starts =
      reinterpret_cast<const std::uint64_t*>(static_cast<const char*>(image) + h.list_start);
  if (h.lists > 0 && (starts[0] != 0 || starts[h.lists] != h.rows))
    fail(ErrorKind::kIntegrity, "rulake index image list table is corrupt");
  for (std::uint32_t i = 0; i < h.lists; i++) {
    if (starts[i] > starts[i + 1])
      fail(ErrorKind::kIntegrity, "rulake index image list table is corrupt");
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

namespace {

// The header of an image of `rows` indexed rows, with its section offsets.
Header image_header(const IndexParams& params, std::uint64_t rows) {
  Header h{};
  std::memcpy(h.magic, kMagic, sizeof(kMagic));
  h.version = kVersion;
  h.dim = params.dim;
  h.padded_dim = rabitq::padded_dimensions(params.dim);
  h.metric = static_cast<std::uint32_t>(params.metric);
  h.rows = rows;
  h.seed = params.seed;
  std::uint32_t lists = params.lists != 0 ? params.lists : ivf::default_lists(rows);
  h.lists = rows == 0
                ? 0
                : static_cast<std::uint32_t>(std::min<std::uint64_t>(std::max(lists, 1u), rows));
  if (!layout(&h)) throw std::invalid_argument("collection is too large for one index image");
  return h;
}

std::size_t sample_rows(const Header& h) {
  return std::min<std::size_t>(h.rows, std::size_t{h.lists} * kSamplePerList);
}

ivf::KMeansOptions kmeans_options(const IndexParams& params, const Header& h) {
  ivf::KMeansOptions km;
  km.clusters = h.lists;
  km.iterations = params.kmeans_iterations;
  km.seed = params.seed;
  // Plain means for every metric: the estimator's error grows with the residual ||x - c||,
  // and for inner product <x,q> = <c,q> + <x-c,q> holds for any c, so the centroid that
  // minimises the residual is the best one (unit-norm spherical centroids are not).
  km.spherical = false;
  km.threads = std::max(1u, params.threads);
  return km;
}

void check_params(const IndexParams& params) {
  check_dim(params.dim);
  if (!is_metric(static_cast<std::uint32_t>(params.metric)))
    throw std::invalid_argument("unknown metric");
}

// realloc that throws: the old block stays valid (and owned by the caller) on failure.
template <typename T>
T* grow(T* block, std::size_t bytes) {
  void* p = std::realloc(block, std::max<std::size_t>(bytes, 1));
  if (p == nullptr) throw std::bad_alloc();
  return static_cast<T*>(p);
}

// Rotates rows and encodes them against the rotated centroids of an image's header: what
// placing a row in its list takes, shared by a build and by rows placed on another image's
// centroids.
class ListEncoder {
 public:
  ListEncoder(const Header& h, const float* rotated_centroids)
      : h_(h),
        centroids_(rotated_centroids),
        rotator_(h.dim, h.seed),
        prepared_(h.dim),
        residual_(h.padded_dim) {}

  // The row prepared for the metric and rotated into `out` (padded_dim floats); false for a
  // cosine row without a direction.
  bool rotate(const float* row, float* out) {
    if (!rabitq::prepare_vector(static_cast<Metric>(h_.metric), row, static_cast<int>(h_.dim),
                                prepared_.data()))
      return false;
    rotator_.rotate(prepared_.data(), out);
    return true;
  }
  // Before placing `rows` rows: many go through a projection of the centroids
  // (ivf/nearest_projected.h). Making it costs about what a thousand rows' full scans cost,
  // so an overlay's few rows scan every centroid instead.
  void expect_rows(std::size_t rows, unsigned threads) {
    const std::uint32_t rank = ivf::projection_rank(h_.lists, h_.padded_dim);
    if (rank == 0 || rows < kProjectedRows) return;
    projection_buffer_.resize(ivf::projection_floats(h_.lists, h_.padded_dim, rank));
    ivf::build_projection(centroids_, h_.lists, h_.padded_dim, rank, threads,
                          projection_buffer_.data(), &projection_);
  }
  // Each of `count` rotated rows' nearest list.
  void nearest(const float* rotated, std::size_t count, unsigned threads, std::uint32_t* lists) {
    if (projection_.rank > 0) {
      ivf::nearest_centroids_projected(rotated, count, projection_, threads, lists);
    } else {
      ivf::nearest_centroids_batch(rotated, count, centroids_, h_.lists, h_.padded_dim, false,
                                   threads, lists);
    }
  }
  void encode(const float* rotated, std::uint32_t list, std::uint64_t* code,
              rabitq::CodeFactors* factors) {
    const std::uint32_t padded = h_.padded_dim;
    const float* c = centroids_ + std::size_t{list} * padded;
    for (std::uint32_t j = 0; j < padded; j++) residual_[j] = rotated[j] - c[j];
    rabitq::encode(residual_.data(), padded, code, factors);
  }

 private:
  static constexpr std::size_t kProjectedRows = 4096;
  const Header& h_;
  const float* centroids_;
  std::vector<float> projection_buffer_;
  ivf::CentroidProjection projection_;
  rabitq::Rotator rotator_;
  std::vector<float> prepared_;
  std::vector<float> residual_;
};

// Puts the rows at the image's vectors section (in the order added, ids likewise) into
// their lists: pass 1 finds each row's nearest centroid, pass 2 encodes it into the list's
// next slot (row order within a list), then ids and rows move to their slots in place.
// Rows are prepared and rotated twice rather than kept rotated, to bound memory.
void place_rows(const Header& h, unsigned char* bytes, unsigned threads) {
  const std::size_t n = h.rows;
  if (n == 0) return;
  const std::uint32_t dim = h.dim;
  const std::uint32_t padded = h.padded_dim;
  const std::size_t row_bytes = sizeof(float) * dim;
  auto row = [&](unsigned char* base, std::size_t i) {
    return reinterpret_cast<float*>(base + i * row_bytes);
  };
  auto* out_ids = section<std::int64_t>(bytes, h.ids);
  auto* rows_in = bytes + h.vectors;
  ListEncoder encoder(h, section<float>(bytes, h.centroids));
  encoder.expect_rows(n, threads);
  std::vector<std::uint32_t> order(n);  // a row's list, then its slot
  std::vector<float> batch(std::min(kBatch, n) * padded);
  auto rotate_batch = [&](std::size_t from, std::size_t count) {
    for (std::size_t r = 0; r < count; r++)
      encoder.rotate(row(rows_in, from + r), batch.data() + r * padded);
  };
  for (std::size_t from = 0; from < n; from += kBatch) {
    std::size_t count = std::min(kBatch, n - from);
    rotate_batch(from, count);
    encoder.nearest(batch.data(), count, threads, order.data() + from);
  }
  auto* starts = section<std::uint64_t>(bytes, h.list_start);
  for (std::size_t i = 0; i < n; i++) starts[order[i] + 1]++;
  for (std::uint32_t c = 0; c < h.lists; c++) starts[c + 1] += starts[c];
  std::vector<std::uint64_t> next(starts, starts + h.lists);

  auto* codes = section<std::uint64_t>(bytes, h.codes);
  auto* factors = section<rabitq::CodeFactors>(bytes, h.factors);
  const std::size_t words = code_words(padded);
  for (std::size_t from = 0; from < n; from += kBatch) {
    std::size_t count = std::min(kBatch, n - from);
    rotate_batch(from, count);
    for (std::size_t r = 0; r < count; r++) {
      std::size_t i = from + r;
      std::uint32_t list = order[i];
      std::uint64_t slot = next[list]++;
      encoder.encode(batch.data() + r * padded, list, codes + slot * words, &factors[slot]);
      order[i] = static_cast<std::uint32_t>(slot);
    }
  }

  // Ids and rows move to their slots in place: each swap puts one row where it belongs.
  std::vector<float> held(dim);
  for (std::size_t i = 0; i < n; i++) {
    while (order[i] != i) {
      std::size_t j = order[i];
      std::memcpy(held.data(), row(rows_in, i), row_bytes);
      std::memcpy(row(rows_in, i), row(rows_in, j), row_bytes);
      std::memcpy(row(rows_in, j), held.data(), row_bytes);
      std::swap(out_ids[i], out_ids[j]);
      std::swap(order[i], order[j]);
    }
  }
}

}  // namespace

Image::~Image() { std::free(bytes_); }

Image::Image(Image&& other) noexcept : bytes_(other.bytes_), size_(other.size_) {
  other.bytes_ = nullptr;
  other.size_ = 0;
}

Image& Image::operator=(Image&& other) noexcept {
  if (this != &other) {
    std::free(bytes_);
    bytes_ = other.bytes_;
    size_ = other.size_;
    other.bytes_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

unsigned char* Image::release() {
  unsigned char* bytes = bytes_;
  bytes_ = nullptr;
  size_ = 0;
  return bytes;
}

std::size_t image_bytes(const IndexParams& params, std::uint64_t rows) {
  check_params(params);
  return image_header(params, rows).total;
}

std::size_t build_memory_bytes(const IndexParams& params, std::uint64_t rows) {
  check_params(params);
  Header h = image_header(params, rows);
  const std::size_t sample = sample_rows(h);
  ivf::KMeansOptions km = kmeans_options(params, h);
  const std::size_t bounds = ivf::kmeans_uses_bounds(km, sample, params.dim)
                                 ? ivf::AssignmentBounds::bytes(sample, h.lists)
                                 : 0;
  // finish() holds the ids apart while it moves them into the image, then one list number
  // per row; k-means holds its sample, its centroids, a few words a sampled row and maybe
  // Elkan's bounds; the passes rotate a batch at a time.
  return h.total + rows * (sizeof(std::int64_t) + sizeof(std::uint32_t)) +
         sample * (sizeof(float) * params.dim + 16) + bounds +
         std::size_t{h.lists} * params.dim * (2 * sizeof(float) + sizeof(double)) +
         std::min<std::size_t>(kBatch, rows) * sizeof(float) * h.padded_dim;
}

IndexBuilder::IndexBuilder(const IndexParams& params, Budget budget)
    : params_(params), budget_(std::move(budget)) {
  check_params(params_);
}

IndexBuilder::~IndexBuilder() {
  std::free(ids_);
  std::free(vectors_);
}

// Asks the budget for `rows` rows, then makes room for them in both buffers, growing them
// by half again so that a stream of small batches reallocates O(log n) times (in place for
// large blocks, where the allocator remaps pages rather than copying them). The room not
// yet written is address space only: the memory in use follows the rows the budget allowed.
void IndexBuilder::hold(std::uint64_t rows) {
  if (budget_ && rows > budgeted_) {
    budget_(rows);
    budgeted_ = rows;
  }
  if (rows <= capacity_) return;
  std::uint64_t capacity = std::max<std::uint64_t>({rows, capacity_ + capacity_ / 2, 1024});
  const std::size_t row_bytes = sizeof(float) * params_.dim;
  if (capacity > SIZE_MAX / row_bytes) throw std::bad_alloc();
  ids_ = grow(ids_, capacity * sizeof(std::int64_t));
  vectors_ = grow(vectors_, capacity * row_bytes);
  capacity_ = capacity;
}

void IndexBuilder::add_ids(const std::int64_t* ids, std::size_t count) {
  hold(ids_added_ + count);
  if (count > 0) std::memcpy(ids_ + ids_added_, ids, count * sizeof(std::int64_t));
  ids_added_ += count;
}

void IndexBuilder::add_vectors(const float* vectors, std::size_t count) {
  const std::uint32_t dim = params_.dim;
  for (std::size_t i = 0; i < count * dim; i++) {
    if (!std::isfinite(vectors[i]))
      throw std::invalid_argument("row " + std::to_string(rows_ + i / dim) +
                                  " has a NaN or infinite value");
  }
  hold(rows_ + count);
  if (count > 0)
    std::memcpy(vectors_ + rows_ * dim * sizeof(float), vectors, count * dim * sizeof(float));
  rows_ += count;
}

void IndexBuilder::add(const std::int64_t* ids, const float* vectors, std::size_t count) {
  add_vectors(vectors, count);
  add_ids(ids, count);
}

std::uint64_t IndexBuilder::indexable_rows() {
  if (ids_added_ != rows_)
    throw std::invalid_argument(std::to_string(ids_added_) + " ids were added for " +
                                std::to_string(rows_) + " rows");
  const std::uint32_t dim = params_.dim;
  const std::size_t row_bytes = sizeof(float) * dim;
  // Cosine rows without a direction are dropped, the others keep their order.
  if (params_.metric == Metric::kCosine) {
    std::uint64_t n = 0;
    std::vector<float> prepared(dim);
    for (std::uint64_t i = 0; i < rows_; i++) {
      float* row = reinterpret_cast<float*>(vectors_ + i * row_bytes);
      if (!rabitq::prepare_vector(params_.metric, row, static_cast<int>(dim), prepared.data()))
        continue;
      if (n != i) {
        std::memcpy(vectors_ + n * row_bytes, row, row_bytes);
        ids_[n] = ids_[i];
      }
      n++;
    }
    rows_ = ids_added_ = n;
  }
  if (rows_ > UINT32_MAX) throw std::invalid_argument("an index image holds at most 2^32 - 1 rows");
  return rows_;
}

std::size_t IndexBuilder::image_size() { return image_header(params_, indexable_rows()).total; }

namespace {

// Encodes an image whose ids and rows (as added) are in their sections and whose other
// bytes are zero: k-means on an even spread of rows, the centroids rotated, every row
// placed in its list. The header goes in last, so a build that throws leaves none.
void encode_image(const IndexParams& params, const Header& h, unsigned char* bytes) {
  const std::size_t n = h.rows;
  if (n > 0) {
    const std::uint32_t dim = params.dim;
    const unsigned char* rows_in = bytes + h.vectors;
    std::size_t sample_n = sample_rows(h);
    std::vector<float> centroids(std::size_t{h.lists} * dim);
    ivf::KMeansOptions km = kmeans_options(params, h);
    {
      std::vector<float> sample(sample_n * dim);
      for (std::size_t s = 0; s < sample_n; s++) {
        const auto* row =
            reinterpret_cast<const float*>(rows_in + (s * n / sample_n) * dim * sizeof(float));
        rabitq::prepare_vector(params.metric, row, static_cast<int>(dim), sample.data() + s * dim);
      }
      ivf::train_kmeans(sample.data(), sample_n, dim, km, centroids.data());
    }
    rabitq::Rotator rotator(dim, params.seed);
    float* rotated_centroids = section<float>(bytes, h.centroids);
    for (std::uint32_t c = 0; c < h.lists; c++) {
      rotator.rotate(centroids.data() + std::size_t{c} * dim,
                     rotated_centroids + std::size_t{c} * h.padded_dim);
    }
    auto* scales = section<float>(bytes, h.centroid_codes);
    ivf::quantize_centroids(
        rotated_centroids, h.lists, h.padded_dim,
        section<std::uint8_t>(bytes, h.centroid_codes) + centroid_code_floats(h.lists), scales,
        scales + h.lists, scales + 2 * std::size_t{h.lists}, scales + 3 * std::size_t{h.lists});
    place_rows(h, bytes, km.threads);
  }
  std::memcpy(bytes, &h, sizeof(h));
}

// Rows moved out of the builder's buffer at a time before it is shrunk behind them.
constexpr std::size_t kReleaseBytes = std::size_t{8} << 20;

}  // namespace

Image IndexBuilder::finish() {
  const std::uint64_t n = indexable_rows();
  const std::size_t row_bytes = sizeof(float) * params_.dim;
  // The row buffer becomes the image: grown to the image's size, the rows moved up to
  // their section, everything else zero.
  Header h = image_header(params_, n);
  unsigned char* bytes = grow(vectors_, h.total);
  vectors_ = nullptr;
  Image image(bytes, h.total);
  std::memmove(bytes + h.vectors, bytes, n * row_bytes);
  std::memset(bytes, 0, h.vectors);
  std::memset(bytes + h.vectors + n * row_bytes, 0, h.total - h.vectors - n * row_bytes);
  if (n > 0) std::memcpy(bytes + h.ids, ids_, n * sizeof(std::int64_t));
  std::free(ids_);
  ids_ = nullptr;
  capacity_ = ids_added_ = rows_ = budgeted_ = 0;
  encode_image(params_, h, bytes);
  return image;
}

void IndexBuilder::finish_into(void* out, std::size_t size) {
  const std::uint64_t n = indexable_rows();
  const Header h = image_header(params_, n);
  if (out == nullptr || size != h.total)
    throw std::invalid_argument("an image of " + std::to_string(h.total) + " bytes needs as many");
  auto* bytes = static_cast<unsigned char*>(out);
  std::size_t held = n * sizeof(float) * params_.dim;
  std::memset(bytes, 0, h.vectors);
  std::memset(bytes + h.vectors + held, 0, h.total - h.vectors - held);
  if (n > 0) std::memcpy(bytes + h.ids, ids_, n * sizeof(std::int64_t));
  std::free(ids_);
  ids_ = nullptr;
  // From the end, shrinking the buffer behind each block (a large block is given back to
  // the system as it shrinks), so the rows and their copy never coexist in full.
  while (held > 0) {
    const std::size_t block = std::min(held, kReleaseBytes);
    held -= block;
    std::memcpy(bytes + h.vectors + held, vectors_ + held, block);
    if (held > 0) {
      void* p = std::realloc(vectors_, held);
      if (p != nullptr) vectors_ = static_cast<unsigned char*>(p);  // else it stays as it was
    }
  }
  std::free(vectors_);
  vectors_ = nullptr;
  capacity_ = ids_added_ = rows_ = budgeted_ = 0;
  encode_image(params_, h, bytes);
}

std::vector<unsigned char> build_index(const IndexParams& params, const std::int64_t* ids,
                                       const float* vectors, std::size_t count) {
  IndexBuilder builder(params);
  builder.add(ids, vectors, count);
  Image image = builder.finish();
  return std::vector<unsigned char>(image.data(), image.data() + image.size());
}

void place_on_centroids(const void* base, std::size_t base_size, const std::int64_t* ids,
                        const float* vectors, std::size_t count, PlacedRows* out) {
  const Header h = read_header(base, base_size);
  const std::uint32_t dim = h.dim;
  const std::uint32_t padded = h.padded_dim;
  for (std::size_t i = 0; i < count * dim; i++) {
    if (!std::isfinite(vectors[i]))
      throw std::invalid_argument("row " + std::to_string(i / dim) +
                                  " has a NaN or infinite value");
  }
  if (h.lists == 0) throw std::invalid_argument("an image without lists has no centroids");
  ListEncoder encoder(h, section<float>(base, h.centroids));
  const std::size_t words = code_words(padded);
  std::vector<float> batch(std::min(kBatch, count) * padded);
  std::vector<std::size_t> taken;
  std::vector<std::uint32_t> lists;
  for (std::size_t from = 0; from < count; from += kBatch) {
    const std::size_t n = std::min(kBatch, count - from);
    // Cosine rows without a direction are left out, as a build leaves them out.
    taken.clear();
    for (std::size_t r = 0; r < n; r++) {
      if (encoder.rotate(vectors + (from + r) * dim, batch.data() + taken.size() * padded))
        taken.push_back(from + r);
    }
    lists.resize(taken.size());
    encoder.nearest(batch.data(), taken.size(), 1, lists.data());
    for (std::size_t t = 0; t < taken.size(); t++) {
      const std::size_t i = taken[t];
      const std::size_t at = out->ids.size();
      out->ids.push_back(ids[i]);
      out->vectors.insert(out->vectors.end(), vectors + i * dim, vectors + (i + 1) * dim);
      out->lists.push_back(lists[t]);
      out->codes.resize((at + 1) * words);
      out->factors.resize(at + 1);
      encoder.encode(batch.data() + t * padded, lists[t], out->codes.data() + at * words,
                     &out->factors[at]);
    }
  }
}

Image image_on_centroids(const void* base, std::size_t base_size, const PlacedRows& rows) {
  const Header b = read_header(base, base_size);
  const std::size_t n = rows.ids.size();
  const std::size_t words = code_words(b.padded_dim);
  if (rows.vectors.size() != n * b.dim || rows.lists.size() != n ||
      rows.codes.size() != n * words || rows.factors.size() != n)
    throw std::invalid_argument("placed rows do not match the image's shape");
  Header h = b;
  h.rows = n;
  h.flags = kOnCentroids;
  if (!layout(&h)) throw std::invalid_argument("collection is too large for one index image");
  auto* bytes = static_cast<unsigned char*>(std::calloc(1, h.total));
  if (bytes == nullptr) throw std::bad_alloc();
  Image image(bytes, h.total);
  std::memcpy(bytes, &h, sizeof(h));
  auto* starts = section<std::uint64_t>(bytes, h.list_start);
  for (std::size_t i = 0; i < n; i++) {
    if (rows.lists[i] >= h.lists)
      throw std::invalid_argument("a placed row's list is out of range");
    starts[rows.lists[i] + 1]++;
  }
  for (std::uint32_t c = 0; c < h.lists; c++) starts[c + 1] += starts[c];
  std::vector<std::uint64_t> next(starts, starts + h.lists);
  auto* codes = section<std::uint64_t>(bytes, h.codes);
  auto* factors = section<rabitq::CodeFactors>(bytes, h.factors);
  auto* ids = section<std::int64_t>(bytes, h.ids);
  auto* vectors = section<float>(bytes, h.vectors);
  for (std::size_t i = 0; i < n; i++) {
    const std::uint64_t slot = next[rows.lists[i]]++;
    std::memcpy(codes + slot * words, rows.codes.data() + i * words, words * sizeof(std::uint64_t));
    factors[slot] = rows.factors[i];
    ids[slot] = rows.ids[i];
    std::memcpy(vectors + slot * h.dim, rows.vectors.data() + i * h.dim, sizeof(float) * h.dim);
  }
  return image;
}

Image build_on_centroids(const void* base, std::size_t base_size, const std::int64_t* ids,
                         const float* vectors, std::size_t count) {
  PlacedRows rows;
  place_on_centroids(base, base_size, ids, vectors, count, &rows);
  return image_on_centroids(base, base_size, rows);
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
  v.centroids = (h.flags & kOnCentroids) != 0 ? nullptr : section<float>(image, h.centroids);
  v.centroid_codes = {};
  if (v.centroids != nullptr) {
    const float* floats = section<float>(image, h.centroid_codes);
    v.centroid_codes = {
        section<std::uint8_t>(image, h.centroid_codes) + centroid_code_floats(h.lists),
        floats,
        floats + h.lists,
        floats + 2 * std::size_t{h.lists},
        floats + 3 * std::size_t{h.lists},
        h.lists,
        h.padded_dim};
  }
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

std::uint32_t per_shard_k(std::uint32_t k, std::uint32_t shards) {
  if (shards <= 1 || k == 0) return k;
  const double bonus =
      std::ceil(std::sqrt(static_cast<double>(k) * std::log(static_cast<double>(shards))));
  const std::uint64_t wanted = std::uint64_t{k} + static_cast<std::uint64_t>(bonus);
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(wanted, std::uint64_t{k} * 4));
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
