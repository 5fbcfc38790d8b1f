// IVF k-means and assignment: recovers separated clusters, is byte-identical across runs
// and thread counts, leaves no cluster empty, and honours cancellation and bad arguments.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <stdexcept>
#include <vector>

#include "ivf/assign.h"
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
