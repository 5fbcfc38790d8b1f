// The query-plane kernels: every ISA gives the scalar version's planes and sum bit for bit
// (the estimates of a scan must not depend on the CPU), and the same range.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/cpu/query_planes.h"

namespace k = ruvector::kernels;

namespace {

constexpr std::uint32_t kPeriod = 1024;

std::vector<float> dither() {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<float> d(kPeriod);
  for (float& x : d) x = u(rng);
  return d;
}

void expect_same_as_scalar(const std::vector<float>& v, const char* what) {
  const auto& scalar = k::detail::kQueryPlanesScalar;
  const std::uint32_t n = static_cast<std::uint32_t>(v.size()), words = n / 64;
  const std::vector<float> u = dither();
  k::QueryRange want = scalar.range(v.data(), n);
  float delta = (want.high - want.low) / 15.0f;
  float inv = delta > 0 ? 1.0f / delta : 0.0f;
  std::vector<std::uint64_t> want_planes(4 * words);
  std::uint32_t want_sum =
      scalar.quantize(v.data(), words, want.low, inv, u.data(), kPeriod, want_planes.data());
  for (const char* isa : {"avx2", "avx512"}) {
    const k::QueryPlaneKernels* t = k::query_plane_kernels_for(isa);
    if (t == nullptr) continue;
    k::QueryRange got = t->range(v.data(), n);
    EXPECT_EQ(got.low, want.low) << isa << " " << what;
    EXPECT_EQ(got.high, want.high) << isa << " " << what;
    EXPECT_NEAR(got.norm_squared, want.norm_squared, 1e-12 * want.norm_squared)
        << isa << " " << what;
    std::vector<std::uint64_t> planes(4 * words, ~0ULL);
    std::uint32_t sum =
        t->quantize(v.data(), words, want.low, inv, u.data(), kPeriod, planes.data());
    EXPECT_EQ(sum, want_sum) << isa << " " << what;
    EXPECT_EQ(planes, want_planes) << isa << " " << what;
  }
}

}  // namespace

TEST(QueryPlanes, EveryIsaMatchesScalar) {
  std::mt19937_64 rng(3);
  std::normal_distribution<float> normal;
  for (std::uint32_t n : {64u, 128u, 832u, 1536u, 2112u, 16000u}) {
    std::vector<float> v(n);
    for (float& x : v) x = normal(rng);
    expect_same_as_scalar(v, "normal");
    for (float& x : v) x = std::ldexp(normal(rng), -20);  // tiny range: large inv
    expect_same_as_scalar(v, "tiny");
  }
}

TEST(QueryPlanes, ConstantAndSteppedVectors) {
  expect_same_as_scalar(std::vector<float>(256, 0.5f), "constant");  // delta = 0, inv = 0
  std::vector<float> stepped(512);
  // Coordinates on the quantization grid itself, where rounding decides the level.
  for (std::size_t i = 0; i < stepped.size(); i++) stepped[i] = static_cast<float>(i % 16) / 15.0f;
  expect_same_as_scalar(stepped, "stepped");
}

// The scalar reference itself: levels within [0, 15], planes that rebuild them, and a sum
// equal to the levels' sum.
TEST(QueryPlanes, ScalarPlanesRebuildTheLevels) {
  std::mt19937_64 rng(4);
  std::normal_distribution<float> normal;
  const std::uint32_t n = 832, words = n / 64;
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  const auto& scalar = k::detail::kQueryPlanesScalar;
  k::QueryRange r = scalar.range(v.data(), n);
  float delta = (r.high - r.low) / 15.0f;
  const std::vector<float> u = dither();
  std::vector<std::uint64_t> planes(4 * words);
  std::uint32_t sum =
      scalar.quantize(v.data(), words, r.low, 1.0f / delta, u.data(), kPeriod, planes.data());
  std::uint32_t rebuilt = 0;
  for (std::uint32_t i = 0; i < n; i++) {
    std::uint32_t q = 0;
    for (int b = 0; b < 4; b++) q |= ((planes[b * words + i / 64] >> (i % 64)) & 1) << b;
    // Within one level of the unrounded value (the dither adds less than one).
    float exact = (v[i] - r.low) / delta;
    EXPECT_LE(std::fabs(static_cast<float>(q) - exact), 1.0f + 1e-4f) << i;
    rebuilt += q;
  }
  EXPECT_EQ(sum, rebuilt);
}
