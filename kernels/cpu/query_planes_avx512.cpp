// query_planes.h for AVX-512: sixteen coordinates a step; a plane's 16 bits come straight
// from a test-into-mask. Built without FMA contraction (see the Makefile), so the rounding
// of (v - low) * inv + u is the scalar version's. The masked forms of min, max and the
// conversions (all lanes on) because gcc 12's unmasked ones trip -Werror=uninitialized in
// its own headers.
#include <immintrin.h>

#include "kernels/cpu/query_planes.h"

namespace ruvector::kernels::detail {

namespace {

constexpr __mmask16 kAll16 = 0xFFFF;
constexpr __mmask8 kAll8 = 0xFF;

QueryRange range(const float* v, std::uint32_t n) {
  __m512 low = _mm512_set1_ps(v[0]), high = low;
  __m512d norm0 = _mm512_setzero_pd(), norm1 = _mm512_setzero_pd();
  std::uint32_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 x = _mm512_loadu_ps(v + i);
    low = _mm512_mask_min_ps(low, kAll16, low, x);
    high = _mm512_mask_max_ps(high, kAll16, high, x);
    __m512d lo = _mm512_mask_cvtps_pd(norm0, kAll8, _mm256_loadu_ps(v + i));
    __m512d hi = _mm512_mask_cvtps_pd(norm1, kAll8, _mm256_loadu_ps(v + i + 8));
    norm0 = _mm512_fmadd_pd(lo, lo, norm0);
    norm1 = _mm512_fmadd_pd(hi, hi, norm1);
  }
  // Through memory: gcc 12's reduce intrinsics trip -Werror=uninitialized in its headers.
  alignas(64) float l[16], h[16];
  alignas(64) double s[8];
  _mm512_store_ps(l, low);
  _mm512_store_ps(h, high);
  _mm512_store_pd(s, _mm512_add_pd(norm0, norm1));
  return finish_range(l, h, 16, s, 8, v + i, n - i);
}

std::uint32_t quantize(const float* v, std::uint32_t words, float low, float inv,
                       const float* dither, std::uint32_t dither_period, std::uint64_t* planes) {
  const __m512 lowv = _mm512_set1_ps(low), invv = _mm512_set1_ps(inv);
  const __m512i fifteen = _mm512_set1_epi32(15);
  __m512i sum = _mm512_setzero_si512();
  for (std::uint32_t w = 0; w < words; w++) {
    const float* x = v + static_cast<std::size_t>(w) * 64;
    const float* u = dither + (static_cast<std::uint64_t>(w) * 64) % dither_period;
    std::uint64_t p[4] = {0, 0, 0, 0};
    for (int k = 0; k < 4; k++) {
      __m512 scaled = _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(x + 16 * k), lowv), invv);
      __m512i level = _mm512_mask_cvttps_epi32(fifteen, kAll16,
                                               _mm512_add_ps(scaled, _mm512_loadu_ps(u + 16 * k)));
      __m512i q = _mm512_mask_min_epi32(level, kAll16, level, fifteen);
      sum = _mm512_add_epi32(sum, q);
      for (int b = 0; b < 4; b++) {
        __mmask16 bits = _mm512_test_epi32_mask(q, _mm512_set1_epi32(1 << b));
        p[b] |= static_cast<std::uint64_t>(bits) << (16 * k);
      }
    }
    for (int b = 0; b < 4; b++) planes[static_cast<std::size_t>(b) * words + w] = p[b];
  }
  alignas(64) std::uint32_t lanes[16];
  _mm512_store_si512(lanes, sum);
  std::uint32_t total = 0;
  for (std::uint32_t lane : lanes) total += lane;
  return total;
}

}  // namespace

const QueryPlaneKernels kQueryPlanesAvx512{&range, &quantize};

}  // namespace ruvector::kernels::detail
