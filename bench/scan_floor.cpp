// The floor of a rabitq index scan on Fashion-MNIST (60k x 784, L2, k = 10; or generated
// clustered data with --clustered, vectors that do not compress): the index that
// CREATE INDEX ... USING rabitq (embedding) builds with its default options, built and
// scanned by src/ and kernels/ alone, with no Postgres, so that bench/floor.sh can put the
// server's µs per query next to the work the scan itself has to do. Also measures how often
// the RaBitQ lower bound misses (the exact distance is below it) and what that costs recall.
//   scan_floor [--tids FILE] [--truth-out FILE] [--probes 6,16,10] [--passes 5] [--queries 1000]
//              [--clustered ROWS,DIM] [--stored]
// --clustered: instead of Fashion-MNIST, the rows and then the queries that
// `gen_clustered ROWS DIM 1000 QUERIES 42` writes (tools/clustered_data.h, same seed and
// order), row i + 1 the table's id i + 1 and query q the queries table's id q + 1.
// --tids: "id block offset" lines, the table's ctids, so that the k-means sample (chosen by
// a hash of each row's TID, ivf/priority_sample.h) and so the centroids are the server's.
// Without it row i stands at TID (i, 1): another uniform sample, an index of the same shape.
// --truth-out: the exact top 10 of each query as COPY rows "qid<TAB>{id,...}", so that the
// server's recall is measured against the same truth.
// --stored: a second floor, whose reranks read each row as the column's default storage
// (main) keeps it in the table, in table order: pglz-compressed by Postgres' own compressor
// where that shrinks it (Fashion-MNIST's rows), decoded by src/util/pglz_decode as the
// extension decodes them; uncompressed where pglz gives up (embeddings). The compressor
// comes from libpgcommon (postgresql-server-dev) and only prepares the data.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "ivf/assign.h"
#include "ivf/centroid_codes.h"
#include "ivf/defaults.h"
#include "ivf/kmeans.h"
#include "ivf/priority_sample.h"
#include "ivf/probe_order.h"
#include "kernels/cpu/distance.h"
#include "rabitq/candidate_pool.h"
#include "rabitq/code.h"
#include "rabitq/list_query.h"
#include "rabitq/metric.h"
#include "rabitq/query.h"
#include "rabitq/rotator.h"
#include "tools/clustered_data.h"
#include "util/pglz_decode.h"
#include "pg_pglz.h"
#include "../tools/idx_file.h"

namespace {

namespace rq = ::ruvector::rabitq;
namespace ivf = ::ruvector::ivf;
using Clock = std::chrono::steady_clock;

// The extension's defaults (extension/rabitq/rabitq.h, rabitq_handler.cpp): bits 1, seed 0,
// sample_factor 64, kmeans_iterations 10, lists from the row count; rabitq.epsilon 1.9,
// rabitq.iterative_scan relaxed_order, rabitq.max_scan_tuples 20000, rabitq.probes 10.
constexpr std::uint64_t kSeed = 0;
constexpr std::uint32_t kSampleFactor = 64;
constexpr std::uint32_t kKmeansIterations = 10;
constexpr float kDefaultEpsilon = 1.9f;
constexpr std::uint64_t kMaxScanTuples = 20000;
constexpr std::uint32_t kK = 10;
constexpr rq::Metric kMetric = rq::Metric::kL2;

// CPU time of this thread: on a shared machine the wall clock also counts other processes'
// turns on the core, which the server's wall time suffers too, but unevenly.
double thread_cpu_us() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

double us_since(Clock::time_point t) {
  return std::chrono::duration<double, std::micro>(Clock::now() - t).count();
}

// A rabitq index in memory: per list, its rows' code tuples (factors, row id, 1-bit code,
// as the extension's CodeTuple holds them, one after another as on a list's code pages)
// and their raw vectors in the same order (the extension's vector chain).
struct Index {
  std::uint32_t dim = 0;
  std::uint32_t padded = 0;
  std::uint32_t lists = 0;
  std::uint32_t words = 0;       // code words per row
  std::size_t tuple_bytes = 0;   // CodeFactors, row id, padding, code
  std::vector<float> centroids;  // lists x padded, rotated
  std::vector<std::uint8_t> code_bytes;
  std::vector<float> scales, error_norms, norms_squared, code_norms;
  ivf::CentroidCodes codes{};
  std::vector<std::uint32_t> list_start;  // lists + 1: rows of list l are [start[l], start[l+1])
  std::vector<unsigned char> tuples;
  std::vector<float> vectors;           // rows x dim, in list order
  std::vector<std::uint32_t> row_list;  // by row id - 1: its list
};

struct Tuple {
  rq::CodeFactors factors;
  std::uint32_t id;
  std::uint32_t unused;
  std::uint64_t code[1];  // words
};

const Tuple* tuple_at(const Index& ix, std::size_t row) {
  return reinterpret_cast<const Tuple*>(ix.tuples.data() + row * ix.tuple_bytes);
}

// The table's rows in table order (row id - 1) as the column's default storage keeps them:
// the value's payload (int16 dim, int16 unused, the floats) compressed by pglz where Postgres
// would compress it and that shrinks it, else as it is. Entries start on 8 bytes, as a
// value in a heap tuple is aligned.
class StoredRows {
 public:
  StoredRows(const std::vector<float>& rows, std::uint32_t n, std::uint32_t dim)
      : payload_(4 + sizeof(float) * std::size_t{dim}), start_(n), size_(n) {
#ifdef RUVECTOR_HAVE_PGLZ
    for (std::uint32_t i = 0; i < n; i++) {
      const std::vector<char> raw =
          ruvector::bench::vector_payload(&rows[std::size_t{i} * dim], dim);
      // The table's other columns: id and label, besides the 24-byte tuple header.
      const std::vector<char> packed = ruvector::bench::toast_pglz(raw, 24 + 8);
      const std::vector<char>& kept = packed.empty() ? raw : packed;
      size_[i] = static_cast<std::uint32_t>(kept.size());
      start_[i] = bytes_.size();
      bytes_.insert(bytes_.end(), kept.begin(), kept.end());
      bytes_.resize((bytes_.size() + 7) & ~std::size_t{7});
      compressed_count_ += !packed.empty();
    }
    buffer_.resize(payload_ + ruvector::util::kPglzDecodeSlack);
#else
    (void)rows;
    throw std::runtime_error("--stored needs Postgres' libpgcommon when scan_floor is built");
#endif
  }

