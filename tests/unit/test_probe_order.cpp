// Int8 centroid codes and the probe order built on them: every bound is below the exact
// key the float kernels compute, and the order is exactly the full sort's.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "ivf/assign.h"
#include "ivf/centroid_codes.h"
#include "ivf/probe_order.h"
#include "kernels/cpu/distance.h"

namespace ivf = ruvector::ivf;

namespace {

struct Codes {
  std::vector<std::uint8_t> codes;
  std::vector<float> scales, errors, norms, code_norms;
  std::vector<std::int8_t> scratch;  // the quantized query
  ivf::CentroidCodes view;
  Codes(const std::vector<float>& centroids, std::uint32_t lists, std::uint32_t dim)
      : codes(static_cast<std::size_t>(lists) * dim),
        scales(lists),
        errors(lists),
        norms(lists),
        code_norms(lists),
        scratch(dim) {
    ivf::quantize_centroids(centroids.data(), lists, dim, codes.data(), scales.data(),
                            errors.data(), norms.data(), code_norms.data());
    view = {codes.data(), scales.data(), errors.data(), norms.data(), code_norms.data(), lists,
            dim};
  }
  void lower_bounds(const float* query, bool inner_product, float* lower) {
    ivf::key_lower_bounds(query, view, inner_product, scratch.data(), lower);
  }
};

float exact_key(const float* q, const float* c, std::uint32_t dim, bool inner_product) {
  const auto& k = ruvector::kernels::distance_kernels();
  return inner_product ? -k.inner_product(q, c, dim) : k.l2_squared(q, c, dim);
}

// Clustered centroids around a few centers, queries near some of them.
std::vector<float> clustered(std::mt19937_64& rng, std::uint32_t n, std::uint32_t dim,
                             float spread) {
  std::normal_distribution<float> normal;
  std::vector<float> centers(8 * dim), out(static_cast<std::size_t>(n) * dim);
  for (float& x : centers) x = normal(rng) * 4;
  for (std::uint32_t i = 0; i < n; i++) {
    const float* c = &centers[(i % 8) * dim];
    for (std::uint32_t j = 0; j < dim; j++) out[i * dim + j] = c[j] + spread * normal(rng);
  }
  return out;
}

}  // namespace

TEST(ProbeOrder, BoundsAreBelowExactKeys) {
  std::mt19937_64 rng(21);
  for (std::uint32_t dim : {3u, 64u, 832u, 1536u}) {
    const std::uint32_t lists = 97;
    auto centroids = clustered(rng, lists, dim, 1.0f);
    Codes codes(centroids, lists, dim);
    auto queries = clustered(rng, 20, dim, 1.5f);
    for (bool ip : {false, true}) {
      std::vector<float> lower(lists);
      for (std::uint32_t q = 0; q < 20; q++) {
        const float* query = &queries[q * dim];
        codes.lower_bounds(query, ip, lower.data());
        for (std::uint32_t c = 0; c < lists; c++) {
          EXPECT_LE(lower[c], exact_key(query, &centroids[c * dim], dim, ip))
              << "dim " << dim << " ip " << ip << " list " << c;
        }
      }
    }
  }
}

// Queries the int8 grid represents exactly (no quantization error), one at a centroid,
// a zero query, and one with a single huge coordinate (every other one rounds to 0).
TEST(ProbeOrder, BoundsHoldForQueriesAtTheEdgesOfQuantization) {
  std::mt19937_64 rng(23);
  const std::uint32_t dim = 128, lists = 40;
  auto centroids = clustered(rng, lists, dim, 1.0f);
  Codes codes(centroids, lists, dim);
  std::vector<std::vector<float>> queries;
  queries.emplace_back(centroids.begin() + 7 * dim, centroids.begin() + 8 * dim);
  queries.emplace_back(dim, 0.0f);
  std::vector<float> grid(dim), spike(dim, 1e-3f);
  for (std::uint32_t j = 0; j < dim; j++)
    grid[j] = static_cast<float>(static_cast<int>(j % 255) - 127);
  spike[3] = 1e6f;
  queries.push_back(grid);
  queries.push_back(spike);
  for (bool ip : {false, true}) {
    std::vector<float> lower(lists);
    for (const auto& query : queries) {
      codes.lower_bounds(query.data(), ip, lower.data());
      for (std::uint32_t c = 0; c < lists; c++) {
        EXPECT_LE(lower[c], exact_key(query.data(), &centroids[c * dim], dim, ip))
            << "ip " << ip << " list " << c;
      }
    }
  }
}

