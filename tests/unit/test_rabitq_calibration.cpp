// The error bound's calibration (rabitq/calibration.h): the quantile that sets an index's
// full-probe epsilon, the pairs it is measured on, and the epsilon a scan uses.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "rabitq/calibration.h"
#include "rabitq/metric.h"

namespace rq = ruvector::rabitq;

namespace {

TEST(RabitqCalibration, EpsilonLeavesAtMostTheMissRateAbove) {
  std::vector<float> z(1000);
  for (int i = 0; i < 1000; i++) z[i] = static_cast<float>((i * 7919) % 1000) / 1000;  // 0..0.999
  const float eps = rq::epsilon_for_miss_rate(z, 0.01);
  EXPECT_FLOAT_EQ(eps, 0.989f);
  EXPECT_EQ(std::count_if(z.begin(), z.end(), [eps](float v) { return v > eps; }), 10);
  // The smallest such epsilon: one step down leaves more above.
  EXPECT_GT(std::count_if(z.begin(), z.end(), [](float v) { return v > 0.988f; }), 10);
  EXPECT_EQ(rq::epsilon_for_miss_rate({}, 0.01), 0);
  EXPECT_EQ(rq::epsilon_for_miss_rate({-3, -2}, 0.5), 0);  // never negative
}

TEST(RabitqCalibration, FullProbeEpsilonExtrapolatesSmallSamples) {
  EXPECT_EQ(rq::full_probe_epsilon(std::vector<float>(999, 1.0f)), 0);  // too few to say
  // 2000 pairs: the 1e-3 point (2 above) scaled as a normal tail.
  std::vector<float> z(2000);
  for (int i = 0; i < 2000; i++) z[i] = static_cast<float>(i) / 1000;
  EXPECT_NEAR(rq::full_probe_epsilon(z), 1.997 * 3.719 / 3.090, 1e-3);
  // With 10 / 1e-4 pairs a heavier measured tail wins over the extrapolation.
  std::vector<float> heavy(100000, 0.0f);
  for (int i = 0; i < 11; i++) heavy[i] = 9;
  EXPECT_FLOAT_EQ(rq::full_probe_epsilon(heavy), 9);
}

TEST(RabitqCalibration, ScanEpsilonRisesWithTheShareProbed) {
  EXPECT_FLOAT_EQ(rq::scan_epsilon(1.9f, 3.9f, 0, 100), 1.9f);
  EXPECT_FLOAT_EQ(rq::scan_epsilon(1.9f, 3.9f, 50, 100), 2.9f);
  EXPECT_FLOAT_EQ(rq::scan_epsilon(1.9f, 3.9f, 100, 100), 3.9f);
  EXPECT_FLOAT_EQ(rq::scan_epsilon(1.9f, 3.9f, 500, 100), 3.9f);
  // A user's epsilon above the calibrated one stands.
  EXPECT_FLOAT_EQ(rq::scan_epsilon(3.95f, 3.9f, 100, 100), 3.95f);
  float last = 0;
  for (std::uint32_t p = 1; p <= 490; p++) {
    const float e = rq::scan_epsilon(1.9f, 3.7f, p, 490);
    EXPECT_GE(e, last);
    last = e;
  }
}

// Isotropic data: the normalized error is about a standard normal (the theorem's case), so
// the share of bound misses at epsilon 1.9 is a few percent and the full-probe epsilon
// near the normal's 3.7. A wrong normalization (by ||v||, error_unit or ||r||) moves both.
TEST(RabitqCalibration, NormalizedErrorsOfIsotropicData) {
  constexpr std::uint32_t kDim = 128, kLists = 8, kQueries = 64;
  constexpr std::size_t kRows = 4096;
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0, 1);
  std::vector<float> centroids(kLists * kDim), rows(kRows * kDim);
  for (float& x : centroids) x = 4 * normal(rng);
  for (std::size_t i = 0; i < kRows; i++) {
    const float* c = centroids.data() + (i % kLists) * kDim;
    for (std::uint32_t j = 0; j < kDim; j++) rows[i * kDim + j] = c[j] + normal(rng);
  }
  for (rq::Metric metric : {rq::Metric::kL2, rq::Metric::kInnerProduct}) {
    const rq::CalibrationSample sample{metric, rows.data(), kRows, centroids.data(), kLists, kDim};
    // Probing every list, each query meets every other row once.
    const std::vector<float> z = rq::normalized_errors(sample, kQueries, kLists, 2);
    ASSERT_EQ(z.size(), kQueries * (kRows - kQueries));
    double mean = 0, var = 0;
    for (float v : z) mean += v;
    mean /= z.size();
    for (float v : z) var += (v - mean) * (v - mean);
    const double sd = std::sqrt(var / z.size());
    EXPECT_NEAR(mean, 0, 0.05);
    EXPECT_GT(sd, 0.6);
    EXPECT_LT(sd, 1.2);
    const double missed =
        std::count_if(z.begin(), z.end(), [](float v) { return v > 1.9f; }) / double(z.size());
    EXPECT_GT(missed, 0.005);
    EXPECT_LT(missed, 0.06);
    const float full = rq::full_probe_epsilon(z);
    EXPECT_GT(full, 2.8f);
    EXPECT_LT(full, 4.8f);
    // One nearest list: only the rows assigned to it.
    EXPECT_LT(rq::normalized_errors(sample, kQueries, 1, 1).size(), z.size() / 4);
  }
}

}  // namespace
