// How often the rabitq error bound misses (the exact distance is below the lower bound) on a
// data set, at rabitq.epsilon 1.9 and at the full-probe epsilon that the index's build
// calibration (rabitq/calibration.h) picks, measured on held-out queries that the
// calibration never saw (bench/recall_probes.sh prints the recall this costs).
//   build/gen_hard mix 100000 256 200 1 0 | bound_miss NAME [QUERIES]
// Reads COPY text rows "id<TAB>[x1,...]" (L2). As CREATE INDEX does with its defaults: lists
// from the row count, a k-means sample of 64 rows a list, the calibration on the sample's
// first 8192 rows. Then the last QUERIES rows (default 500) are queries against every other
// row in their 16 nearest lists, encoded against its nearest centroid.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "ivf/assign.h"
#include "ivf/defaults.h"
#include "ivf/kmeans.h"
#include "kernels/cpu/distance.h"
#include "rabitq/calibration.h"
#include "rabitq/code.h"
#include "rabitq/list_query.h"
#include "rabitq/query.h"
#include "rabitq/rotator.h"

namespace {

namespace rq = ::ruvector::rabitq;
namespace ivf = ::ruvector::ivf;

constexpr std::uint32_t kSampleFactor = 64;
constexpr std::size_t kCalibrationRows = 8192;  // as extension/rabitq/rabitq_build.cpp
constexpr std::uint32_t kCalibrationQueries = 512;
constexpr std::uint32_t kProbes = 16;
constexpr std::uint32_t kK = 10;

std::vector<float> read_rows(std::uint32_t* dim) {
  std::vector<float> rows;
  std::string line;
  *dim = 0;
  while (std::getline(std::cin, line)) {
    const char* p = line.c_str() + line.find('[') + 1;
    std::uint32_t d = 0;
    while (*p && *p != ']') {
      char* end;
      rows.push_back(std::strtof(p, &end));
      d++;
      p = *end == ',' ? end + 1 : end;
    }
    if (*dim == 0) *dim = d;
  }
  return rows;
}

double normal_tail(double x) { return 0.5 * std::erfc(x / std::sqrt(2.0)); }

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bound_miss NAME [QUERIES] < rows\n");
    return 2;
  }
  const std::string name = argv[1];
  const std::uint32_t queries = argc > 2 ? std::atoi(argv[2]) : 500;
  std::uint32_t dim;
  std::vector<float> raw = read_rows(&dim);
  const std::size_t n = raw.size() / dim;
  const rq::Rotator rotator(dim, 0);
  const std::uint32_t padded = rotator.padded_dim();
  // A fixed shuffle stands for the index's hash-of-TID sample.
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937_64(1));
  std::vector<float> rows(n * padded);
  for (std::size_t i = 0; i < n; i++) rotator.rotate(&raw[order[i] * dim], &rows[i * padded]);

  const std::uint32_t lists = ivf::default_lists(n - queries);
  const std::size_t sample = std::min<std::size_t>(std::size_t{kSampleFactor} * lists, n - queries);
  ivf::KMeansOptions options;
  options.clusters = lists;
  options.threads = 2;
  // Rotation keeps distances: k-means in the rotated space gives the index's centroids.
  std::vector<float> centroids(std::size_t{lists} * padded);
  ivf::train_kmeans(rows.data(), sample, padded, options, centroids.data());

  const rq::CalibrationSample calibration{
      rq::Metric::kL2,  rows.data(), std::min(sample, kCalibrationRows),
      centroids.data(), lists,       padded};
  const float full =
      rq::full_probe_epsilon(rq::normalized_errors(calibration, kCalibrationQueries, kProbes, 2));

  // Held out: the last rows are the queries, every other row is indexed.
  const std::size_t m = n - queries;
  std::vector<std::uint32_t> list_of(m);
  ivf::nearest_centroids_batch(rows.data(), m, centroids.data(), lists, padded, false, 2,
                               list_of.data());
  std::vector<std::vector<std::size_t>> members(lists);
  for (std::size_t i = 0; i < m; i++) members[list_of[i]].push_back(i);
  const std::size_t words = padded / 64;
  std::vector<std::uint64_t> codes(m * words);
  std::vector<rq::CodeFactors> factors(m);
  std::vector<float> residual(padded);
  for (std::size_t i = 0; i < m; i++) {
    const float* c = &centroids[std::size_t{list_of[i]} * padded];
    for (std::uint32_t j = 0; j < padded; j++) residual[j] = rows[i * padded + j] - c[j];
    rq::encode(residual.data(), padded, &codes[i * words], &factors[i]);
  }

  const float epsilons[] = {1.9f, 2.5f, 3.0f, full};
  constexpr int kEps = 4;
  std::uint64_t pairs = 0, top_pairs = 0, miss[kEps] = {}, top_miss[kEps] = {};
  const auto& k = ::ruvector::kernels::distance_kernels();
  std::vector<float> v(padded);
  std::vector<std::uint64_t> planes(rq::query_code_words(padded));
  std::vector<std::pair<float, std::uint32_t>> keys(lists);
  struct Pair {
    float distance;
    float z;
  };
  std::vector<Pair> met;
  for (std::uint32_t q = 0; q < queries; q++) {
    const float* query = &rows[(m + q) * padded];
    for (std::uint32_t l = 0; l < lists; l++) {
      keys[l] = {
          rq::centroid_key(rq::Metric::kL2, query, &centroids[std::size_t{l} * padded], padded), l};
    }
    std::partial_sort(keys.begin(), keys.begin() + std::min(kProbes, lists), keys.end());
    met.clear();
    for (std::uint32_t p = 0; p < std::min(kProbes, lists); p++) {
      const std::uint32_t l = keys[p].second;
      const float* c = &centroids[std::size_t{l} * padded];
      rq::ListQuery lq;
      rq::prepare_list_query(rq::Metric::kL2, query, c, padded, v.data(), planes.data(), &lq);
      if (lq.code.norm == 0) continue;
      const float cv = k.inner_product(c, v.data(), padded);
      for (std::size_t i : members[l]) {
        const rq::CodeFactors& f = factors[i];
        if (f.error_unit == 0) continue;
        const float est = rq::estimate_ip(lq.code, planes.data(), &codes[i * words], f);
        const float truth =
            (k.inner_product(&rows[i * padded], v.data(), padded) - cv) / f.residual_norm;
        met.push_back({k.l2_squared(&rows[i * padded], query, padded),
                       (truth - est) / (f.error_unit * lq.code.norm)});
      }
    }
    const std::size_t top = std::min<std::size_t>(kK, met.size());
    std::partial_sort(met.begin(), met.begin() + top, met.end(),
                      [](const Pair& a, const Pair& b) { return a.distance < b.distance; });
    for (std::size_t i = 0; i < met.size(); i++) {
      pairs++;
      top_pairs += i < top;
      for (int e = 0; e < kEps; e++) {
        const bool missed = met[i].z > epsilons[e];
        miss[e] += missed;
        top_miss[e] += missed && i < top;
      }
    }
  }
  std::printf("%s: %zu rows x %u, %u lists, %u held-out queries x %u lists: %llu pairs\n",
              name.c_str(), n, dim, lists, queries, kProbes,
              static_cast<unsigned long long>(pairs));
  std::printf(
      "| data set | epsilon | rows below bound | true top-10 below bound | P(Z > epsilon) |\n");
  std::printf("|---|---|---|---|---|\n");
  for (int e = 0; e < kEps; e++) {
    std::printf("| %s | %.2f%s | %.4f%% | %.4f%% | %.4f%% |\n", name.c_str(), epsilons[e],
                e == kEps - 1 ? " (calibrated)" : "", 100.0 * miss[e] / pairs,
                100.0 * top_miss[e] / top_pairs, 100 * normal_tail(epsilons[e]));
  }
  return 0;
}
