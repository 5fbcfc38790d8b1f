// See kmeans.h. Lloyd iterations: assign every row to its nearest centroid (in parallel
// over rows; after the first iteration only where Elkan's bounds do not settle it, see
// assign_bounds.h), then recompute each centroid as the mean of its rows summed in row order in
// double (in parallel over centroids), so no sum depends on the thread count. Empty
// clusters take half of the largest one, as faiss does.
#include "ivf/kmeans.h"

#include "util/splitmix64.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <vector>

#include "ivf/assign.h"
#include "ivf/assign_bounds.h"
#include "ivf/parallel.h"
#include "kernels/cpu/distance.h"

namespace ruvector::ivf {

namespace {

using ::ruvector::splitmix64_next;

void normalize(float* c, std::uint32_t dim) {
  double norm = 0;
  for (std::uint32_t j = 0; j < dim; j++) norm += static_cast<double>(c[j]) * c[j];
  norm = std::sqrt(norm);
  if (norm == 0) return;
  for (std::uint32_t j = 0; j < dim; j++) c[j] = static_cast<float>(c[j] / norm);
}

// k-means++ seeding (Arthur & Vassilvitskii 2007) with a seeded generator: each next
// centroid is a row drawn with probability proportional to its squared distance to the
// nearest centroid so far. It needs one pass over its rows per centroid, each pass
// waiting on the previous pick: over a whole sample (64 rows a list in a rabitq build)
// that is a memory-bound stream of the sample per centroid and cost as much as six Lloyd
// iterations. So it draws from an evenly spaced subset of kSeedRowsPerCluster rows a
// cluster, small enough to stay in cache; the Lloyd iterations that follow use every row.
constexpr std::size_t kSeedRowsPerCluster = 16;

void init_centroids(const float* data, std::size_t n, std::uint32_t dim,
                    const KMeansOptions& options, float* centroids) {
  const auto& k = kernels::distance_kernels();
  const std::size_t m = std::min<std::size_t>(n, kSeedRowsPerCluster * options.clusters);
  // Row i of the subset is row i * n / m of the data: spread over all of it, in order.
  auto row = [&](std::size_t i) {
    return data + static_cast<std::size_t>(static_cast<unsigned __int128>(i) * n / m) * dim;
  };
  std::uint64_t state = options.seed ^ 0x6b6d65616e73ULL;
  std::size_t first = splitmix64_next(&state) % m;
  std::memcpy(centroids, row(first), sizeof(float) * dim);
  std::vector<double> nearest(m);
  constexpr std::size_t kChunk = 1024;
  const std::size_t tasks = (m + kChunk - 1) / kChunk;
  for (std::uint32_t c = 1; c <= options.clusters; c++) {
    const float* last = centroids + static_cast<std::size_t>(c - 1) * dim;
    parallel_for(options.threads, tasks, [&](std::size_t t) {
      std::size_t end = std::min(m, (t + 1) * kChunk);
      for (std::size_t i = t * kChunk; i < end; i++) {
        double d = k.l2_squared(row(i), last, dim);
        if (c == 1 || d < nearest[i]) nearest[i] = d;
      }
    });
    if (c == options.clusters) break;
    double total = 0;
    for (std::size_t i = 0; i < m; i++) total += nearest[i];
    std::size_t pick = 0;
    if (total > 0) {
      double target = static_cast<double>(splitmix64_next(&state) >> 11) * 0x1.0p-53 * total;
      double run = 0;
      for (pick = 0; pick + 1 < m; pick++) {
        run += nearest[pick];
        if (run > target && nearest[pick] > 0) break;
      }
    } else {
      pick = splitmix64_next(&state) % m;  // every row coincides with a centroid already
    }
    std::memcpy(centroids + static_cast<std::size_t>(c) * dim, row(pick), sizeof(float) * dim);
  }
}

// Gives each empty cluster half of the currently largest one by splitting its centroid
// into two slightly perturbed copies.
void split_empty(std::vector<std::size_t>& sizes, std::uint32_t dim, float* centroids) {
  constexpr float kEps = 1.0f / 1024;
  for (std::size_t e = 0; e < sizes.size(); e++) {
    if (sizes[e] != 0) continue;
    std::size_t big = 0;
    for (std::size_t c = 1; c < sizes.size(); c++) {
      if (sizes[c] > sizes[big]) big = c;
    }
    if (sizes[big] <= 1) return;
    float* cb = centroids + big * dim;
    float* ce = centroids + e * dim;
    for (std::uint32_t j = 0; j < dim; j++) {
      float sign = (j % 2 == 0) ? 1.0f : -1.0f;
      float shift = kEps * (std::fabs(cb[j]) + kEps);
      ce[j] = cb[j] + sign * shift;
      cb[j] = cb[j] - sign * shift;
    }
    sizes[e] = sizes[big] / 2;
    sizes[big] -= sizes[e];
  }
}

}  // namespace

bool kmeans_uses_bounds(const KMeansOptions& options, std::size_t n, std::uint32_t dim) {
  return options.bounds && !options.spherical && options.clusters > 1 && options.clusters <= dim &&
         AssignmentBounds::bytes(n, options.clusters) <= options.bounds_budget;
}

KMeansStatus train_kmeans(const float* data, std::size_t n, std::uint32_t dim,
                          const KMeansOptions& options, float* centroids) {
  const std::uint32_t k = options.clusters;
  if (k == 0 || dim == 0) throw std::invalid_argument("k-means needs at least one cluster");
  if (n < k) throw std::invalid_argument("k-means needs at least as many rows as clusters");
  init_centroids(data, n, dim, options, centroids);
  if (options.spherical) {
    for (std::uint32_t c = 0; c < k; c++)
      normalize(centroids + static_cast<std::size_t>(c) * dim, dim);
  }

  std::vector<std::uint32_t> assign(n);
  std::vector<std::size_t> sizes(k), start(k + 1);
  std::vector<std::size_t> members(n);
  std::optional<AssignmentBounds> bounds;
  std::vector<float> before;
  if (kmeans_uses_bounds(options, n, dim)) {
    bounds.emplace(data, n, dim, k, options.threads);
    before.resize(static_cast<std::size_t>(k) * dim);
  }
  for (std::uint32_t it = 0; it < options.iterations; it++) {
    if (options.progress && !options.progress(options.progress_arg, it, options.iterations)) {
      return KMeansStatus::kCancelled;
    }
    if (bounds) {
      bounds->assign(centroids, assign.data());
      std::memcpy(before.data(), centroids, sizeof(float) * before.size());
    } else {
      nearest_centroids_batch(data, n, centroids, k, dim, options.spherical, options.threads,
                              assign.data());
    }
    // Counting sort of rows by cluster, keeping row order inside each cluster.
    std::fill(sizes.begin(), sizes.end(), 0);
    for (std::size_t i = 0; i < n; i++) sizes[assign[i]]++;
    start[0] = 0;
    for (std::uint32_t c = 0; c < k; c++) start[c + 1] = start[c] + sizes[c];
    std::vector<std::size_t> fill(start.begin(), start.end() - 1);
    for (std::size_t i = 0; i < n; i++) members[fill[assign[i]]++] = i;

    parallel_for(options.threads, k, [&](std::size_t c) {
      if (sizes[c] == 0) return;
      std::vector<double> sum(dim, 0.0);
      for (std::size_t m = start[c]; m < start[c + 1]; m++) {
        const float* x = data + members[m] * dim;
        for (std::uint32_t j = 0; j < dim; j++) sum[j] += x[j];
      }
      float* out = centroids + c * dim;
      for (std::uint32_t j = 0; j < dim; j++) out[j] = static_cast<float>(sum[j] / sizes[c]);
      if (options.spherical) normalize(out, dim);
    });
    split_empty(sizes, dim, centroids);
    if (bounds) bounds->moved(before.data(), centroids);
  }
  if (options.progress)
    options.progress(options.progress_arg, options.iterations, options.iterations);
  return KMeansStatus::kDone;
}

}  // namespace ruvector::ivf