  // Row i's floats: decoded into a buffer the next call reuses, or in place.
  const float* vector(std::uint32_t i) {
    const std::uint8_t* at = bytes_.data() + start_[i];
    if (size_[i] == payload_) return reinterpret_cast<const float*>(at + 4);
    if (!ruvector::util::pglz_decode(at, size_[i], buffer_.data(), payload_)) {
      throw std::runtime_error("a stored row does not decode");
    }
    return reinterpret_cast<const float*>(buffer_.data() + 4);
  }

  std::uint32_t compressed_count() const { return compressed_count_; }
  std::size_t bytes() const { return bytes_.size(); }

 private:
  std::size_t payload_;
  std::vector<std::uint8_t> bytes_;
  std::vector<std::size_t> start_;
  std::vector<std::uint32_t> size_;  // payload_ when stored as it is
  std::vector<std::uint8_t> buffer_;
  std::uint32_t compressed_count_ = 0;
};

// rabitq_build.cpp's build, as one process: the sample of sample_factor x lists rows of
// smallest TID priority, k-means on it, centroids rotated, every row rotated, assigned to
// its nearest centroid and encoded against it.
Index build_index(const std::vector<float>& rows, std::uint32_t n, std::uint32_t dim,
                  const std::vector<std::uint64_t>& places, unsigned threads) {
  Index ix;
  ix.dim = dim;
  ix.padded = rq::padded_dimensions(dim);
  ix.lists = ivf::default_lists(n);
  ix.words = ix.padded / 64;
  ix.tuple_bytes = offsetof(Tuple, code) + ix.words * 8;

  std::vector<float> sample(rows);  // prepare_vector is a copy for L2
  std::vector<std::uint64_t> priority(n);
  for (std::uint32_t i = 0; i < n; i++) priority[i] = ivf::row_priority(kSeed, places[i]);
  const std::size_t target = std::min<std::size_t>(std::size_t{kSampleFactor} * ix.lists, n);
  const std::size_t kept = ivf::keep_smallest(target, sample.data(), priority.data(), n, dim);

  ivf::KMeansOptions options;
  options.clusters = ix.lists;
  options.iterations = kKmeansIterations;
  options.seed = kSeed;
  options.threads = threads;
  std::vector<float> centroids(std::size_t{ix.lists} * dim);
  if (ix.lists >= ivf::kHierarchicalMinClusters) {
    ivf::train_kmeans_hierarchical(sample.data(), kept, dim, options, centroids.data());
  } else {
    ivf::train_kmeans(sample.data(), kept, dim, options, centroids.data());
  }
  const rq::Rotator rotator(dim, kSeed);
  ix.centroids.resize(std::size_t{ix.lists} * ix.padded);
  for (std::uint32_t l = 0; l < ix.lists; l++) {
    rotator.rotate(&centroids[std::size_t{l} * dim], &ix.centroids[std::size_t{l} * ix.padded]);
  }

  std::vector<float> rotated(std::size_t{n} * ix.padded);
  for (std::uint32_t i = 0; i < n; i++) {
    rotator.rotate(&rows[std::size_t{i} * dim], &rotated[std::size_t{i} * ix.padded]);
  }
  std::vector<std::uint32_t> assigned(n);
  ivf::nearest_centroids_batch(rotated.data(), n, ix.centroids.data(), ix.lists, ix.padded,
                               /*inner_product=*/false, threads, assigned.data());

  ix.list_start.assign(ix.lists + 1, 0);
  for (std::uint32_t i = 0; i < n; i++) ix.list_start[assigned[i] + 1]++;
  for (std::uint32_t l = 0; l < ix.lists; l++) ix.list_start[l + 1] += ix.list_start[l];
  std::vector<std::uint32_t> fill(ix.list_start.begin(), ix.list_start.end() - 1);
  ix.tuples.assign(n * ix.tuple_bytes, 0);
  ix.vectors.resize(std::size_t{n} * dim);
  ix.row_list = assigned;
  std::vector<float> residual(ix.padded);
  for (std::uint32_t i = 0; i < n; i++) {  // rows in table order: a list's rows in that order
    const std::uint32_t l = assigned[i];
    const std::uint32_t at = fill[l]++;
    const float* r = &rotated[std::size_t{i} * ix.padded];
    const float* c = &ix.centroids[std::size_t{l} * ix.padded];
    for (std::uint32_t j = 0; j < ix.padded; j++) residual[j] = r[j] - c[j];
    auto* t = reinterpret_cast<Tuple*>(ix.tuples.data() + at * ix.tuple_bytes);
    rq::encode(residual.data(), ix.padded, t->code, &t->factors);
    t->id = i + 1;
    std::memcpy(&ix.vectors[std::size_t{at} * dim], &rows[std::size_t{i} * dim],
                sizeof(float) * dim);
  }

  // The scan's probe order reads int8 copies of the centroids (rabitq_shape.cpp).
  ix.code_bytes.resize(std::size_t{ix.lists} * ix.padded);
  ix.scales.resize(ix.lists);
  ix.error_norms.resize(ix.lists);
  ix.norms_squared.resize(ix.lists);
  ix.code_norms.resize(ix.lists);
  ivf::quantize_centroids(ix.centroids.data(), ix.lists, ix.padded, ix.code_bytes.data(),
                          ix.scales.data(), ix.error_norms.data(), ix.norms_squared.data(),
                          ix.code_norms.data());
  ix.codes = {ix.code_bytes.data(),
              ix.scales.data(),
              ix.error_norms.data(),
              ix.norms_squared.data(),
              ix.code_norms.data(),
              ix.lists,
              ix.padded};
  return ix;
}

// A pass's counts, and with `phases` its wall time per phase. The thread CPU clock is a
// system call (~2 µs here, as much as a phase), so it is read only around whole passes; the
// breakdown is the steady clock's shares of the pass, applied to the CPU time.
struct Timing {
  bool phases = false;
  double start_us = 0;     // prepare and rotate the query, int8 bounds, the first probe order
  double estimate_us = 0;  // per probed list: query setup and every row's estimate and bound
  double total_us = 0;     // the rest is the candidate queue and the reranks
  double cpu_us = 0;       // the pass's thread CPU time
  double wall_us = 0;
  std::uint64_t scanned = 0;
  std::uint64_t reranked = 0;
};

// An ordered scan as extension/rabitq/rabitq_scan.cpp runs it for L2, bits = 1, the default
// relaxed_order iterative scan, and a LIMIT k executor: start(), probe_next_list() and
// next_result() replicated here (their loops are the extension's glue around buffers and
// memory contexts, not in src/), calling the same core functions on the same data. What
// is left out is Postgres' part: buffer pins and locks, page and item checks, memory
// contexts, CHECK_FOR_INTERRUPTS, the executor, the PL/pgSQL loop. Arrays persist across
// queries, as the backend keeps its candidate array.
class Scan {
 public:
  explicit Scan(const Index& ix)
      : ix_(ix),
        rotator_(ix.dim, kSeed),
        rotated_(ix.padded),
        residual_(ix.padded),
        lower_(ix.lists),
        planes_(rq::query_code_words(ix.padded)),
        scratch_(ix.padded),
        storage_(2 * std::size_t{ix.lists}),
        order_(ix.lists) {
    growth_ = rq::malloc_growth();
    pool_cap_ = 4096;
    heap_cap_ = 64;
    result_cap_ = 64;
    pool_ = static_cast<rq::Candidate*>(std::malloc(sizeof(rq::Candidate) * pool_cap_));
    heap_ = static_cast<rq::Candidate*>(std::malloc(sizeof(rq::Candidate) * heap_cap_));
    results_array_ = static_cast<rq::Result*>(std::malloc(sizeof(rq::Result) * result_cap_));
  }
  ~Scan() {
    std::free(pool_);
    std::free(heap_);
    std::free(results_array_);
  }
  Scan(const Scan&) = delete;
  Scan& operator=(const Scan&) = delete;

