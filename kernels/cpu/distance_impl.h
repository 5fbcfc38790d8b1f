// The distance kernels written once as templates over an xsimd architecture. Included
// only by the per-ISA translation units (distance_avx2.cpp, distance_avx512.cpp), each of
// which is compiled with that ISA's -m flags and instantiates its own Arch.
//
// Each FMA needs two loads and a core does two loads per cycle, so at most one FMA per cycle
// can issue; with a 4-cycle FMA latency that takes four independent accumulators. The tail
// shorter than one register is finished in scalar code. Inputs need no alignment.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include <xsimd/xsimd.hpp>

#include "kernels/cpu/bitplane_impl.h"
#include "kernels/cpu/distance.h"
#include "kernels/cpu/dot_u8i8_impl.h"
#include "kernels/cpu/hadamard_impl.h"
#include "kernels/cpu/rotation_impl.h"

namespace ruvector::kernels::detail {

// a * b + c in one rounding. xsimd 8.1 has no AVX-512 fma kernel and falls back to x * y + z,
// which is one instruction only when the compiler contracts across the inlined operators (GCC
// does by default, clang does not), so the AVX-512 build asks for the instruction itself.
template <class Arch>
inline xsimd::batch<float, Arch> madd(const xsimd::batch<float, Arch>& a,
                                      const xsimd::batch<float, Arch>& b,
                                      const xsimd::batch<float, Arch>& c) {
  return xsimd::fma(a, b, c);
}

#ifdef __AVX512F__
template <>
inline xsimd::batch<float, xsimd::avx512bw> madd(const xsimd::batch<float, xsimd::avx512bw>& a,
                                                 const xsimd::batch<float, xsimd::avx512bw>& b,
                                                 const xsimd::batch<float, xsimd::avx512bw>& c) {
  return _mm512_fmadd_ps(a, b, c);
}
#endif

template <class Arch>
struct SimdDistance {
  using Batch = xsimd::batch<float, Arch>;
  static constexpr std::size_t kWidth = Batch::size;

  static Batch load(const float* p) { return Batch::load_unaligned(p); }

  // l2_squared, and l2_squared_until: the same sum, but once a partial sum passes `limit`
  // (checked every kCheckFloats) that partial sum instead. Every step adds a square to a
  // lane and rounding is monotone, so a partial sum is at most the whole one, whatever the
  // order of the reduction, as long as it is the same reduction.
  template <bool kBounded>
  static float l2_squared_impl(const float* a, const float* b, std::size_t n, float limit) {
    Batch acc0(0.0f), acc1(0.0f), acc2(0.0f), acc3(0.0f);
    std::size_t i = 0;
    for (; i + 4 * kWidth <= n; i += 4 * kWidth) {
      Batch d0 = load(a + i) - load(b + i);
      Batch d1 = load(a + i + kWidth) - load(b + i + kWidth);
      Batch d2 = load(a + i + 2 * kWidth) - load(b + i + 2 * kWidth);
      Batch d3 = load(a + i + 3 * kWidth) - load(b + i + 3 * kWidth);
      acc0 = madd(d0, d0, acc0);
      acc1 = madd(d1, d1, acc1);
      acc2 = madd(d2, d2, acc2);
      acc3 = madd(d3, d3, acc3);
      if constexpr (kBounded) {
        if ((i + 4 * kWidth) % kCheckFloats == 0) {
          const float partial = xsimd::hadd((acc0 + acc1) + (acc2 + acc3));
          if (partial > limit) return partial;
        }
      }
    }
    for (; i + kWidth <= n; i += kWidth) {
      Batch d = load(a + i) - load(b + i);
      acc0 = madd(d, d, acc0);
    }
    float sum = xsimd::hadd((acc0 + acc1) + (acc2 + acc3));
    for (; i < n; i++) {
      float d = a[i] - b[i];
      sum += d * d;
    }
    return sum;
  }

  static float l2_squared(const float* a, const float* b, std::size_t n) {
    return l2_squared_impl<false>(a, b, n, 0.0f);
  }

  static float l2_squared_until(const float* a, const float* b, std::size_t n, float limit) {
    return l2_squared_impl<true>(a, b, n, limit);
  }

