// Nearest centroids through the low-rank bound (ivf/nearest_projected.h) against the full
// scan: the same lists, deterministic, and a valid basis when the centroids span few
// dimensions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include "ivf/assign.h"
#include "ivf/kmeans.h"
#include "ivf/nearest_projected.h"
#include "kernels/cpu/distance.h"
#include "rabitq/list_query.h"

namespace ivf = ruvector::ivf;

namespace {

// Rows of a mixture whose clusters differ in radius by two orders of magnitude, with a
// heavy tail of rows far from every cluster: not what a projection fits easily.
std::vector<float> mixture(std::size_t n, std::uint32_t dim, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> unit(0.0f, 1.0f);
  std::vector<float> centres(64 * dim);
  for (float& v : centres) v = 20.0f * unit(rng);
  std::vector<float> data(n * dim);
  for (std::size_t i = 0; i < n; i++) {
    const std::size_t cluster = (i * 7) % 64;
    const float radius = i % 50 == 0 ? 40.0f : std::pow(10.0f, static_cast<float>(cluster % 3) - 1);
    for (std::uint32_t j = 0; j < dim; j++) {
      data[i * dim + j] = centres[cluster * dim + j] + radius * unit(rng);
    }
  }
  return data;
}

// k-means centroids of 8000 rows of the mixture.
std::vector<float> trained_centroids(std::uint32_t dim, std::uint32_t lists, unsigned seed) {
  std::vector<float> sample = mixture(8000, dim, seed);
  std::vector<float> centroids(std::size_t{lists} * dim);
  ivf::KMeansOptions options;
  options.clusters = lists;
  options.iterations = 4;
  options.threads = 2;
  ivf::train_kmeans(sample.data(), 8000, dim, options, centroids.data());
  return centroids;
}

// lists centroids on a 16 × (lists / 16) grid in the plane of axes 3 and 70: axis 3 at
// offset + 0..15, axis 70 at step × 0, 1, ...
std::vector<float> plane(std::uint32_t dim, std::uint32_t lists, float offset, float step) {
  std::vector<float> centroids(std::size_t{lists} * dim, 0.0f);
  for (std::uint32_t c = 0; c < lists; c++) {
    centroids[std::size_t{c} * dim + 3] = offset + static_cast<float>(c % 16);
    centroids[std::size_t{c} * dim + 70] = static_cast<float>(c / 16) * step;
  }
  return centroids;
}

struct Projection {
  std::vector<float> buffer;
  ivf::CentroidProjection p;
  Projection(const std::vector<float>& centroids, std::uint32_t lists, std::uint32_t dim,
             std::uint32_t rank, unsigned threads)
      : buffer(ivf::projection_floats(lists, dim, rank)) {
    ivf::build_projection(centroids.data(), lists, dim, rank, threads, buffer.data(), &p);
  }
};

// The full scan's choice, or a list whose score is within float rounding of it.
void expect_nearest(const std::vector<float>& rows, const std::vector<float>& centroids,
                    std::uint32_t lists, std::uint32_t dim, const std::vector<std::uint32_t>& got) {
  const std::size_t n = rows.size() / dim;
  std::vector<std::uint32_t> want(n);
  ivf::nearest_centroids_batch(rows.data(), n, centroids.data(), lists, dim, false, 1, want.data());
  std::size_t differ = 0;
  for (std::size_t i = 0; i < n; i++) {
    if (got[i] == want[i]) continue;
    differ++;
    const auto& k = ruvector::kernels::distance_kernels();
    const float* x = rows.data() + i * dim;
    const float a = k.l2_squared(x, centroids.data() + std::size_t{got[i]} * dim, dim);
    const float b = k.l2_squared(x, centroids.data() + std::size_t{want[i]} * dim, dim);
    EXPECT_NEAR(a, b, 1e-5f * (a + b)) << "row " << i;
  }
  EXPECT_LE(differ, n / 1000) << "more than rounding ties";
}

}  // namespace