  // The k nearest rows' ids into out; t: time spent, when timing.
  void search(const float* query, std::uint32_t probes, float epsilon, std::uint32_t k,
              std::uint32_t* out, Timing* t) {
    const bool phases = t != nullptr && t->phases;
    const auto c0 = phases ? Clock::now() : Clock::time_point{};
    query_ = query;
    epsilon_ = epsilon;
    probes_ = std::min(probes, ix_.lists);
    start();
    if (phases) t->start_us += us_since(c0);
    while (next_ < probes_) probe_next_list(t);
    for (std::uint32_t i = 0; i < k; i++) {
      if (!next_result(t, &out[i])) {
        std::fill(out + i, out + k, 0);
        break;
      }
    }
    // The queues' arrays may have grown: keep them for the next query.
    pool_ = candidates_.pool_array();
    pool_cap_ = candidates_.pool_capacity();
    heap_ = candidates_.heap_array();
    results_array_ = results_.array();
    if (phases) t->total_us += us_since(c0);
    if (t != nullptr) {
      t->scanned += scanned_;
      t->reranked += reranked_;
    }
  }

  // The lists the last search probed, in probe order.
  std::vector<std::uint32_t> probed() const {
    std::vector<std::uint32_t> lists;
    for (std::uint32_t i = 0; i < next_; i++) lists.push_back(order_[i].list);
    return lists;
  }
  const float* rotated() const { return rotated_.data(); }