  static float inner_product(const float* a, const float* b, std::size_t n) {
    Batch acc0(0.0f), acc1(0.0f), acc2(0.0f), acc3(0.0f);
    std::size_t i = 0;
    for (; i + 4 * kWidth <= n; i += 4 * kWidth) {
      acc0 = madd(load(a + i), load(b + i), acc0);
      acc1 = madd(load(a + i + kWidth), load(b + i + kWidth), acc1);
      acc2 = madd(load(a + i + 2 * kWidth), load(b + i + 2 * kWidth), acc2);
      acc3 = madd(load(a + i + 3 * kWidth), load(b + i + 3 * kWidth), acc3);
    }
    for (; i + kWidth <= n; i += kWidth) acc0 = madd(load(a + i), load(b + i), acc0);
    float sum = xsimd::hadd((acc0 + acc1) + (acc2 + acc3));
    for (; i < n; i++) sum += a[i] * b[i];
    return sum;
  }

  static float l1(const float* a, const float* b, std::size_t n) {
    Batch acc0(0.0f), acc1(0.0f), acc2(0.0f), acc3(0.0f);
    std::size_t i = 0;
    for (; i + 4 * kWidth <= n; i += 4 * kWidth) {
      acc0 += xsimd::abs(load(a + i) - load(b + i));
      acc1 += xsimd::abs(load(a + i + kWidth) - load(b + i + kWidth));
      acc2 += xsimd::abs(load(a + i + 2 * kWidth) - load(b + i + 2 * kWidth));
      acc3 += xsimd::abs(load(a + i + 3 * kWidth) - load(b + i + 3 * kWidth));
    }
    for (; i + kWidth <= n; i += kWidth) acc0 += xsimd::abs(load(a + i) - load(b + i));
    float sum = xsimd::hadd((acc0 + acc1) + (acc2 + acc3));
    for (; i < n; i++) sum += std::fabs(a[i] - b[i]);
    return sum;
  }

  static float norm_squared(const float* a, std::size_t n) { return inner_product(a, a, n); }

  // Four accumulators, one per centroid: the row is loaded once for four FMAs.
  static void inner_product_1x4(const float* a, const float* b, std::size_t stride, std::size_t n,
                                float* out) {
    const float* b0 = b;
    const float* b1 = b + stride;
    const float* b2 = b + 2 * stride;
    const float* b3 = b + 3 * stride;
    Batch acc0(0.0f), acc1(0.0f), acc2(0.0f), acc3(0.0f);
    std::size_t i = 0;
    for (; i + kWidth <= n; i += kWidth) {
      Batch x = load(a + i);
      acc0 = madd(x, load(b0 + i), acc0);
      acc1 = madd(x, load(b1 + i), acc1);
      acc2 = madd(x, load(b2 + i), acc2);
      acc3 = madd(x, load(b3 + i), acc3);
    }
    out[0] = xsimd::hadd(acc0);
    out[1] = xsimd::hadd(acc1);
    out[2] = xsimd::hadd(acc2);
    out[3] = xsimd::hadd(acc3);
    for (; i < n; i++) {
      out[0] += a[i] * b0[i];
      out[1] += a[i] * b1[i];
      out[2] += a[i] * b2[i];
      out[3] += a[i] * b3[i];
    }
  }

  // out[r * 4 + j] = <a + r * a_stride, b + j * b_stride> for r, j < 4: a block of four rows
  // against four centroids, each load shared by four FMAs (1x4 needs five loads per four
  // FMAs). Every sum is formed exactly as inner_product_1x4 forms it (one accumulator per
  // pair over the same lanes, the same horizontal add, the same scalar tail), so both give
  // the same bits and a build's k-means does not depend on which one ran.
  static void inner_product_4x4(const float* a, std::size_t a_stride, const float* b,
                                std::size_t b_stride, std::size_t n, float* out) {
    // 16 accumulators fit AVX-512's 32 registers; AVX2's 16 take two passes of two rows.
    constexpr std::size_t kRows = kWidth >= 16 ? 4 : 2;
    for (std::size_t r0 = 0; r0 < 4; r0 += kRows) {
      rows_by_four<kRows>(a + r0 * a_stride, a_stride, b, b_stride, n, out + r0 * 4);
    }
  }