TEST(ProbeOrder, SameSequenceAsTheFullSort) {
  std::mt19937_64 rng(22);
  const std::uint32_t dim = 256, lists = 300;
  auto centroids = clustered(rng, lists, dim, 1.0f);
  // Duplicates: equal keys must come out by list number.
  std::copy_n(&centroids[5 * dim], dim, &centroids[200 * dim]);
  std::copy_n(&centroids[5 * dim], dim, &centroids[17 * dim]);
  Codes codes(centroids, lists, dim);
  auto queries = clustered(rng, 10, dim, 1.2f);
  for (bool ip : {false, true}) {
    for (std::uint32_t q = 0; q < 10; q++) {
      const float* query = &queries[q * dim];
      std::vector<ivf::ListKey> want(lists);
      for (std::uint32_t c = 0; c < lists; c++) {
        want[c] = {exact_key(query, &centroids[c * dim], dim, ip), c};
      }
      std::sort(want.begin(), want.end(), ivf::key_earlier);

      std::vector<float> lower(lists);
      codes.lower_bounds(query, ip, lower.data());
      std::vector<ivf::ListKey> storage(2 * lists);
      ivf::ProbeOrder order;
      order.init(storage.data(), lower.data(), lists);
      auto exact = [&](std::uint32_t c) { return exact_key(query, &centroids[c * dim], dim, ip); };
      ivf::ListKey got;
      for (std::uint32_t i = 0; i < 8; i++) {
        ASSERT_TRUE(order.next(exact, &got));
        EXPECT_EQ(got.list, want[i].list) << "ip " << ip << " query " << q << " rank " << i;
        EXPECT_EQ(got.key, want[i].key);
      }
      // The first 8 took few exact keys; the rest of the sequence is still exact.
      EXPECT_LT(order.exact, lists / 2) << "ip " << ip << " query " << q;
      for (std::uint32_t i = 8; i < lists; i++) {
        ASSERT_TRUE(order.next(exact, &got));
        EXPECT_EQ(got.list, want[i].list) << "ip " << ip << " query " << q << " rank " << i;
      }
      EXPECT_FALSE(order.next(exact, &got));
      EXPECT_EQ(order.exact, lists);
    }
  }
}

TEST(ProbeOrder, ZeroCentroidsTieByListNumber) {
  const std::uint32_t dim = 64;
  std::vector<float> centroids(2 * dim, 0.0f);
  Codes codes(centroids, 2, dim);
  std::vector<float> query(dim, 1.0f), lower(2);
  codes.lower_bounds(query.data(), false, lower.data());
  EXPECT_LE(lower[0], exact_key(query.data(), centroids.data(), dim, false));
  std::vector<ivf::ListKey> storage(4);
  ivf::ProbeOrder order;
  order.init(storage.data(), lower.data(), 2);
  auto exact = [&](std::uint32_t c) {
    return exact_key(query.data(), &centroids[c * dim], dim, false);
  };
  ivf::ListKey got;
  ASSERT_TRUE(order.next(exact, &got));
  EXPECT_EQ(got.list, 0u);
  ASSERT_TRUE(order.next(exact, &got));
  EXPECT_EQ(got.list, 1u);
  EXPECT_FALSE(order.next(exact, &got));
}

// An insert's nearest centroid from the int8 bounds is the full scan's, on rows of every
// scale, including rows placed exactly on a centroid and between two equal centroids.
TEST(NearestBounded, SameListAsTheFullScan) {
  const std::uint32_t lists = 150, dim = 96;
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> centroids(static_cast<std::size_t>(lists) * dim);
  for (auto& x : centroids) x = normal(rng);
  // Lists 7 and 90 are the same centroid: ties go to 7.
  std::copy(centroids.begin() + 7 * dim, centroids.begin() + 8 * dim, centroids.begin() + 90 * dim);
  Codes codes(centroids, lists, dim);
  const auto& k = ruvector::kernels::distance_kernels();
  std::vector<float> norms(lists), lower(lists);
  for (std::uint32_t c = 0; c < lists; c++) norms[c] = k.norm_squared(&centroids[c * dim], dim);
  std::vector<float> q(dim);
  int differ = 0;
  for (int t = 0; t < 400; t++) {
    const float scale = t % 3 == 0 ? 0.01f : (t % 3 == 1 ? 1.0f : 300.0f);
    if (t % 10 == 0) {
      std::copy(centroids.begin() + (t % lists) * dim, centroids.begin() + (t % lists + 1) * dim,
                q.begin());
    } else {
      for (auto& x : q) x = scale * normal(rng);
    }
    std::uint32_t want = 0;
    ivf::nearest_centroids_batch(q.data(), 1, centroids.data(), lists, dim, false, 1, &want,
                                 norms.data());
    std::uint32_t got = ivf::nearest_centroid_bounded(
        q.data(), centroids.data(), norms.data(), codes.view, codes.scratch.data(), lower.data());
    differ += got != want;
  }
  EXPECT_EQ(differ, 0);
  std::copy(centroids.begin() + 90 * dim, centroids.begin() + 91 * dim, q.begin());
  EXPECT_EQ(ivf::nearest_centroid_bounded(q.data(), centroids.data(), norms.data(), codes.view,
                                          codes.scratch.data(), lower.data()),
            7u);
}
