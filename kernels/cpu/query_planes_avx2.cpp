// query_planes.h for AVX2: eight coordinates a step; a plane's 8 bits come from a shift of
// the bit into the sign and movemask. Built without FMA contraction (see the Makefile), so
// the rounding of (v - low) * inv + u is the scalar version's.
#include <immintrin.h>

#include "kernels/cpu/query_planes.h"

namespace ruvector::kernels::detail {

namespace {

QueryRange range(const float* v, std::uint32_t n) {
  __m256 low = _mm256_set1_ps(v[0]), high = low;
  __m256d norm0 = _mm256_setzero_pd(), norm1 = _mm256_setzero_pd();
  std::uint32_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 x = _mm256_loadu_ps(v + i);
    low = _mm256_min_ps(low, x);
    high = _mm256_max_ps(high, x);
    __m256d lo = _mm256_cvtps_pd(_mm_loadu_ps(v + i));
    __m256d hi = _mm256_cvtps_pd(_mm_loadu_ps(v + i + 4));
    norm0 = _mm256_fmadd_pd(lo, lo, norm0);
    norm1 = _mm256_fmadd_pd(hi, hi, norm1);
  }
  alignas(32) float l[8], h[8];
  alignas(32) double s[4];
  _mm256_store_ps(l, low);
  _mm256_store_ps(h, high);
  _mm256_store_pd(s, _mm256_add_pd(norm0, norm1));
  return finish_range(l, h, 8, s, 4, v + i, n - i);
}

std::uint32_t quantize(const float* v, std::uint32_t words, float low, float inv,
                       const float* dither, std::uint32_t dither_period, std::uint64_t* planes) {
  const __m256 lowv = _mm256_set1_ps(low), invv = _mm256_set1_ps(inv);
  const __m256i fifteen = _mm256_set1_epi32(15);
  __m256i sum = _mm256_setzero_si256();
  for (std::uint32_t w = 0; w < words; w++) {
    const float* x = v + static_cast<std::size_t>(w) * 64;
    const float* u = dither + (static_cast<std::uint64_t>(w) * 64) % dither_period;
    std::uint64_t p[4] = {0, 0, 0, 0};
    for (int k = 0; k < 8; k++) {
      __m256 scaled = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + 8 * k), lowv), invv);
      __m256i q = _mm256_min_epi32(
          _mm256_cvttps_epi32(_mm256_add_ps(scaled, _mm256_loadu_ps(u + 8 * k))), fifteen);
      sum = _mm256_add_epi32(sum, q);
      for (int b = 0; b < 4; b++) {
        // Bit b moved into each lane's sign bit.
        __m256i top = _mm256_slli_epi32(q, 31 - b);
        auto bits = static_cast<std::uint32_t>(_mm256_movemask_ps(_mm256_castsi256_ps(top)));
        p[b] |= static_cast<std::uint64_t>(bits) << (8 * k);
      }
    }
    for (int b = 0; b < 4; b++) planes[static_cast<std::size_t>(b) * words + w] = p[b];
  }
  alignas(32) std::uint32_t lanes[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), sum);
  std::uint32_t total = 0;
  for (std::uint32_t lane : lanes) total += lane;
  return total;
}

}  // namespace

const QueryPlaneKernels kQueryPlanesAvx2{&range, &quantize};

}  // namespace ruvector::kernels::detail
