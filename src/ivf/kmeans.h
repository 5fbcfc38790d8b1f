// k-means (Lloyd) for IVF centroids. Deterministic: the same rows, options and seed give
// byte-identical centroids whatever the thread count. Memory that outlives the call is the
// caller's (the centroid buffer); scratch is freed before return.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ruvector::ivf {

// Called between iterations with (done, total); returning false stops training early
// (the centroids then hold the last completed iteration). It must not longjmp or throw.
using KMeansProgress = bool (*)(void* arg, std::uint32_t done, std::uint32_t total);

struct KMeansOptions {
  std::uint32_t clusters = 1;
  std::uint32_t iterations = 10;
  std::uint64_t seed = 0;
  bool spherical = false;  // unit-norm centroids, for inner product
  unsigned threads = 1;
  // Skip most distance computations after the first iteration with Elkan's bounds
  // (assign_bounds.h), where kmeans_uses_bounds says so. Off: every iteration compares
  // every row with every centroid. The result is the same up to near ties (see there).
  bool bounds = true;
  std::size_t bounds_budget = SIZE_MAX;  // bytes the bounds may take
  KMeansProgress progress = nullptr;
  void* progress_arg = nullptr;
};

enum class KMeansStatus { kDone, kCancelled };

// data: n × dim row-major; centroids: clusters × dim, written. Requires n >= clusters >= 1
// (std::invalid_argument otherwise).
KMeansStatus train_kmeans(const float* data, std::size_t n, std::uint32_t dim,
                          const KMeansOptions& options, float* centroids);

// Whether train_kmeans keeps Elkan's bounds for n rows: L2, no more clusters than
// dimensions (the bounds, a float per row and cluster, then take at most as much memory as
// the rows) and within options.bounds_budget.
bool kmeans_uses_bounds(const KMeansOptions& options, std::size_t n, std::uint32_t dim);

// From this many clusters an IVF build trains in two levels (train_kmeans_hierarchical).
// The two levels are much faster but lose recall (k-means++ places centroids better than a
// split by cell size); at Fashion-MNIST's 490 lists the loss is not worth the time saved,
// at 2000 it is (figures in docs/benchmarks.md).
constexpr std::uint32_t kHierarchicalMinClusters = 1024;

// Two-level k-means for many clusters (VectorChord's hierarchical k-means): round(√k)
// coarse centroids by flat k-means over all rows, then the rows of each coarse cell are
// clustered on their own into a share of the k centroids in proportion to the cell's size
// (Sainte-Laguë, at least one a cell and never more than its rows). A Lloyd iteration then
// costs about 2√k distances a row instead of k. Same contract as train_kmeans, except that
// it reorders the rows of `data` (grouped by coarse cell, in their order within a cell), so
// it needs no copy of them; the centroids come out grouped by cell. Deterministic for the
// same rows, options and seed, whatever the thread count.
KMeansStatus train_kmeans_hierarchical(float* data, std::size_t n, std::uint32_t dim,
                                       const KMeansOptions& options, float* centroids);

// Splits `seats` among cells in proportion to their sizes by the Sainte-Laguë method:
// every non-empty cell gets one, then each next seat goes to the cell with the highest
// size / (2·seats + 1), ties to the lower index, skipping cells with as many seats as rows.
// Requires seats >= the non-empty cells and <= the sum of sizes (std::invalid_argument).
std::vector<std::uint32_t> apportion_seats(const std::vector<std::size_t>& sizes,
                                           std::uint32_t seats);

}  // namespace ruvector::ivf
