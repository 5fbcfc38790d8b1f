// IVF k-means and assignment: recovers separated clusters, is byte-identical across runs
// and thread counts, leaves no cluster empty, and honours cancellation and bad arguments.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <stdexcept>
#include <vector>

#include "ivf/assign.h"
#include "ivf/assign_bounds.h"
#include "ivf/defaults.h"
#include "ivf/kmeans.h"

namespace ivf = ruvector::ivf;

namespace {

// n points around k centres spaced 10 apart on the axes, unit noise.
std::vector<float> clustered(std::size_t n, std::uint32_t dim, std::uint32_t k, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.0f, 0.5f);
  std::vector<float> data(n * dim);
  for (std::size_t i = 0; i < n; i++) {
    for (std::uint32_t j = 0; j < dim; j++) data[i * dim + j] = noise(rng);
    data[i * dim + (i % k) % dim] += 10.0f * static_cast<float>(1 + (i % k) / dim);
  }
  return data;
}

}  // namespace

// k-means++ seeding can still start two centroids in one cluster (a local minimum Lloyd
// cannot leave), so require recovery for most seeds, not all.
TEST(IvfKmeans, RecoversSeparatedClusters) {
  const std::uint32_t dim = 16, k = 8;
  auto data = clustered(4000, dim, k, 1);
  std::vector<float> centroids(k * dim);
  std::vector<std::uint32_t> assign(4000);
  int recovered = 0;
  for (std::uint64_t seed = 0; seed < 10; seed++) {
    ivf::KMeansOptions options;
    options.clusters = k;
    options.iterations = 15;
    options.seed = seed;
    ASSERT_EQ(ivf::train_kmeans(data.data(), 4000, dim, options, centroids.data()),
              ivf::KMeansStatus::kDone);
    ivf::nearest_centroids_batch(data.data(), 4000, centroids.data(), k, dim, false, 1,
                                 assign.data());
    bool same = true;
    for (std::size_t i = k; i < 4000 && same; i++) same = assign[i] == assign[i % k];
    std::vector<bool> used(k, false);
    for (std::uint32_t c = 0; c < k; c++) used[assign[c]] = true;
    for (bool u : used) same = same && u;
    recovered += same;
  }
  EXPECT_GE(recovered, 7);
}

TEST(IvfKmeans, DeterministicAcrossRunsAndThreads) {
  const std::uint32_t dim = 24, k = 32;
  auto data = clustered(3000, dim, 20, 2);
  std::vector<float> a(k * dim), b(k * dim), c(k * dim);
  ivf::KMeansOptions options;
  options.clusters = k;
  options.seed = 5;
  ivf::train_kmeans(data.data(), 3000, dim, options, a.data());
  ivf::train_kmeans(data.data(), 3000, dim, options, b.data());
  options.threads = 2;
  ivf::train_kmeans(data.data(), 3000, dim, options, c.data());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), sizeof(float) * a.size()), 0);
  EXPECT_EQ(std::memcmp(a.data(), c.data(), sizeof(float) * a.size()), 0);
  options.seed = 6;
  ivf::train_kmeans(data.data(), 3000, dim, options, b.data());
  EXPECT_NE(std::memcmp(a.data(), b.data(), sizeof(float) * a.size()), 0);
}

TEST(IvfKmeans, NoEmptyClustersWithDuplicates) {
  // Many identical rows force empty clusters, which must be split back into use.
  const std::uint32_t dim = 4, k = 16;
  std::vector<float> data(400 * dim, 1.0f);
  for (std::size_t i = 300; i < 400; i++) data[i * dim] = static_cast<float>(i);
  std::vector<float> centroids(k * dim);
  ivf::KMeansOptions options;
  options.clusters = k;
  ivf::train_kmeans(data.data(), 400, dim, options, centroids.data());
  std::vector<std::uint32_t> assign(400), sizes(k, 0);
  ivf::nearest_centroids_batch(data.data(), 400, centroids.data(), k, dim, false, 1, assign.data());
  for (auto a : assign) sizes[a]++;
  int empty = 0;
  for (auto s : sizes) empty += s == 0;
  EXPECT_LE(empty, 1);
}