TEST(IvfProjected, RankOnlyWhereItPays) {
  EXPECT_EQ(ivf::projection_rank(100, 832), 0u);
  EXPECT_EQ(ivf::projection_rank(2000, 64), 0u);
  EXPECT_EQ(ivf::projection_rank(1960, 832), 64u);
  EXPECT_EQ(ivf::projection_rank(300, 160), 20u);
  EXPECT_EQ(ivf::projection_floats(300, 160, 20), 20u * 160 + 300u * 20 + 4 * 300u);
}

TEST(IvfProjected, SameListsAsTheFullScan) {
  const std::uint32_t dim = 192;
  const std::uint32_t lists = 400;
  std::vector<float> centroids = trained_centroids(dim, lists, 1);
  // Two identical centroids: a row at them goes to the lower id, as in the full scan.
  std::copy(centroids.begin() + 5 * dim, centroids.begin() + 6 * dim, centroids.begin() + 9 * dim);
  const std::uint32_t rank = ivf::projection_rank(lists, dim);
  ASSERT_GT(rank, 0u);
  Projection pr(centroids, lists, dim, rank, 2);

  std::vector<float> rows = mixture(3000, dim, 2);
  std::copy(centroids.begin() + 9 * dim, centroids.begin() + 10 * dim, rows.begin());
  std::vector<std::uint32_t> got(3000);
  ivf::nearest_centroids_projected(rows.data(), 3000, pr.p, 3, got.data());
  EXPECT_EQ(got[0], 5u);
  expect_nearest(rows, centroids, lists, dim, got);
}

TEST(IvfProjected, DeterministicWhateverTheThreads) {
  const std::uint32_t dim = 128;
  const std::uint32_t lists = 256;
  std::vector<float> centroids = mixture(lists, dim, 3);
  const std::uint32_t rank = ivf::projection_rank(lists, dim);
  Projection one(centroids, lists, dim, rank, 1);
  Projection three(centroids, lists, dim, rank, 3);
  EXPECT_EQ(one.buffer, three.buffer);
  std::vector<float> rows = mixture(1000, dim, 4);
  std::vector<std::uint32_t> a(1000), b(1000);
  ivf::nearest_centroids_projected(rows.data(), 1000, one.p, 1, a.data());
  ivf::nearest_centroids_projected(rows.data(), 1000, three.p, 4, b.data());
  EXPECT_EQ(a, b);
}

// Centroids in a plane: the subspace iteration cannot find rank directions among them, and
// the basis must still be orthonormal for the bound to hold.
TEST(IvfProjected, CentroidsSpanningFewDimensions) {
  const std::uint32_t dim = 128;
  const std::uint32_t lists = 256;
  std::vector<float> centroids = plane(dim, lists, 0.0f, 1.0f);
  const std::uint32_t rank = ivf::projection_rank(lists, dim);
  Projection pr(centroids, lists, dim, rank, 2);
  const auto& k = ruvector::kernels::distance_kernels();
  for (std::uint32_t i = 0; i < rank; i++) {
    for (std::uint32_t j = 0; j <= i; j++) {
      const float dot = k.inner_product(pr.p.basis + std::size_t{i} * dim,
                                        pr.p.basis + std::size_t{j} * dim, dim);
      EXPECT_NEAR(dot, i == j ? 1.0f : 0.0f, 1e-5f) << i << " " << j;
    }
  }
  std::vector<float> rows = mixture(500, dim, 5);
  std::vector<std::uint32_t> got(500);
  ivf::nearest_centroids_projected(rows.data(), 500, pr.p, 2, got.data());
  expect_nearest(rows, centroids, lists, dim, got);
}

TEST(IvfProjected, BadRank) {
  std::vector<float> centroids(256 * 128, 1.0f);
  std::vector<float> buffer(ivf::projection_floats(256, 128, 16));
  ivf::CentroidProjection p;
  EXPECT_THROW(ivf::build_projection(centroids.data(), 256, 128, 0, 1, buffer.data(), &p),
               std::invalid_argument);
  EXPECT_THROW(ivf::build_projection(centroids.data(), 256, 128, 6, 1, buffer.data(), &p),
               std::invalid_argument);
}