  // Reranks read rows from `stored` (decoding them as needed), or with nullptr from the
  // index's plain array.
  void read_rows_from(StoredRows* stored) { stored_ = stored; }

 private:
  void start() {
    // prepare_vector is a copy for L2; the extension also builds the Rotator per query.
    rotator_.rotate(query_, rotated_.data());
    ivf::key_lower_bounds(rotated_.data(), ix_.codes, false, scratch_.data(), lower_.data());
    probe_order_.init(storage_.data(), lower_.data(), ix_.lists);
    sorted_ = next_ = 0;
    scanned_ = reranked_ = 0;
    sort_lists_from(probes_);
    // Growth may have moved the heap and result arrays: take their current capacities.
    candidates_.init(pool_, pool_cap_, heap_, heap_cap_, rq::CandidateQueue::Order::kByBound,
                     growth_);
    results_.init(results_array_, result_cap_, growth_);
  }

  void sort_lists_from(std::uint32_t count) {
    const std::uint32_t want = std::min(ix_.lists, count);
    auto exact = [this](std::uint32_t list) {
      return rq::centroid_key(kMetric, rotated_.data(),
                              &ix_.centroids[std::size_t{list} * ix_.padded], ix_.padded);
    };
    while (sorted_ < want && probe_order_.next(exact, &order_[sorted_])) sorted_++;
  }

  void probe_next_list(Timing* t) {
    const bool phases = t != nullptr && t->phases;
    const auto c0 = phases ? Clock::now() : Clock::time_point{};
    if (next_ >= sorted_) sort_lists_from(std::max(sorted_ * 2, probes_));
    const std::uint32_t list = order_[next_++].list;
    const float* centroid = &ix_.centroids[std::size_t{list} * ix_.padded];
    rq::ListQuery lq;
    rq::prepare_list_query(kMetric, rotated_.data(), centroid, ix_.padded, residual_.data(),
                           planes_.data(), &lq);
    const float v_norm = lq.code.norm;
    // As the extension does a page at a time: every estimate, then bounds and candidates.
    const std::uint32_t first = ix_.list_start[list], end = ix_.list_start[list + 1];
    estimates_.resize(std::max<std::size_t>(estimates_.size(), end - first));
    rows_.resize(estimates_.size());
    for (std::uint32_t row = first; row < end; row++) {
      rows_[row - first] = reinterpret_cast<const std::uint8_t*>(tuple_at(ix_, row));
    }
    rq::estimate_ip_rows(lq.code, planes_.data(), rows_.data(), offsetof(Tuple, code),
                         offsetof(Tuple, factors), end - first, estimates_.data());
    scanned_ += end - first;
    for (std::uint32_t row = first; row < end; row++) {
      const Tuple* tu = tuple_at(ix_, row);
      rq::Candidate c{};
      c.tid = rq::HeapTid{0, static_cast<std::uint16_t>(tu->id >> 16),
                          static_cast<std::uint16_t>(tu->id & 0xFFFF)};
      c.vector_block = row;
      c.probe = rq::kRefined;
      c.lower =
          rq::lower_bound(kMetric, epsilon_, estimates_[row - first], tu->factors.residual_norm,
                          tu->factors.error_unit, v_norm, lq.centroid_dot);
      candidates_.add(c);
    }
    if (phases) t->estimate_us += us_since(c0);
  }