TEST(IvfKmeans, SphericalCentroidsHaveUnitNorm) {
  const std::uint32_t dim = 8, k = 4;
  auto data = clustered(500, dim, k, 3);
  std::vector<float> centroids(k * dim);
  ivf::KMeansOptions options;
  options.clusters = k;
  options.spherical = true;
  ivf::train_kmeans(data.data(), 500, dim, options, centroids.data());
  for (std::uint32_t c = 0; c < k; c++) {
    double n = 0;
    for (std::uint32_t j = 0; j < dim; j++) n += centroids[c * dim + j] * centroids[c * dim + j];
    EXPECT_NEAR(n, 1.0, 1e-5);
  }
}

TEST(IvfKmeans, CancellationAndBadArguments) {
  std::vector<float> data(100 * 4, 1.0f), centroids(10 * 4);
  ivf::KMeansOptions options;
  options.clusters = 10;
  options.progress = [](void*, std::uint32_t done, std::uint32_t) { return done < 2; };
  EXPECT_EQ(ivf::train_kmeans(data.data(), 100, 4, options, centroids.data()),
            ivf::KMeansStatus::kCancelled);
  options.progress = nullptr;
  EXPECT_THROW(ivf::train_kmeans(data.data(), 5, 4, options, centroids.data()),
               std::invalid_argument);
  options.clusters = 0;
  EXPECT_THROW(ivf::train_kmeans(data.data(), 100, 4, options, centroids.data()),
               std::invalid_argument);
}

// Sum over rows of the squared distance to the nearest centroid: k-means' objective.
double objective(const std::vector<float>& data, std::size_t n, std::uint32_t dim,
                 const std::vector<float>& centroids, std::uint32_t k) {
  std::vector<std::uint32_t> assign(n);
  ivf::nearest_centroids_batch(data.data(), n, centroids.data(), k, dim, false, 1, assign.data());
  double sum = 0;
  for (std::size_t i = 0; i < n; i++) {
    for (std::uint32_t j = 0; j < dim; j++) {
      double d = data[i * dim + j] - centroids[assign[i] * dim + j];
      sum += d * d;
    }
  }
  return sum;
}

TEST(IvfApportion, SainteLague) {
  // One seat each for the non-empty cells, then the quotients 33.3 (cell 0), 20 (0),
  // 16.7 (1), 14.3 (0), 11.1 (0) take the other five.
  auto seats = ivf::apportion_seats({100, 50, 0, 10}, 8);
  EXPECT_EQ(seats, (std::vector<std::uint32_t>{5, 2, 0, 1}));
  // Ties go to the lower cell; a cell never gets more seats than rows.
  EXPECT_EQ(ivf::apportion_seats({3, 3}, 3), (std::vector<std::uint32_t>{2, 1}));
  EXPECT_EQ(ivf::apportion_seats({1, 1000}, 10), (std::vector<std::uint32_t>{1, 9}));
  EXPECT_EQ(ivf::apportion_seats({2, 2, 2}, 6), (std::vector<std::uint32_t>{2, 2, 2}));
  EXPECT_THROW(ivf::apportion_seats({2, 2, 2}, 7), std::invalid_argument);
  EXPECT_THROW(ivf::apportion_seats({2, 2, 2}, 2), std::invalid_argument);
}

