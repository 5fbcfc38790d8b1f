// Distance kernels of every ISA this CPU has, against a double-precision reference.
//
// Tolerance. A float sum of n terms, added in any order (sequentially, in SIMD lanes, or as
// a tree), is off by at most gamma_k * sum|term_i|, where k bounds the number of roundings on
// any one term's path and gamma_k = k*u/(1 - k*u), u = 2^-24. Each term is formed with at
// most two roundings (a subtraction and a product; an FMA folds the product into the add)
// and passes through at most n - 1 additions, so k <= n + 1 and
//     |computed - exact| <= (n + 3) * u * sum|term_i|   (the +2 and the 1e-6 cover gamma's
//                                                        denominator and the reference's own
//                                                        double rounding, ~1e-16 relative).
// This is a hard bound, not a statistical one: no correct kernel can exceed it, whatever its
// order of summation, and a wrong one (a dropped tail, a lane counted twice, a wrong operand)
// misses it by whole terms. At n = 2000 it allows 1.2e-4 of sum|term_i|.
//
// The scalar kernel sums in four interleaved lanes of n/4 terms, joins them with two adds
// and adds a tail of at most three, so its k is at most n/4 + 7; it is held to that tighter
// (n/4 + 8) * u bound. (On random data the actual error is far below either bound, so these
// catch wrong sums, not a change of summation order.)
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/distance.h"

namespace k = ruvector::kernels;