namespace {

// Every list's bound from projected_lower_bounds against the key a scan computes
// (rabitq::centroid_key): never above it. Returns how many lists' bounds are above the
// key of the `probes`-th nearest list, the ones a probe order need not compute exactly.
std::uint32_t check_bounds(const ivf::CentroidProjection& p, const std::vector<float>& centroids,
                           const std::vector<float>& queries, bool inner_product,
                           std::uint32_t probes) {
  const std::uint32_t dim = p.dim;
  const auto metric =
      inner_product ? ruvector::rabitq::Metric::kInnerProduct : ruvector::rabitq::Metric::kL2;
  std::vector<float> scratch(p.rank), lower(p.lists), keys(p.lists);
  std::uint32_t pruned = 0;
  for (std::size_t qi = 0; qi < queries.size() / dim; qi++) {
    const float* q = queries.data() + qi * dim;
    ivf::projected_lower_bounds(q, p, inner_product, scratch.data(), lower.data());
    for (std::uint32_t c = 0; c < p.lists; c++) {
      keys[c] =
          ruvector::rabitq::centroid_key(metric, q, centroids.data() + std::size_t{c} * dim, dim);
      EXPECT_LE(lower[c], keys[c]) << "query " << qi << " list " << c;
    }
    std::vector<float> sorted = keys;
    std::nth_element(sorted.begin(), sorted.begin() + probes - 1, sorted.end());
    for (std::uint32_t c = 0; c < p.lists; c++) pruned += lower[c] > sorted[probes - 1];
  }
  return pruned;
}

}  // namespace

// The bounds that order a scan's probes: below every key, for L2 and inner product, and
// not idle: on this mixture (clusters of radii a hundredfold apart, a heavy tail, rank 24
// of 192 dimensions) a quarter of the lists' bounds rule them out of the first 10 (the
// index's own centroids on Fashion-MNIST fare better: docs/benchmarks.md).
TEST(IvfProjected, LowerBoundsOfTheProbeKeys) {
  const std::uint32_t dim = 192;
  const std::uint32_t lists = 400;
  std::vector<float> centroids = trained_centroids(dim, lists, 6);
  const std::uint32_t rank = ivf::projection_rank(lists, dim);
  Projection pr(centroids, lists, dim, rank, 2);
  std::vector<float> queries = mixture(200, dim, 7);
  // A query at a centroid, and one at the origin.
  std::copy(centroids.begin() + 3 * dim, centroids.begin() + 4 * dim, queries.begin());
  std::fill(queries.begin() + dim, queries.begin() + 2 * dim, 0.0f);
  const std::uint32_t total = 200 * lists;
  EXPECT_GT(check_bounds(pr.p, centroids, queries, false, 10), total / 5);
  check_bounds(pr.p, centroids, queries, true, 10);

  // What an index stores (basis and coordinates) gives the same projection back.
  std::vector<float> norms(4 * lists);
  ivf::CentroidProjection attached;
  ivf::attach_projection(centroids.data(), lists, dim, rank, pr.p.basis, pr.p.projected,
                         norms.data(), &attached);
  std::vector<float> scratch(rank), a(lists), b(lists);
  ivf::projected_lower_bounds(queries.data() + 5 * dim, pr.p, false, scratch.data(), a.data());
  ivf::projected_lower_bounds(queries.data() + 5 * dim, attached, false, scratch.data(), b.data());
  EXPECT_EQ(a, b);
}

// Centroids in a plane: every centroid lies in the subspace (residual norms near 0, from a
// difference of nearly equal squares), where a rounded residual could overstate the gap.
TEST(IvfProjected, LowerBoundsWhereCentroidsLieInTheSubspace) {
  const std::uint32_t dim = 128;
  const std::uint32_t lists = 256;
  std::vector<float> centroids = plane(dim, lists, 1000.0f, 0.01f);
  const std::uint32_t rank = ivf::projection_rank(lists, dim);
  Projection pr(centroids, lists, dim, rank, 2);
  std::vector<float> queries = mixture(100, dim, 8);
  for (std::size_t i = 0; i < 20; i++) {  // some in the plane too
    std::copy(centroids.begin() + i * 13 * dim, centroids.begin() + (i * 13 + 1) * dim,
              queries.begin() + i * dim);
    queries[i * dim + 70] += 0.003f;
  }
  check_bounds(pr.p, centroids, queries, false, 10);
  check_bounds(pr.p, centroids, queries, true, 10);
}