// The two-level k-means: a permutation of the rows, deterministic across runs and thread
// counts, no empty cluster, and an objective close to flat k-means' on clustered data.
TEST(IvfKmeans, HierarchicalMatchesFlat) {
  const std::uint32_t dim = 16, k = 64;
  const std::size_t n = 6400;
  const auto data = clustered(n, dim, 48, 4);
  ivf::KMeansOptions options;
  options.clusters = k;
  options.seed = 9;
  std::vector<float> flat(k * dim), a(k * dim), b(k * dim);
  ivf::train_kmeans(data.data(), n, dim, options, flat.data());
  auto rows_a = data, rows_b = data;
  ASSERT_EQ(ivf::train_kmeans_hierarchical(rows_a.data(), n, dim, options, a.data()),
            ivf::KMeansStatus::kDone);
  options.threads = 3;
  ivf::train_kmeans_hierarchical(rows_b.data(), n, dim, options, b.data());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), sizeof(float) * a.size()), 0);
  EXPECT_EQ(rows_a, rows_b);

  auto sorted_rows = [&](std::vector<float> rows) {
    std::vector<std::vector<float>> out(n);
    for (std::size_t i = 0; i < n; i++) out[i].assign(&rows[i * dim], &rows[(i + 1) * dim]);
    std::sort(out.begin(), out.end());
    return out;
  };
  EXPECT_NE(rows_a, data);
  EXPECT_EQ(sorted_rows(rows_a), sorted_rows(data));

  std::vector<std::uint32_t> assign(n), sizes(k, 0);
  ivf::nearest_centroids_batch(data.data(), n, a.data(), k, dim, false, 1, assign.data());
  for (auto c : assign) sizes[c]++;
  for (auto s : sizes) EXPECT_GT(s, 0u);
  double hierarchical = objective(data, n, dim, a, k), plain = objective(data, n, dim, flat, k);
  EXPECT_LT(hierarchical, 1.1 * plain) << hierarchical << " against " << plain;
}

TEST(IvfKmeans, HierarchicalSmallAndBadArguments) {
  // k = 2 has one coarse cell: the flat k-means, rows left in place.
  const std::uint32_t dim = 4;
  auto data = clustered(200, dim, 2, 5);
  const auto before = data;
  std::vector<float> a(2 * dim), flat(2 * dim);
  ivf::KMeansOptions options;
  options.clusters = 2;
  ivf::train_kmeans_hierarchical(data.data(), 200, dim, options, a.data());
  ivf::train_kmeans(before.data(), 200, dim, options, flat.data());
  EXPECT_EQ(data, before);
  EXPECT_EQ(a, flat);
  options.clusters = 300;
  std::vector<float> many(300 * dim);
  EXPECT_THROW(ivf::train_kmeans_hierarchical(data.data(), 200, dim, options, many.data()),
               std::invalid_argument);
  // Cancelled during the coarse level.
  options.clusters = 16;
  options.progress = [](void*, std::uint32_t done, std::uint32_t) { return done < 1; };
  EXPECT_EQ(ivf::train_kmeans_hierarchical(data.data(), 200, dim, options, many.data()),
            ivf::KMeansStatus::kCancelled);
}

// Elkan's bounds change which distances are computed, not the outcome: on data without
// near ties, k-means gives the same centroids with and without them.
TEST(IvfKmeans, BoundsGiveLloydsCentroids) {
  const std::uint32_t dim = 48, k = 40;
  const std::size_t n = 5000;
  auto data = clustered(n, dim, 30, 6);
  ivf::KMeansOptions options;
  options.clusters = k;
  options.iterations = 12;
  options.seed = 3;
  ASSERT_TRUE(ivf::kmeans_uses_bounds(options, n, dim));
  std::vector<float> with(k * dim), without(k * dim);
  ivf::train_kmeans(data.data(), n, dim, options, with.data());
  options.bounds = false;
  ivf::train_kmeans(data.data(), n, dim, options, without.data());
  EXPECT_EQ(std::memcmp(with.data(), without.data(), sizeof(float) * with.size()), 0);
  // No bounds for more clusters than dimensions (their memory would pass the rows'), over
  // the budget, or for spherical k-means.
  options.bounds = true;
  EXPECT_FALSE(ivf::kmeans_uses_bounds(options, n, 39));
  options.bounds_budget = ivf::AssignmentBounds::bytes(n, k);
  EXPECT_TRUE(ivf::kmeans_uses_bounds(options, n, dim));
  options.bounds_budget--;
  EXPECT_FALSE(ivf::kmeans_uses_bounds(options, n, dim));
  options.bounds_budget = SIZE_MAX;
  options.spherical = true;
  EXPECT_FALSE(ivf::kmeans_uses_bounds(options, n, dim));
}