namespace {

constexpr double kUnit = 1.0 / (1 << 24);
constexpr float kInf = std::numeric_limits<float>::infinity();

double bound(std::size_t n, double abs_sum) { return (n + 3) * kUnit * abs_sum * (1 + 1e-6); }

double scalar_bound(std::size_t n, double abs_sum) {
  return (n / 4 + 8) * kUnit * abs_sum * (1 + 1e-6);
}

// Exact sums (up to double rounding) and, for the signed one, the sum of |terms| that
// scales its error bound. The other sums have no negative terms.
struct Reference {
  double l2, ip, ip_abs, l1, na, nb;
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
  return r;
}

// Best first, as the dispatcher ranks them.
std::vector<const k::DistanceKernels*> available() {
  std::vector<const k::DistanceKernels*> out;
  for (const char* isa : {"avx512", "avx2", "scalar"}) {
    if (const k::DistanceKernels* t = k::distance_kernels_for(isa)) out.push_back(t);
  }
  return out;
}

using Bound = double (*)(std::size_t, double);

void check_table(const k::DistanceKernels* t, const float* a, const float* b, std::size_t n,
                 const Reference& r, Bound tol) {
  EXPECT_NEAR(t->l2_squared(a, b, n), r.l2, tol(n, r.l2)) << "l2_squared";
  EXPECT_NEAR(t->inner_product(a, b, n), r.ip, tol(n, r.ip_abs)) << "inner_product";
  EXPECT_NEAR(t->l1(a, b, n), r.l1, tol(n, r.l1)) << "l1";
  EXPECT_NEAR(t->norm_squared(a, n), r.na, tol(n, r.na)) << "norm_squared";
  k::CosineParts p = t->cosine_parts(a, b, n);
  EXPECT_NEAR(p.dot, r.ip, tol(n, r.ip_abs)) << "cosine_parts.dot";
  EXPECT_NEAR(p.norm_a_sq, r.na, tol(n, r.na)) << "cosine_parts.norm_a_sq";
  EXPECT_NEAR(p.norm_b_sq, r.nb, tol(n, r.nb)) << "cosine_parts.norm_b_sq";
}

void check_all(const float* a, const float* b, std::size_t n, const std::string& what) {
  Reference r = reference(a, b, n);
  for (const k::DistanceKernels* t : available()) {
    SCOPED_TRACE(std::string(t->isa) + " " + what + " n=" + std::to_string(n));
    check_table(t, a, b, n, r, bound);
  }
  SCOPED_TRACE("scalar (tight) " + what + " n=" + std::to_string(n));
  check_table(k::distance_kernels_for("scalar"), a, b, n, r, scalar_bound);
}

std::vector<float> random_floats(std::mt19937_64& rng, std::size_t n, float scale) {
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// Magnitudes spread over 2^-20 .. 2^20 with random signs, so that a few terms dominate.
std::vector<float> wide_range_floats(std::mt19937_64& rng, std::size_t n) {
  std::uniform_real_distribution<float> mantissa(-1.0f, 1.0f);
  std::uniform_int_distribution<int> exponent(-20, 20);
  std::vector<float> v(n);
  for (float& x : v) x = std::ldexp(mantissa(rng), exponent(rng));
  return v;
}

}  // namespace

TEST(Distance, ScalarIsAlwaysAvailable) {
  ASSERT_NE(k::distance_kernels_for("scalar"), nullptr);
  EXPECT_EQ(k::distance_kernels_for("sse9"), nullptr);
  EXPECT_EQ(k::distance_kernels_for(""), nullptr);
  for (const k::DistanceKernels* t : available()) {
    EXPECT_STREQ(k::distance_kernels_for(t->isa)->isa, t->isa);
  }
}

// The dispatcher's own detection against what the compiler's runtime reports.
TEST(Distance, OffersTheIsasTheCpuReports) {
  bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  bool avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  // Offering an ISA the CPU lacks would crash; the converse (withholding one it has) can
  // happen only on exotic CPUs, such as AVX2 without BMI2 or AVX-512 without CD.
  EXPECT_EQ(k::distance_kernels_for("avx2") != nullptr, avx2);
  EXPECT_EQ(k::distance_kernels_for("avx512") != nullptr, avx512);
}

TEST(Distance, DispatchPicksTheBestIsa) {
  EXPECT_EQ(&k::distance_kernels(), &k::distance_kernels());  // chosen once
  const char* forced = std::getenv("RUVECTOR_ISA");
  if (forced != nullptr && k::distance_kernels_for(forced) != nullptr) {
    EXPECT_STREQ(k::distance_kernels().isa, forced) << "RUVECTOR_ISA not honoured";
  } else {
    EXPECT_STREQ(k::distance_kernels().isa, available().front()->isa);
  }
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
  std::vector<std::size_t> sizes = {65,  96,  127, 128, 129,  255,  256,  257,  383,  511, 767,
                                    768, 769, 784, 997, 1023, 1024, 1031, 1536, 1999, 2000};
  for (std::size_t n = 67; n < 2000; n += 37) sizes.push_back(n);  // 37 is prime: all residues
  for (std::size_t n : sizes) {
    auto a = random_floats(rng, n, 3.0f), b = random_floats(rng, n, 0.5f);
    check_all(a.data(), b.data(), n, "random");
  }
}

// One row against four rows `stride` apart: each product within the reference's bound.
TEST(Distance, InnerProductOneByFour) {
  std::mt19937_64 rng(5);
  for (std::size_t n : {std::size_t{1}, std::size_t{7}, std::size_t{16}, std::size_t{33},
                        std::size_t{768}, std::size_t{784}, std::size_t{1999}}) {
    std::size_t stride = n + 3;  // rows need not be packed
    auto a = random_floats(rng, n, 2.0f);
    auto b = random_floats(rng, 4 * stride, 1.0f);
    for (const k::DistanceKernels* t : available()) {
      float out[4];
      t->inner_product_1x4(a.data(), b.data(), stride, n, out);
      for (std::size_t j = 0; j < 4; j++) {
        Reference r = reference(a.data(), b.data() + j * stride, n);
        EXPECT_NEAR(out[j], r.ip, bound(n, r.ip_abs)) << t->isa << " n=" << n << " j=" << j;
      }
    }
  }
}

// Four rows against four: bit for bit the 1x4 kernel's products, row by row, so a k-means
// does not depend on which kernel a row went through.
TEST(Distance, InnerProductFourByFourMatchesOneByFour) {
  std::mt19937_64 rng(7);
  for (std::size_t n : {std::size_t{1}, std::size_t{7}, std::size_t{16}, std::size_t{33},
                        std::size_t{768}, std::size_t{784}, std::size_t{1999}}) {
    std::size_t a_stride = n + 5, b_stride = n + 3;
    auto a = random_floats(rng, 4 * a_stride, 2.0f);
    auto b = random_floats(rng, 4 * b_stride, 1.0f);
    for (const k::DistanceKernels* t : available()) {
      float out[16];
      t->inner_product_4x4(a.data(), a_stride, b.data(), b_stride, n, out);
      for (std::size_t r = 0; r < 4; r++) {
        float row[4];
        t->inner_product_1x4(a.data() + r * a_stride, b.data(), b_stride, n, row);
        for (std::size_t j = 0; j < 4; j++) {
          EXPECT_EQ(std::memcmp(&out[r * 4 + j], &row[j], sizeof(float)), 0)
              << t->isa << " n=" << n << " r=" << r << " j=" << j;
        }
      }
    }
  }
}

// Unsigned against signed bytes: the exact integer, on every table this CPU runs (each
// AVX-512 variant: VNNI and the widening path), at lengths around each step width, and at
// the extremes (255 and 1 are the stored codes of 127 and −127).
TEST(Distance, DotOfBytesIsExact) {
  std::mt19937_64 rng(8);
  std::uniform_int_distribution<int> byte(-127, 127);
  std::vector<std::size_t> lengths{0, 1, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 784, 832, 1999};
  for (std::size_t n : lengths) {
    std::vector<std::uint8_t> a(n), top(n, 255), bottom(n, 1);
    std::vector<std::int8_t> b(n), low(n, -127), high(n, 127);
    for (std::size_t i = 0; i < n; i++) {
      a[i] = static_cast<std::uint8_t>(byte(rng) + 128);
      b[i] = static_cast<std::int8_t>(byte(rng));
    }
    std::int64_t want = 0;
    for (std::size_t i = 0; i < n; i++) want += a[i] * b[i];
    const auto n64 = static_cast<std::int64_t>(n);
    for (const k::DistanceKernels* t : k::usable_distance_kernels()) {
      EXPECT_EQ(t->dot_u8i8(a.data(), b.data(), n), want) << t->isa << " n=" << n;
      EXPECT_EQ(t->dot_u8i8(top.data(), low.data(), n), -255 * 127 * n64) << t->isa << " n=" << n;
      EXPECT_EQ(t->dot_u8i8(top.data(), high.data(), n), 255 * 127 * n64) << t->isa << " n=" << n;
      EXPECT_EQ(t->dot_u8i8(bottom.data(), low.data(), n), -127 * n64) << t->isa << " n=" << n;
    }
  }
}

// The rotation's transform: bit for bit the scalar loop's on every table, at sizes below,
// at and above each register width (the in-register stages and the whole-register ones).
TEST(Distance, HadamardIsTheScalarTransformBitForBit) {
  std::mt19937_64 rng(9);
  const k::DistanceKernels* scalar = k::distance_kernels_for("scalar");
  for (std::uint32_t n : {1u, 2u, 4u, 8u, 16u, 32u, 64u, 512u, 1024u, 4096u}) {
    auto x = wide_range_floats(rng, n);
    std::vector<float> want = x;
    scalar->hadamard(want.data(), n);
    // Against the definition, within rounding: H x[i] = sum_j (-1)^popcount(i & j) x[j].
    if (n <= 64) {
      for (std::uint32_t i = 0; i < n; i++) {
        double sum = 0, size = 0;
        for (std::uint32_t j = 0; j < n; j++) {
          sum += (__builtin_popcount(i & j) % 2 ? -1.0 : 1.0) * x[j];
          size += std::fabs(x[j]);
        }
        EXPECT_NEAR(want[i], sum, size * n * 1e-6) << "n=" << n << " i=" << i;
      }
    }
    for (const k::DistanceKernels* t : k::usable_distance_kernels()) {
      std::vector<float> got = x;
      t->hadamard(got.data(), n);
      EXPECT_EQ(0, std::memcmp(got.data(), want.data(), sizeof(float) * n)) << t->isa << " n=" << n;
    }
  }
}

// The rotation's element-wise steps: bit for bit the scalar loops on every table, including
// -0, infinities and NaN payloads through the sign flip, at sizes that leave tails.
TEST(Distance, RotationStepsAreTheScalarLoopsBitForBit) {
  std::mt19937_64 rng(11);
  const k::DistanceKernels* scalar = k::distance_kernels_for("scalar");
  for (std::uint32_t n : {64u, 128u, 832u, 1024u, 3008u}) {
    auto x = wide_range_floats(rng, n);
    x[0] = -0.0f;
    x[1] = std::numeric_limits<float>::infinity();
    x[2] = std::numeric_limits<float>::quiet_NaN();
    std::vector<std::uint64_t> signs(n / 64);
    for (auto& w : signs) w = rng();
    const float s = 1.0f / std::sqrt(static_cast<float>(n));
    std::vector<float> flipped = x, scaled = x, mixed = x;
    scalar->flip_signs(flipped.data(), signs.data(), n);
    scalar->scale(scaled.data(), n - 3, s);  // a tail shorter than a register
    scalar->butterfly(mixed.data(), n / 2 - 1, s);
    for (std::uint32_t i = 0; i < n; i++) {
      const bool set = (signs[i / 64] >> (i % 64)) & 1;
      std::uint32_t a, b;
      std::memcpy(&a, &x[i], 4);
      std::memcpy(&b, &flipped[i], 4);
      ASSERT_EQ(b, set ? a ^ 0x80000000u : a) << "n=" << n << " i=" << i;
    }
    for (const k::DistanceKernels* t : k::usable_distance_kernels()) {
      std::vector<float> got = x;
      t->flip_signs(got.data(), signs.data(), n);
      EXPECT_EQ(0, std::memcmp(got.data(), flipped.data(), sizeof(float) * n))
          << t->isa << " n=" << n;
      got = x;
      t->scale(got.data(), n - 3, s);
      EXPECT_EQ(0, std::memcmp(got.data(), scaled.data(), sizeof(float) * n))
          << t->isa << " n=" << n;
      got = x;
      t->butterfly(got.data(), n / 2 - 1, s);
      EXPECT_EQ(0, std::memcmp(got.data(), mixed.data(), sizeof(float) * n))
          << t->isa << " n=" << n;
    }
  }
}

// A residual: out[i] = a[i] - b[i] on every table, tails and special values included.
TEST(Distance, SubtractIsTheScalarDifferenceBitForBit) {
  std::mt19937_64 rng(13);
  for (std::uint32_t n : {1u, 15u, 64u, 785u, 832u, 3008u}) {
    auto a = wide_range_floats(rng, n), b = wide_range_floats(rng, n);
    a[0] = -0.0f;
    if (n > 2) {
      a[1] = std::numeric_limits<float>::infinity();
      b[2] = std::numeric_limits<float>::quiet_NaN();
    }
    std::vector<float> want(n);
    for (std::uint32_t i = 0; i < n; i++) want[i] = a[i] - b[i];
    for (const k::DistanceKernels* t : k::usable_distance_kernels()) {
      std::vector<float> got(n + 1, 7.0f);
      t->subtract(a.data(), b.data(), got.data(), n);
      EXPECT_EQ(0, std::memcmp(got.data(), want.data(), sizeof(float) * n)) << t->isa << " n=" << n;
      EXPECT_EQ(got[n], 7.0f) << t->isa << " wrote past n=" << n;
    }
  }
}

// l2_squared_until is l2_squared bit for bit unless it stops, and it stops only with a
// partial sum past the limit and no larger than the whole sum: what lets a rerank skip the
// rest of a row that is already too far.
TEST(Distance, L2SquaredUntilIsTheSumOrAPartPastTheLimit) {
  std::mt19937_64 rng(14);
  for (std::size_t n : {0, 1, 63, 255, 256, 257, 511, 784, 832, 1537}) {
    auto va = random_floats(rng, n, 1.0f), vb = random_floats(rng, n, 1.0f);
    for (const k::DistanceKernels* t : k::usable_distance_kernels()) {
      SCOPED_TRACE(std::string(t->isa) + " n=" + std::to_string(n));
      const float whole = t->l2_squared(va.data(), vb.data(), n);
      bool stopped = false;
      for (float share : {0.0f, 0.05f, 0.2f, 0.5f, 0.9f, 0.999f, 1.0f, 2.0f, kInf}) {
        const float limit = share * whole;
        const float got = t->l2_squared_until(va.data(), vb.data(), n, limit);
        if (std::memcmp(&got, &whole, sizeof(float)) == 0) continue;
        stopped = true;
        EXPECT_GT(got, limit) << "share " << share;
        EXPECT_LE(got, whole) << "share " << share;
        EXPECT_LT(share, 1.0f) << "stopped although the whole sum is within the limit";
      }
      // A row of 2 or more checks' length against a low limit stops at its first check.
      if (n > k::kCheckFloats) {
        EXPECT_TRUE(stopped);
      }
    }
  }
}

TEST(Distance, WideRangeOfMagnitudes) {
  std::mt19937_64 rng(5);
  for (std::size_t n : {1, 5, 31, 100, 257, 1000, 1999}) {
    auto a = wide_range_floats(rng, n), b = wide_range_floats(rng, n);
    check_all(a.data(), b.data(), n, "wide");
  }
}

TEST(Distance, AllNegative) {
  std::mt19937_64 rng(6);
  for (std::size_t n : {3, 16, 77, 768}) {
    auto a = random_floats(rng, n, 1.0f), b = random_floats(rng, n, 1.0f);
    for (float& x : a) x = -std::fabs(x) - 0.5f;
    for (float& x : b) x = -std::fabs(x);
    check_all(a.data(), b.data(), n, "negative");
  }
}

TEST(Distance, UnalignedPointers) {
  std::mt19937_64 rng(3);
  auto buf_a = random_floats(rng, 1100, 1.0f), buf_b = random_floats(rng, 1100, 1.0f);
  for (std::size_t off_a = 0; off_a < 4; off_a++) {
    for (std::size_t off_b = 0; off_b < 4; off_b++) {
      for (std::size_t n : {1, 7, 15, 16, 17, 33, 63, 64, 65, 100, 1000, 1027}) {
        check_all(buf_a.data() + off_a, buf_b.data() + off_b, n,
                  "offsets " + std::to_string(off_a) + "," + std::to_string(off_b));
      }
    }
  }
}

// Each ISA is within its bound of the exact sum, so two ISAs are within the sum of bounds.
TEST(Distance, IsasAgreeWithEachOther) {
  std::mt19937_64 rng(4);
  const k::DistanceKernels* s = k::distance_kernels_for("scalar");
  for (std::size_t n : {9, 100, 768, 1537}) {
    auto va = random_floats(rng, n, 1.0f), vb = random_floats(rng, n, 1.0f);
    const float *a = va.data(), *b = vb.data();
    Reference r = reference(a, b, n);
    for (const k::DistanceKernels* t : available()) {
      SCOPED_TRACE(std::string(t->isa) + " vs scalar, n=" + std::to_string(n));
      EXPECT_NEAR(t->l2_squared(a, b, n), s->l2_squared(a, b, n), 2 * bound(n, r.l2));
      EXPECT_NEAR(t->inner_product(a, b, n), s->inner_product(a, b, n), 2 * bound(n, r.ip_abs));
      EXPECT_NEAR(t->l1(a, b, n), s->l1(a, b, n), 2 * bound(n, r.l1));
      EXPECT_NEAR(t->norm_squared(a, n), s->norm_squared(a, n), 2 * bound(n, r.na));
      k::CosineParts p = t->cosine_parts(a, b, n), q = s->cosine_parts(a, b, n);
      EXPECT_NEAR(p.dot, q.dot, 2 * bound(n, r.ip_abs));
      EXPECT_NEAR(p.norm_a_sq, q.norm_a_sq, 2 * bound(n, r.na));
      EXPECT_NEAR(p.norm_b_sq, q.norm_b_sq, 2 * bound(n, r.nb));
    }
  }
}

// Small integers: every partial sum is exact, so every ISA must give the exact answer.
TEST(Distance, ExactValues) {
  std::vector<float> zeros(100, 0.0f), ones(100, 1.0f), neg(100, -2.0f);
  for (const k::DistanceKernels* t : available()) {
    SCOPED_TRACE(t->isa);
    for (std::size_t n : {1, 2, 15, 16, 17, 100}) {
      float f = static_cast<float>(n);
      EXPECT_EQ(t->l2_squared(zeros.data(), zeros.data(), n), 0.0f);
      EXPECT_EQ(t->inner_product(zeros.data(), ones.data(), n), 0.0f);
      EXPECT_EQ(t->l1(zeros.data(), zeros.data(), n), 0.0f);
      EXPECT_EQ(t->norm_squared(zeros.data(), n), 0.0f);
      EXPECT_EQ(t->l2_squared(ones.data(), neg.data(), n), 9.0f * f);
      EXPECT_EQ(t->inner_product(ones.data(), neg.data(), n), -2.0f * f);
      EXPECT_EQ(t->l1(ones.data(), neg.data(), n), 3.0f * f);
      EXPECT_EQ(t->norm_squared(neg.data(), n), 4.0f * f);
      k::CosineParts z = t->cosine_parts(zeros.data(), neg.data(), n);
      EXPECT_EQ(z.dot, 0.0f);
      EXPECT_EQ(z.norm_a_sq, 0.0f);
      EXPECT_EQ(z.norm_b_sq, 4.0f * f);
    }
  }
}

// (2e18)^2 = 4e36 fits a float, but 86 of them exceed FLT_MAX = 3.4e38: the sum must
// saturate to +inf. A kernel that formed |a|^2 + |b|^2 - 2ab would give inf - inf = NaN.
TEST(Distance, LargeMagnitudesOverflowToInfinityNotNan) {
  std::vector<float> pos(1000, 1e18f), neg(1000, -1e18f), huge(1000, 1e20f);
  for (const k::DistanceKernels* t : available()) {
    SCOPED_TRACE(t->isa);
    for (std::size_t n : {1, 17, 64}) {  // still finite: compare with the reference
      Reference r = reference(pos.data(), neg.data(), n);
      EXPECT_NEAR(t->l2_squared(pos.data(), neg.data(), n), r.l2, bound(n, r.l2));
      EXPECT_NEAR(t->inner_product(pos.data(), neg.data(), n), r.ip, bound(n, r.ip_abs));
      EXPECT_NEAR(t->l1(pos.data(), neg.data(), n), r.l1, bound(n, r.l1));
    }
    for (std::size_t n : {86, 100, 101, 1000}) {
      EXPECT_EQ(t->l2_squared(pos.data(), neg.data(), n), kInf) << n;
      EXPECT_EQ(t->l2_squared(pos.data(), pos.data(), n), 0.0f) << n;
    }
    for (std::size_t n : {400, 401, 1000}) {  // 1e36 per term needs 341 to overflow
      EXPECT_EQ(t->inner_product(pos.data(), neg.data(), n), -kInf) << n;
      EXPECT_EQ(t->norm_squared(pos.data(), n), kInf) << n;
    }
    for (std::size_t n : {1, 7, 33, 1000}) {  // each term overflows on its own
      EXPECT_EQ(t->l2_squared(huge.data(), neg.data(), n), kInf);
      EXPECT_EQ(t->l2_squared(huge.data(), huge.data(), n), 0.0f);
      EXPECT_EQ(t->inner_product(huge.data(), huge.data(), n), kInf);
      k::CosineParts p = t->cosine_parts(huge.data(), pos.data(), n);
      EXPECT_FALSE(std::isnan(p.dot));
      EXPECT_EQ(p.norm_a_sq, kInf);
      EXPECT_EQ(t->cosine_parts(huge.data(), huge.data(), n).dot, kInf);
      EXPECT_FALSE(std::isnan(p.norm_b_sq));
    }
  }
}
