// Distance kernels of every ISA this CPU has, against a double-precision reference.
//
// Tolerance: summing n float terms in any order (sequentially, in SIMD lanes, or a tree)
// has error at most gamma_{n} * sum|term_i| with gamma_n = n*u/(1 - n*u), u = 2^-24; each
// term carries at most two further roundings (the subtraction and the product, or one for
// FMA). So |computed - exact| <= (n + 3) * u * sum|term_i| * (1 + 1e-6) is a hard bound: a
// correct kernel can never exceed it, and a wrong one (a dropped tail, a lane counted twice,
// a wrong operand) misses it by whole terms.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/distance.h"

namespace k = ruvector::kernels;

namespace {

constexpr double kUnit = 1.0 / (1 << 24);

double bound(std::size_t n, double abs_sum) { return (n + 3) * kUnit * abs_sum * (1 + 1e-6); }

struct Reference {
  double l2, l2_abs, ip, ip_abs, l1, na, nb;
};

Reference reference(const float* a, const float* b, std::size_t n) {
  Reference r{};
  for (std::size_t i = 0; i < n; i++) {
    double x = a[i], y = b[i];
    r.l2 += (x - y) * (x - y);
    r.ip += x * y;
    r.ip_abs += std::fabs(x * y);
    r.l1 += std::fabs(x - y);
    r.na += x * x;
    r.nb += y * y;
  }
  r.l2_abs = r.l2;
  return r;
}

std::vector<const k::DistanceKernels*> available() {
  std::vector<const k::DistanceKernels*> out;
  for (const char* isa : {"avx512", "avx2", "scalar"}) {
    if (const k::DistanceKernels* t = k::distance_kernels_for(isa)) out.push_back(t);
  }
  return out;
}

void check_all(const float* a, const float* b, std::size_t n, const std::string& what) {
  Reference r = reference(a, b, n);
  for (const k::DistanceKernels* t : available()) {
    SCOPED_TRACE(std::string(t->isa) + " " + what + " n=" + std::to_string(n));
    EXPECT_NEAR(t->l2_squared(a, b, n), r.l2, bound(n, r.l2_abs));
    EXPECT_NEAR(t->inner_product(a, b, n), r.ip, bound(n, r.ip_abs));
    EXPECT_NEAR(t->l1(a, b, n), r.l1, bound(n, r.l1));
    EXPECT_NEAR(t->norm_squared(a, n), r.na, bound(n, r.na));
    k::CosineParts p = t->cosine_parts(a, b, n);
    EXPECT_NEAR(p.dot, r.ip, bound(n, r.ip_abs));
    EXPECT_NEAR(p.norm_a_sq, r.na, bound(n, r.na));
    EXPECT_NEAR(p.norm_b_sq, r.nb, bound(n, r.nb));
  }
}

std::vector<float> random_floats(std::mt19937_64& rng, std::size_t n, float scale) {
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

}  // namespace

TEST(Distance, ScalarIsAlwaysAvailable) {
  ASSERT_NE(k::distance_kernels_for("scalar"), nullptr);
  EXPECT_EQ(k::distance_kernels_for("sse9"), nullptr);
}

TEST(Distance, DispatchPicksTheBestIsa) {
  const char* forced = std::getenv("RUVECTOR_ISA");
  if (forced != nullptr && *forced != '\0') GTEST_SKIP() << "RUVECTOR_ISA is set";
  std::vector<const k::DistanceKernels*> isas = available();
  EXPECT_STREQ(k::distance_kernels().isa, isas.front()->isa);
  EXPECT_EQ(&k::distance_kernels(), &k::distance_kernels());  // chosen once
}

TEST(Distance, EverySizeUpTo64) {
  std::mt19937_64 rng(1);
  for (std::size_t n = 1; n <= 64; n++) {
    auto a = random_floats(rng, n, 1.0f), b = random_floats(rng, n, 1.0f);
    check_all(a.data(), b.data(), n, "small");
  }
}

TEST(Distance, ManySizesUpTo2000) {
  std::mt19937_64 rng(2);
  for (std::size_t n : {65,  96,  127, 128, 129,  255,  256,  257,  383,  511, 767,
                        768, 769, 784, 997, 1023, 1024, 1031, 1536, 1999, 2000}) {
    auto a = random_floats(rng, n, 3.0f), b = random_floats(rng, n, 0.5f);
    check_all(a.data(), b.data(), n, "large");
  }
}

TEST(Distance, UnalignedPointers) {
  std::mt19937_64 rng(3);
  auto buf_a = random_floats(rng, 1100, 1.0f), buf_b = random_floats(rng, 1100, 1.0f);
  for (std::size_t off_a = 0; off_a < 4; off_a++) {
    for (std::size_t off_b = 0; off_b < 4; off_b++) {
      for (std::size_t n : {7, 33, 100, 1000}) {
        check_all(buf_a.data() + off_a, buf_b.data() + off_b, n, "unaligned");
      }
    }
  }
}

TEST(Distance, IsasAgreeWithEachOther) {
  std::mt19937_64 rng(4);
  auto a = random_floats(rng, 1537, 1.0f), b = random_floats(rng, 1537, 1.0f);
  Reference r = reference(a.data(), b.data(), a.size());
  const k::DistanceKernels* scalar = k::distance_kernels_for("scalar");
  for (const k::DistanceKernels* t : available()) {
    EXPECT_NEAR(t->l2_squared(a.data(), b.data(), a.size()),
                scalar->l2_squared(a.data(), b.data(), a.size()), 2 * bound(a.size(), r.l2))
        << t->isa;
    EXPECT_NEAR(t->inner_product(a.data(), b.data(), a.size()),
                scalar->inner_product(a.data(), b.data(), a.size()), 2 * bound(a.size(), r.ip_abs))
        << t->isa;
  }
}

TEST(Distance, EdgeValues) {
  std::vector<float> zeros(100, 0.0f), ones(100, 1.0f), neg(100, -2.0f);
  for (const k::DistanceKernels* t : available()) {
    SCOPED_TRACE(t->isa);
    EXPECT_EQ(t->l2_squared(zeros.data(), zeros.data(), 100), 0.0f);
    EXPECT_EQ(t->l2_squared(ones.data(), neg.data(), 100), 900.0f);
    EXPECT_EQ(t->inner_product(ones.data(), neg.data(), 100), -200.0f);
    EXPECT_EQ(t->l1(ones.data(), neg.data(), 100), 300.0f);
    EXPECT_EQ(t->l2_squared(ones.data(), neg.data(), 1), 9.0f);
    k::CosineParts z = t->cosine_parts(zeros.data(), ones.data(), 100);
    EXPECT_EQ(z.norm_a_sq, 0.0f);
    EXPECT_EQ(z.norm_b_sq, 100.0f);
  }
}

TEST(Distance, OverflowGivesInfinityNotNan) {
  std::vector<float> big(100, 2e19f), small(100, -2e19f);
  for (const k::DistanceKernels* t : available()) {
    SCOPED_TRACE(t->isa);
    for (std::size_t n : {1, 17, 100}) {
      EXPECT_EQ(t->l2_squared(big.data(), small.data(), n), std::numeric_limits<float>::infinity());
      EXPECT_EQ(t->inner_product(big.data(), small.data(), n),
                -std::numeric_limits<float>::infinity());
      EXPECT_EQ(t->norm_squared(big.data(), n), std::numeric_limits<float>::infinity());
    }
  }
}