  bool can_probe_more() const { return next_ < ix_.lists && scanned_ < kMaxScanTuples; }

  bool next_result(Timing* t, std::uint32_t* id) {
    for (;;) {
      const bool have_result = !results_.empty();
      const double best = have_result ? results_.top().distance : INFINITY;
      const bool have_candidate = candidates_.settle();
      const float lower = have_candidate ? candidates_.top().lower : INFINITY;
      if (have_result && best <= lower) break;
      if (have_candidate) {
        rerank_one();
      } else if (can_probe_more()) {
        probe_next_list(t);
      } else if (have_result) {
        break;
      } else {
        return false;
      }
    }
    const rq::Result r = results_.pop();
    *id = (std::uint32_t{r.tid.block_lo} << 16) | r.tid.offset;
    return true;
  }

  void rerank_one() {
    const rq::Candidate c = candidates_.pop();
    reranked_++;
    rq::Result r;
    r.tid = c.tid;
    const float* v =
        stored_ != nullptr
            ? stored_->vector(((std::uint32_t{c.tid.block_lo} << 16) | c.tid.offset) - 1)
            : &ix_.vectors[std::size_t{c.vector_block} * ix_.dim];
    r.distance = rq::exact_distance(kMetric, v, query_, static_cast<int>(ix_.dim));
    results_.push(r);
  }