// After small moves of the centroids, the bounds rule out most distances, and every row
// still gets its nearest centroid.
TEST(IvfAssignBounds, FewDistancesAfterSmallMoves) {
  const std::uint32_t dim = 16, k = 12;
  const std::size_t n = 4000;
  auto data = clustered(n, dim, k, 7);
  std::vector<float> centroids(k * dim);
  for (std::uint32_t c = 0; c < k; c++) {
    std::memcpy(&centroids[c * dim], &data[c * dim], sizeof(float) * dim);
  }
  ivf::AssignmentBounds bounds(data.data(), n, dim, k, 2);
  std::vector<std::uint32_t> got(n), want(n);
  bounds.assign(centroids.data(), got.data());
  EXPECT_EQ(bounds.last_distances(), n * k);
  ivf::nearest_centroids_batch(data.data(), n, centroids.data(), k, dim, false, 1, want.data());
  EXPECT_EQ(got, want);
  for (int round = 0; round < 3; round++) {
    auto before = centroids;
    for (std::size_t j = 0; j < centroids.size(); j++) {
      centroids[j] += 0.05f * static_cast<float>((j * 7 + round) % 5) - 0.1f;
    }
    bounds.moved(before.data(), centroids.data());
    bounds.assign(centroids.data(), got.data());
    EXPECT_LT(bounds.last_distances(), n * k / 4);
    ivf::nearest_centroids_batch(data.data(), n, centroids.data(), k, dim, false, 1, want.data());
    EXPECT_EQ(got, want);
  }
  // Centroid 3 jumps onto centroid 5's rows: they must move to it.
  auto before = centroids;
  for (std::uint32_t j = 0; j < dim; j++) centroids[3 * dim + j] = centroids[5 * dim + j] + 0.01f;
  for (std::uint32_t j = 0; j < dim; j++) centroids[5 * dim + j] += 40.0f;
  bounds.moved(before.data(), centroids.data());
  bounds.assign(centroids.data(), got.data());
  ivf::nearest_centroids_batch(data.data(), n, centroids.data(), k, dim, false, 1, want.data());
  EXPECT_EQ(got, want);
}

TEST(IvfAssign, AllScores) {
  std::vector<float> centroids = {0, 0, 3, 0, 10, 0};
  std::vector<float> v = {1, 0, 9, 0};
  std::vector<std::uint32_t> out(2);
  std::vector<float> scores(6);
  ivf::nearest_centroids_scores(v.data(), 2, centroids.data(), 3, 2, 1, out.data(), scores.data());
  EXPECT_EQ(out, (std::vector<std::uint32_t>{0, 2}));
  // ||c||² − 2<x, c>, plus ||x||²: the squared distances 1, 4, 81 and 81, 36, 1.
  std::vector<float> want = {1, 4, 81, 81, 36, 1};
  for (std::size_t i = 0; i < 6; i++) EXPECT_FLOAT_EQ(scores[i] + (i < 3 ? 1 : 81), want[i]);
}

TEST(IvfAssign, InnerProductAndTies) {
  // Two identical centroids: the lower id wins. Inner product picks the largest dot.
  std::vector<float> centroids = {1, 0, 1, 0, 0, 1};
  std::vector<float> v = {2, 0, 0, 3};
  std::vector<std::uint32_t> out(2);
  ivf::nearest_centroids_batch(v.data(), 2, centroids.data(), 3, 2, false, 2, out.data());
  EXPECT_EQ(out[0], 0u);
  EXPECT_EQ(out[1], 2u);
  ivf::nearest_centroids_batch(v.data(), 2, centroids.data(), 3, 2, true, 1, out.data());
  EXPECT_EQ(out[0], 0u);
  EXPECT_EQ(out[1], 2u);
}

TEST(IvfDefaults, ListsGrowWithRows) {
  EXPECT_EQ(ivf::default_lists(0), 1u);
  EXPECT_EQ(ivf::default_lists(1), 2u);
  EXPECT_EQ(ivf::default_lists(60000), 490u);
  EXPECT_EQ(ivf::default_lists(1000000), 2000u);
  EXPECT_EQ(ivf::default_lists(1ull << 40), 65536u);
}