  template <std::size_t R>
  static void rows_by_four(const float* a, std::size_t a_stride, const float* b,
                           std::size_t b_stride, std::size_t n, float* out) {
    Batch acc[R][4];
#pragma GCC unroll 4
    for (std::size_t r = 0; r < R; r++) {
#pragma GCC unroll 4
      for (std::size_t j = 0; j < 4; j++) acc[r][j] = Batch(0.0f);
    }
    std::size_t i = 0;
    for (; i + kWidth <= n; i += kWidth) {
      Batch y[4];
#pragma GCC unroll 4
      for (std::size_t j = 0; j < 4; j++) y[j] = load(b + j * b_stride + i);
#pragma GCC unroll 4
      for (std::size_t r = 0; r < R; r++) {
        Batch x = load(a + r * a_stride + i);
#pragma GCC unroll 4
        for (std::size_t j = 0; j < 4; j++) acc[r][j] = madd(x, y[j], acc[r][j]);
      }
    }
    for (std::size_t r = 0; r < R; r++) {
      for (std::size_t j = 0; j < 4; j++) out[r * 4 + j] = xsimd::hadd(acc[r][j]);
    }
    for (; i < n; i++) {
      for (std::size_t r = 0; r < R; r++) {
        for (std::size_t j = 0; j < 4; j++) {
          out[r * 4 + j] += a[r * a_stride + i] * b[j * b_stride + i];
        }
      }
    }
  }

  // Sixteen (AVX-512) or eight (AVX2) bytes widened to floats; two accumulators.
  static Batch load_i8(const std::int8_t* p) {
#ifdef __AVX512F__
    if constexpr (kWidth == 16) {
      // The masked forms: gcc 12's unmasked ones trip -Werror=uninitialized in its headers.
      __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      __m512i words = _mm512_maskz_cvtepi8_epi32(0xFFFF, bytes);
      return Batch(_mm512_maskz_cvtepi32_ps(0xFFFF, words));
    }
#endif
#ifdef __AVX2__
    if constexpr (kWidth == 8) {
      __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
      return Batch(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(bytes)));
    }
#endif
    alignas(64) float widened[kWidth];
    for (std::size_t j = 0; j < kWidth; j++) widened[j] = p[j];
    return Batch::load_aligned(widened);
  }

  // One pass over both vectors for the three sums cosine needs.
  static CosineParts cosine_parts(const float* a, const float* b, std::size_t n) {
    Batch dot0(0.0f), dot1(0.0f), na0(0.0f), na1(0.0f), nb0(0.0f), nb1(0.0f);
    std::size_t i = 0;
    for (; i + 2 * kWidth <= n; i += 2 * kWidth) {
      Batch a0 = load(a + i), a1 = load(a + i + kWidth);
      Batch b0 = load(b + i), b1 = load(b + i + kWidth);
      dot0 = madd(a0, b0, dot0);
      dot1 = madd(a1, b1, dot1);
      na0 = madd(a0, a0, na0);
      na1 = madd(a1, a1, na1);
      nb0 = madd(b0, b0, nb0);
      nb1 = madd(b1, b1, nb1);
    }
    for (; i + kWidth <= n; i += kWidth) {
      Batch a0 = load(a + i), b0 = load(b + i);
      dot0 = madd(a0, b0, dot0);
      na0 = madd(a0, a0, na0);
      nb0 = madd(b0, b0, nb0);
    }
    CosineParts parts{xsimd::hadd(dot0 + dot1), xsimd::hadd(na0 + na1), xsimd::hadd(nb0 + nb1)};
    for (; i < n; i++) {
      parts.dot += a[i] * b[i];
      parts.norm_a_sq += a[i] * a[i];
      parts.norm_b_sq += b[i] * b[i];
    }
    return parts;
  }

  static constexpr DistanceKernels table(const char* isa) {
    return DistanceKernels{isa,
                           &l2_squared,
                           &l2_squared_until,
                           &inner_product,
                           &l1,
                           &norm_squared,
                           &cosine_parts,
                           &bitplane_dot4,
                           &inner_product_1x4,
                           &inner_product_4x4,
                           &dot_u8i8,
                           &hadamard,
                           &flip_signs,
                           &scale,
                           &butterfly,
                           &subtract};
  }
};

}  // namespace ruvector::kernels::detail
