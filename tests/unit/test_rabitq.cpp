// RaBitQ core: the seeded rotation is orthogonal and deterministic; codes and the query
// quantization give an unbiased estimate whose error bound holds for nearly all pairs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/cpu/distance.h"
#include "rabitq/code.h"
#include "rabitq/query.h"
#include "rabitq/rotator.h"

namespace rq = ruvector::rabitq;

namespace {

std::vector<float> gaussian(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

double dot(const float* a, const float* b, std::size_t n) {
  double s = 0;
  for (std::size_t i = 0; i < n; i++) s += static_cast<double>(a[i]) * b[i];
  return s;
}

}  // namespace

TEST(RabitqRotator, PreservesNormsAndInnerProducts) {
  for (std::uint32_t dim : {1u, 63u, 64u, 65u, 768u, 784u, 1000u, 16000u}) {
    rq::Rotator r(dim, 42);
    ASSERT_EQ(r.padded_dim() % 64, 0u);
    ASSERT_GE(r.padded_dim(), dim);
    auto a = gaussian(dim, 1), b = gaussian(dim, 2);
    std::vector<float> ra(r.padded_dim()), rb(r.padded_dim());
    r.rotate(a.data(), ra.data());
    r.rotate(b.data(), rb.data());
    double na = dot(a.data(), a.data(), dim), nra = dot(ra.data(), ra.data(), r.padded_dim());
    EXPECT_NEAR(nra / na, 1.0, 1e-5) << "dim " << dim;
    double ab = dot(a.data(), b.data(), dim), rab = dot(ra.data(), rb.data(), r.padded_dim());
    EXPECT_NEAR(rab, ab, 1e-4 * std::sqrt(na * dot(b.data(), b.data(), dim))) << "dim " << dim;
    std::vector<float> back(r.padded_dim());
    r.inverse_rotate(ra.data(), back.data());
    for (std::uint32_t i = 0; i < dim; i++) ASSERT_NEAR(back[i], a[i], 1e-4) << i;
    for (std::uint32_t i = dim; i < r.padded_dim(); i++) ASSERT_NEAR(back[i], 0.0f, 1e-4);
  }
}

TEST(RabitqRotator, IsOrthonormalOnBasisVectors) {
  for (std::uint32_t dim : {64u, 128u, 192u, 832u}) {
    rq::Rotator r(dim, 7);
    std::vector<float> rows(static_cast<std::size_t>(dim) * dim), e(dim, 0.0f);
    for (std::uint32_t i = 0; i < dim; i++) {
      std::fill(e.begin(), e.end(), 0.0f);
      e[i] = 1;
      r.rotate(e.data(), rows.data() + static_cast<std::size_t>(i) * dim);
    }
    for (std::uint32_t i = 0; i < dim; i += 7) {
      for (std::uint32_t j = 0; j < dim; j += 5) {
        double d = dot(&rows[i * dim], &rows[j * dim], dim);
        ASSERT_NEAR(d, i == j ? 1.0 : 0.0, 1e-5) << dim << " " << i << " " << j;
      }
    }
  }
}

TEST(RabitqRotator, IsDeterministicPerSeed) {
  auto a = gaussian(784, 3);
  std::vector<float> x(832), y(832), z(832);
  rq::Rotator(784, 99).rotate(a.data(), x.data());
  rq::Rotator(784, 99).rotate(a.data(), y.data());
  rq::Rotator(784, 100).rotate(a.data(), z.data());
  EXPECT_EQ(std::memcmp(x.data(), y.data(), sizeof(float) * 832), 0);
  EXPECT_NE(std::memcmp(x.data(), z.data(), sizeof(float) * 832), 0);
}

TEST(RabitqCode, FactorsOfKnownResiduals) {
  std::vector<float> r(64, 0.0f);
  std::vector<std::uint64_t> code(1);
  rq::CodeFactors f;
  rq::encode(r.data(), 64, code.data(), &f);
  EXPECT_EQ(f.residual_norm, 0.0f);
  EXPECT_EQ(f.inv_x0, 0.0f);
  EXPECT_EQ(code[0], 0u);
  // A codeword itself: x0 = 1, no error.
  for (int i = 0; i < 64; i++) r[i] = (i % 3 == 0) ? 0.125f : -0.125f;
  rq::encode(r.data(), 64, code.data(), &f);
  EXPECT_NEAR(f.inv_x0, 1.0f, 1e-6);
  EXPECT_NEAR(f.error_unit, 0.0f, 1e-4);
  EXPECT_EQ(f.popcount, 22u);
  EXPECT_EQ(code[0] & 1u, 1u);
  EXPECT_EQ((code[0] >> 1) & 1u, 0u);
}

// The estimate of <r/|r|, v> is unbiased; error_unit·|v| is about one standard deviation of
// its error, so epsilon = 1.9 covers about 94% of pairs and epsilon = 3 nearly all.
TEST(RabitqEstimator, UnbiasedAndBounded) {
  for (std::uint32_t d : {768u, 832u}) {
    const int n = 2000;
    auto v = gaussian(d, 11);
    std::vector<std::uint64_t> planes(rq::query_code_words(d));
    rq::QueryCode qc;
    rq::quantize_query(v.data(), d, &qc, planes.data());
    double vnorm = std::sqrt(dot(v.data(), v.data(), d));
    EXPECT_NEAR(qc.norm, vnorm, 1e-3 * vnorm);
    std::vector<std::uint64_t> code(d / 64);
    double sum_err = 0, sum_sq = 0;
    int within = 0, within3 = 0;
    for (int i = 0; i < n; i++) {
      auto r = gaussian(d, 1000 + i);
      rq::CodeFactors f;
      rq::encode(r.data(), d, code.data(), &f);
      double truth = dot(r.data(), v.data(), d) / f.residual_norm;
      double est = rq::estimate_ip(qc, planes.data(), code.data(), f);
      double err = est - truth;
      sum_err += err;
      sum_sq += err * err;
      if (std::fabs(err) <= f.error_unit * vnorm * 1.9) within++;
      if (std::fabs(err) <= f.error_unit * vnorm * 3.0) within3++;
    }
    double mean = sum_err / n, sd = std::sqrt(sum_sq / n - mean * mean);
    EXPECT_LT(std::fabs(mean), 4 * sd / std::sqrt(n)) << "biased at D=" << d;
    EXPECT_GE(within, n * 90 / 100) << "1.9 bound held for " << within << " of " << n;
    EXPECT_GE(within3, n * 99 / 100) << "3.0 bound held for " << within3 << " of " << n;
    // Typical error relative to |v|: about 0.6/sqrt(D).
    EXPECT_LT(sd / vnorm, 1.5 / std::sqrt(d));
  }
}

TEST(RabitqEstimator, ConstantAndZeroQueries) {
  const std::uint32_t d = 64;
  std::vector<float> v(d, 0.5f), r = gaussian(d, 5);
  std::vector<std::uint64_t> planes(rq::query_code_words(d)), code(1);
  rq::QueryCode qc;
  rq::quantize_query(v.data(), d, &qc, planes.data());
  EXPECT_EQ(qc.delta, 0.0f);
  rq::CodeFactors f;
  rq::encode(r.data(), d, code.data(), &f);
  double truth = dot(r.data(), v.data(), d) / f.residual_norm;
  double est = rq::estimate_ip(qc, planes.data(), code.data(), f);
  EXPECT_NEAR(est, truth, f.error_unit * qc.norm * 4);
  std::fill(v.begin(), v.end(), 0.0f);
  rq::quantize_query(v.data(), d, &qc, planes.data());
  EXPECT_EQ(rq::estimate_ip(qc, planes.data(), code.data(), f), 0.0f);
}

// A page of stored rows at once gives each row's estimate_ip bit for bit, the zero
// residual's 0 included; the rows are records of another layout, in any order.
TEST(RabitqEstimator, RowsAtOnceAreEachRowsEstimate) {
  const std::uint32_t d = 832, words = d / 64;
  struct Record {
    std::uint32_t id;
    rq::CodeFactors factors;
    std::uint32_t pad;
    std::uint64_t code[13];
  };
  auto v = gaussian(d, 21);
  std::vector<std::uint64_t> planes(rq::query_code_words(d));
  rq::QueryCode qc;
  rq::quantize_query(v.data(), d, &qc, planes.data());
  std::vector<Record> records(37);
  for (std::size_t i = 0; i < records.size(); i++) {
    auto r = gaussian(d, 300 + static_cast<unsigned>(i));
    if (i == 5) std::fill(r.begin(), r.end(), 0.0f);
    rq::encode(r.data(), d, records[i].code, &records[i].factors);
  }
  std::vector<const std::uint8_t*> rows;
  for (std::size_t i = records.size(); i-- > 0;) {
    rows.push_back(reinterpret_cast<const std::uint8_t*>(&records[i]));
  }
  std::vector<float> got(rows.size());
  rq::estimate_ip_rows(qc, planes.data(), rows.data(), offsetof(Record, code),
                       offsetof(Record, factors), static_cast<std::uint32_t>(rows.size()),
                       got.data());
  for (std::size_t j = 0; j < rows.size(); j++) {
    const Record& rec = records[records.size() - 1 - j];
    const float want = rq::estimate_ip(qc, planes.data(), rec.code, rec.factors);
    EXPECT_EQ(std::memcmp(&got[j], &want, sizeof(float)), 0) << "row " << j;
  }
  EXPECT_EQ(got[records.size() - 1 - 5], 0.0f);
  static_assert(sizeof(Record::code) / 8 == words);
}

TEST(RabitqKernels, BitplaneDotAgreesAcrossIsas) {
  const std::uint32_t words = 13;
  std::mt19937_64 rng(3);
  std::vector<std::uint64_t> code(words), planes(4 * words);
  for (auto& w : code) w = rng();
  for (auto& w : planes) w = rng();
  std::uint32_t expect = 0;
  for (std::uint32_t j = 0; j < 4; j++) {
    for (std::uint32_t i = 0; i < words; i++) {
      expect += (1u << j) *
                static_cast<std::uint32_t>(__builtin_popcountll(code[i] & planes[j * words + i]));
    }
  }
  for (const char* isa : {"scalar", "avx2", "avx512"}) {
    const auto* k = ruvector::kernels::distance_kernels_for(isa);
    if (k == nullptr) continue;
    for (std::uint32_t w : {1u, 8u, 9u, 13u}) {
      std::uint32_t want = 0;
      for (std::uint32_t j = 0; j < 4; j++) {
        for (std::uint32_t i = 0; i < w; i++) {
          want += (1u << j) *
                  static_cast<std::uint32_t>(__builtin_popcountll(code[i] & planes[j * w + i]));
        }
      }
      EXPECT_EQ(k->bitplane_dot4(code.data(), planes.data(), w), want) << isa << " words " << w;
    }
    EXPECT_EQ(k->bitplane_dot4(code.data(), planes.data(), words), expect) << isa;
  }
}
