// See kmeans.h. The coarse level is an ordinary flat k-means; its cells are then trained
// one after another, each with the caller's threads, so cancellation is still asked for
// between iterations on the calling thread and no result depends on the thread count.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <queue>
#include <stdexcept>
#include <vector>

#include "ivf/assign.h"
#include "ivf/kmeans.h"
#include "util/splitmix64.h"

namespace ruvector::ivf {

namespace {

// Moves row i of `data` to row dest[i], following each cycle of the permutation with two
// rows of scratch.
void permute_rows(float* data, std::size_t n, std::uint32_t dim,
                  const std::vector<std::size_t>& dest) {
  std::vector<bool> placed(n, false);
  std::vector<float> hold(dim), swap(dim);
  const std::size_t row_bytes = sizeof(float) * dim;
  for (std::size_t i = 0; i < n; i++) {
    if (placed[i] || dest[i] == i) continue;
    std::memcpy(hold.data(), data + i * dim, row_bytes);
    for (std::size_t j = dest[i]; j != i; j = dest[j]) {
      std::memcpy(swap.data(), data + j * dim, row_bytes);
      std::memcpy(data + j * dim, hold.data(), row_bytes);
      hold.swap(swap);
      placed[j] = true;
    }
    std::memcpy(data + i * dim, hold.data(), row_bytes);
    placed[i] = true;
  }
}

}  // namespace

std::vector<std::uint32_t> apportion_seats(const std::vector<std::size_t>& sizes,
                                           std::uint32_t seats) {
  std::vector<std::uint32_t> out(sizes.size(), 0);
  std::size_t rows = 0, nonempty = 0;
  for (std::size_t s : sizes) {
    rows += s;
    nonempty += s > 0;
  }
  if (seats < nonempty || seats > rows)
    throw std::invalid_argument("cannot share the clusters among the coarse cells");
  // Highest quotient first; quotients compared exactly as size_a·(2b+1) against size_b·(2a+1).
  auto before = [&](std::size_t a, std::size_t b) {
    unsigned __int128 qa = static_cast<unsigned __int128>(sizes[a]) * (2ULL * out[b] + 1);
    unsigned __int128 qb = static_cast<unsigned __int128>(sizes[b]) * (2ULL * out[a] + 1);
    if (qa != qb) return qa < qb;  // the queue's top is its largest element
    return a > b;
  };
  std::priority_queue<std::size_t, std::vector<std::size_t>, decltype(before)> next(before);
  std::uint32_t given = 0;
  for (std::size_t c = 0; c < sizes.size(); c++) {
    if (sizes[c] == 0) continue;
    out[c] = 1;
    given++;
    if (sizes[c] > 1) next.push(c);
  }
  for (; given < seats; given++) {
    std::size_t c = next.top();
    next.pop();
    out[c]++;
    if (out[c] < sizes[c]) next.push(c);
  }
  return out;
}

KMeansStatus train_kmeans_hierarchical(float* data, std::size_t n, std::uint32_t dim,
                                       const KMeansOptions& options, float* centroids) {
  const std::uint32_t k = options.clusters;
  if (k == 0 || dim == 0) throw std::invalid_argument("k-means needs at least one cluster");
  if (n < k) throw std::invalid_argument("k-means needs at least as many rows as clusters");
  const auto coarse = static_cast<std::uint32_t>(std::lround(std::sqrt(static_cast<double>(k))));
  if (coarse <= 1) return train_kmeans(data, n, dim, options, centroids);

  KMeansOptions top = options;
  top.clusters = coarse;
  std::vector<float> coarse_centroids(static_cast<std::size_t>(coarse) * dim);
  if (train_kmeans(data, n, dim, top, coarse_centroids.data()) == KMeansStatus::kCancelled)
    return KMeansStatus::kCancelled;

  // Group the rows by cell, keeping their order inside a cell.
  std::vector<std::uint32_t> cell(n);
  nearest_centroids_batch(data, n, coarse_centroids.data(), coarse, dim, options.spherical,
                          options.threads, cell.data());
  std::vector<std::size_t> sizes(coarse, 0), start(coarse + 1, 0);
  for (std::size_t i = 0; i < n; i++) sizes[cell[i]]++;
  for (std::uint32_t c = 0; c < coarse; c++) start[c + 1] = start[c] + sizes[c];
  {
    std::vector<std::size_t> dest(n), fill(start.begin(), start.end() - 1);
    for (std::size_t i = 0; i < n; i++) dest[i] = fill[cell[i]]++;
    permute_rows(data, n, dim, dest);
  }
  std::vector<std::uint32_t> seats = apportion_seats(sizes, k);

  std::size_t first = 0;  // the cell's first centroid
  for (std::uint32_t c = 0; c < coarse; c++) {
    if (seats[c] == 0) continue;
    KMeansOptions fine = options;
    fine.clusters = seats[c];
    std::uint64_t state = options.seed + c;
    fine.seed = splitmix64_next(&state);
    if (train_kmeans(data + start[c] * dim, sizes[c], dim, fine, centroids + first * dim) ==
        KMeansStatus::kCancelled)
      return KMeansStatus::kCancelled;
    first += seats[c];
  }
  return KMeansStatus::kDone;
}

}  // namespace ruvector::ivf