  const Index& ix_;
  StoredRows* stored_ = nullptr;
  rq::Rotator rotator_;
  const float* query_ = nullptr;
  float epsilon_ = kDefaultEpsilon;
  std::uint32_t probes_ = 0;
  std::vector<float> rotated_, residual_, lower_, estimates_;
  std::vector<const std::uint8_t*> rows_;
  std::vector<std::uint64_t> planes_;
  std::vector<std::int8_t> scratch_;
  std::vector<ivf::ListKey> storage_, order_;
  ivf::ProbeOrder probe_order_{};
  std::uint32_t sorted_ = 0, next_ = 0;
  std::uint64_t scanned_ = 0, reranked_ = 0;
  rq::Growth growth_{};
  rq::Candidate* pool_;
  rq::Candidate* heap_;
  rq::Result* results_array_;
  std::uint32_t pool_cap_, heap_cap_, result_cap_;
  rq::CandidateQueue candidates_{};
  rq::ResultQueue results_{};
};

// Exact top k ids of every query by brute force, on `threads` threads.
std::vector<std::uint32_t> exact_truth(const std::vector<float>& rows, std::uint32_t n,
                                       const std::vector<float>& queries, std::uint32_t nq,
                                       std::uint32_t dim, std::uint32_t k, unsigned threads) {
  std::vector<std::uint32_t> truth(std::size_t{nq} * k);
  const auto& kern = ruvector::kernels::distance_kernels();
  auto work = [&](std::uint32_t from, std::uint32_t to) {
    std::vector<std::pair<float, std::uint32_t>> d(n);
    for (std::uint32_t q = from; q < to; q++) {
      const float* qv = &queries[std::size_t{q} * dim];
      for (std::uint32_t i = 0; i < n; i++) {
        d[i] = {kern.l2_squared(&rows[std::size_t{i} * dim], qv, dim), i + 1};
      }
      std::partial_sort(d.begin(), d.begin() + k, d.end());
      for (std::uint32_t j = 0; j < k; j++) truth[std::size_t{q} * k + j] = d[j].second;
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; t++) {
    pool.emplace_back(work, nq * t / threads, nq * (t + 1) / threads);
  }
  for (auto& th : pool) th.join();
  return truth;
}

double recall(const std::vector<std::uint32_t>& got, const std::vector<std::uint32_t>& truth,
              std::uint32_t nq, std::uint32_t k) {
  std::uint64_t hits = 0;
  for (std::uint32_t q = 0; q < nq; q++) {
    const std::uint32_t* t = &truth[std::size_t{q} * k];
    for (std::uint32_t j = 0; j < k; j++) {
      hits += std::count(t, t + k, got[std::size_t{q} * k + j]) > 0;
    }
  }
  return static_cast<double>(hits) / (std::size_t{nq} * k);
}

std::vector<std::uint32_t> parse_list(const char* s) {
  std::vector<std::uint32_t> out;
  for (const char* p = s; *p != '\0';) {
    char* end;
    const unsigned long v = std::strtoul(p, &end, 10);
    if (end == p) throw std::runtime_error(std::string("not a list of numbers: ") + s);
    out.push_back(static_cast<std::uint32_t>(v));
    p = *end == ',' ? end + 1 : end;
  }
  return out;
}

// Per row its TID as the build hashes it, (block << 16) | offset, in the table's order.
std::vector<std::uint64_t> read_places(const char* path, std::uint32_t n) {
  std::vector<std::uint64_t> places(n);
  for (std::uint32_t i = 0; i < n; i++) places[i] = (std::uint64_t{i} << 16) | 1;
  if (path == nullptr) return places;
  FILE* f = std::fopen(path, "r");
  if (f == nullptr) throw std::runtime_error(std::string("cannot read ") + path);
  unsigned long id, block, offset;
  std::uint32_t seen = 0;
  while (std::fscanf(f, "%lu %lu %lu", &id, &block, &offset) == 3) {
    if (id < 1 || id > n) throw std::runtime_error("row id out of range in the TID file");
    places[id - 1] = (std::uint64_t{block} << 16) | offset;
    seen++;
  }
  std::fclose(f);
  if (seen != n) throw std::runtime_error("the TID file does not name every row once");
  return places;
}

}  // namespace

int main(int argc, char** argv) {
  const char* tids = nullptr;
  const char* truth_out = nullptr;
  std::vector<std::uint32_t> probe_list{6, 16, 10};
  std::uint32_t passes = 5;
  std::uint32_t nq = 1000;
  std::vector<std::uint32_t> clustered;  // rows, dim
  bool stored = false;
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    const bool valued = i + 1 < argc;
    if (a == "--stored") {
      stored = true;
    } else if (a == "--tids" && valued) {
      tids = argv[++i];
    } else if (a == "--truth-out" && valued) {
      truth_out = argv[++i];
    } else if (a == "--probes" && valued) {
      probe_list = parse_list(argv[++i]);
    } else if (a == "--passes" && valued) {
      passes = static_cast<std::uint32_t>(std::max(1L, std::strtol(argv[++i], nullptr, 10)));
    } else if (a == "--queries" && valued) {
      nq = static_cast<std::uint32_t>(std::strtoul(argv[++i], nullptr, 10));
    } else if (a == "--clustered" && valued) {
      clustered = parse_list(argv[++i]);
      if (clustered.size() != 2 || clustered[0] < 10 || clustered[1] < 1) clustered = {0};
    } else {
      std::fprintf(stderr,
                   "usage: %s [--tids FILE] [--truth-out FILE] [--probes 6,16,10] "
                   "[--passes N] [--queries N] [--clustered ROWS,DIM] [--stored]\n",
                   argv[0]);
      return 2;
    }
  }
  const char* env = std::getenv("FASHION_MNIST_DIR");
  const std::string dir = env != nullptr ? env : "/usr/share/datasets/fashion-mnist";
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());

  if (clustered.size() == 1) {
    std::fprintf(stderr, "%s: --clustered takes ROWS,DIM (at least 10 rows)\n", argv[0]);
    return 2;
  }
  std::uint32_t dim = 0, qdim = 0;
  std::vector<float> rows, queries;
  std::string data_name = "Fashion-MNIST";
  if (clustered.empty()) {
    std::size_t d = 0, qd = 0;
    rows = read_idx_images(dir + "/train-images-idx3-ubyte.gz", ~std::size_t{0}, &d);
    queries = read_idx_images(dir + "/t10k-images-idx3-ubyte.gz", nq, &qd);
    dim = static_cast<std::uint32_t>(d);
    qdim = static_cast<std::uint32_t>(qd);
  } else {
    dim = qdim = clustered[1];
    ruvector::tools::ClusteredData data(static_cast<int>(dim), 1000, 42);
    rows.resize(std::size_t{clustered[0]} * dim);
    for (std::size_t r = 0; r < clustered[0]; r++) data.draw(&rows[r * dim]);
    queries.resize(std::size_t{nq} * dim);
    for (std::size_t q = 0; q < nq; q++) data.draw(&queries[q * dim]);
    data_name = "clustered";
  }
  const auto n = static_cast<std::uint32_t>(rows.size() / dim);
  nq = static_cast<std::uint32_t>(queries.size() / qdim);

  auto t0 = Clock::now();
  const Index ix = build_index(rows, n, dim, read_places(tids, n), threads);
  const double build_s = us_since(t0) / 1e6;
  t0 = Clock::now();
  const std::vector<std::uint32_t> truth = exact_truth(rows, n, queries, nq, dim, kK, threads);
  const double truth_s = us_since(t0) / 1e6;
  if (truth_out != nullptr) {
    FILE* f = std::fopen(truth_out, "w");
    if (f == nullptr) throw std::runtime_error(std::string("cannot write ") + truth_out);
    for (std::uint32_t q = 0; q < nq; q++) {
      std::fprintf(f, "%u\t{", q + 1);
      for (std::uint32_t j = 0; j < kK; j++) {
        std::fprintf(f, j > 0 ? ",%u" : "%u", truth[std::size_t{q} * kK + j]);
      }
      std::fprintf(f, "}\n");
    }
    std::fclose(f);
  }
  std::printf(
      "%s %u x %u, L2, k = %u, %u queries; %u lists, bits 1, seed 0 (%s); "
      "build %.1f s, exact truth %.1f s (%u threads); ISA %s\n",
      data_name.c_str(), n, dim, kK, nq, ix.lists,
      tids != nullptr ? "the table's TIDs" : "stand-in TIDs", build_s, truth_s, threads,
      ruvector::kernels::distance_kernels().isa);

  std::unique_ptr<StoredRows> as_stored;
  if (stored) {
    as_stored = std::make_unique<StoredRows>(rows, n, dim);
    std::printf("Rows as stored: %u of %u pglz-compressed, %.1f MB\n",
                as_stored->compressed_count(), n, as_stored->bytes() / 1048576.0);
  }

  // The floor: every query in turn on one thread, `passes` times; the median pass by CPU
  // time and the median by wall time.
  Scan scan(ix);
  std::vector<std::uint32_t> got(std::size_t{nq} * kK);
  auto timed_passes = [&](std::uint32_t probes, double* cpu, double* wall) {
    std::vector<Timing> runs(passes);
    for (Timing& t : runs) {
      const double cpu0 = thread_cpu_us();
      const auto wall0 = Clock::now();
      for (std::uint32_t q = 0; q < nq; q++) {
        scan.search(&queries[std::size_t{q} * dim], probes, kDefaultEpsilon, kK, &got[q * kK], &t);
      }
      t.wall_us = us_since(wall0);
      t.cpu_us = thread_cpu_us() - cpu0;
    }
    std::sort(runs.begin(), runs.end(),
              [](const Timing& a, const Timing& b) { return a.cpu_us < b.cpu_us; });
    *cpu = runs[passes / 2].cpu_us / nq;
    std::sort(runs.begin(), runs.end(),
              [](const Timing& a, const Timing& b) { return a.wall_us < b.wall_us; });
    *wall = runs[passes / 2].wall_us / nq;
  };
  std::printf(
      "\n| probes | recall@10 | floor CPU µs/q | floor wall µs/q | start µs/q | estimates µs/q | "
      "queue + reranks µs/q | rows estimated/q | reranked/q |%s\n"
      "|---|---|---|---|---|---|---|---|---|%s\n",
      stored ? " rows as stored: floor CPU µs/q | rows as stored: floor wall µs/q |" : "",
      stored ? "---|---|" : "");
  for (std::uint32_t probes : probe_list) {
    scan.read_rows_from(nullptr);
    for (std::uint32_t q = 0; q < nq; q++) {  // warm-up pass, and the recall
      scan.search(&queries[std::size_t{q} * dim], probes, kDefaultEpsilon, kK, &got[q * kK],
                  nullptr);
    }
    const double r = recall(got, truth, nq, kK);
    double cpu, wall;
    timed_passes(probes, &cpu, &wall);
    Timing m;  // one more pass, for the breakdown
    m.phases = true;
    for (std::uint32_t q = 0; q < nq; q++) {
      scan.search(&queries[std::size_t{q} * dim], probes, kDefaultEpsilon, kK, &got[q * kK], &m);
    }
    const double share = cpu / m.total_us;
    std::printf("| %u | %.3f | %.1f | %.1f | %.1f | %.1f | %.1f | %.0f | %.1f |", probes, r, cpu,
                wall, m.start_us * share, m.estimate_us * share,
                (m.total_us - m.start_us - m.estimate_us) * share, double(m.scanned) / nq,
                double(m.reranked) / nq);
    if (stored) {
      // The same scan with its reranks reading the stored rows: the answers must not
      // change, which the recall checks.
      scan.read_rows_from(as_stored.get());
      for (std::uint32_t q = 0; q < nq; q++) {
        scan.search(&queries[std::size_t{q} * dim], probes, kDefaultEpsilon, kK, &got[q * kK],
                    nullptr);
      }
      if (recall(got, truth, nq, kK) != r)
        throw std::runtime_error("rows as stored answer differently");
      timed_passes(probes, &cpu, &wall);
      scan.read_rows_from(nullptr);
      std::printf(" %.1f | %.1f |", cpu, wall);
    }
    std::printf("\n");
  }

  // The bound: over every row of the lists each scan probed, how often its exact distance
  // is below the lower bound the scan used (the bound's miss), and among the true top 10,
  // which rows the scan lost to such a miss (in a probed list, yet not returned: with
  // exact reranks only a lower bound above the row's distance can rule it out) and which
  // to probing (their list was not probed). The estimator's error is close to normal with
  // standard deviation error_unit x ||v|| (Gao & Long, Thm 3.2), so epsilon counts standard
  // deviations and a row falls below its bound about as often as P(Z > epsilon).
  const float epsilons[] = {1.0f, 1.3f, 1.5f, kDefaultEpsilon, 2.5f};
  const auto& kern = ruvector::kernels::distance_kernels();
  std::printf(
      "\nBound misses: exact distance < lower bound, over every row of the probed lists\n"
      "\n| probes | epsilon | recall@10 | reranked/q | rows below bound | Gaussian tail P(Z > "
      "epsilon) | true top-10 rows below bound | top-10 lost to the bound /q | top-10 lost to "
      "probing /q |\n"
      "|---|---|---|---|---|---|---|---|---|\n");
  std::vector<float> v(ix.padded);
  std::vector<std::uint64_t> planes(rq::query_code_words(ix.padded));
  for (std::uint32_t probes : probe_list) {
    for (float eps : epsilons) {
      std::uint64_t rows_seen = 0, below = 0, top_seen = 0, top_below = 0;
      std::uint64_t lost_bound = 0, lost_probe = 0;
      Timing t;
      for (std::uint32_t q = 0; q < nq; q++) {
        const float* qv = &queries[std::size_t{q} * dim];
        std::uint32_t* out = &got[q * kK];
        scan.search(qv, probes, eps, kK, out, &t);
        const std::uint32_t* tq = &truth[std::size_t{q} * kK];
        std::vector<std::uint32_t> lists = scan.probed();
        for (std::uint32_t list : lists) {
          const float* c = &ix.centroids[std::size_t{list} * ix.padded];
          rq::ListQuery lq;
          rq::prepare_list_query(kMetric, scan.rotated(), c, ix.padded, v.data(), planes.data(),
                                 &lq);
          for (std::uint32_t row = ix.list_start[list]; row < ix.list_start[list + 1]; row++) {
            const Tuple* tu = tuple_at(ix, row);
            const float est = rq::estimate_ip(lq.code, planes.data(), tu->code, tu->factors);
            const float lb = rq::lower_bound(kMetric, eps, est, tu->factors.residual_norm,
                                             tu->factors.error_unit, lq.code.norm, lq.centroid_dot);
            const double d = std::sqrt(
                static_cast<double>(kern.l2_squared(&ix.vectors[std::size_t{row} * dim], qv, dim)));
            const bool miss = d < lb;
            const bool top = std::count(tq, tq + kK, tu->id) > 0;
            rows_seen++;
            below += miss;
            top_seen += top;
            top_below += top && miss;
          }
        }
        for (std::uint32_t j = 0; j < kK; j++) {
          const std::uint32_t id = tq[j];
          if (std::count(out, out + kK, id) > 0) continue;
          const bool probed = std::count(lists.begin(), lists.end(), ix.row_list[id - 1]) > 0;
          (probed ? lost_bound : lost_probe)++;
        }
      }
      std::printf(
          "| %u | %.1f | %.3f | %.1f | %.3f%% (%llu of %llu) | %.3f%% | %.3f%% (%llu of "
          "%llu) | %.3f | %.3f |\n",
          probes, eps, recall(got, truth, nq, kK), double(t.reranked) / nq,
          100.0 * below / rows_seen, static_cast<unsigned long long>(below),
          static_cast<unsigned long long>(rows_seen), 50.0 * std::erfc(eps / std::sqrt(2.0)),
          100.0 * top_below / top_seen, static_cast<unsigned long long>(top_below),
          static_cast<unsigned long long>(top_seen), double(lost_bound) / nq,
          double(lost_probe) / nq);
    }
  }
  return 0;
}
