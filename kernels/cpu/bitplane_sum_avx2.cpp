// bitplane_sum for AVX2 (see bitplane_sum.h): each byte of a plane becomes an 8-lane mask
// (broadcast, AND with the lane's bit, compare) that selects query floats into the sum.
#include <immintrin.h>

#include "kernels/cpu/bitplane_sum.h"

namespace ruvector::kernels::detail {

namespace {

float hsum(__m256 x) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

}  // namespace

float bitplane_sum_avx2(const std::uint64_t* planes, int nplanes, const float* v,
                        std::uint32_t words) {
  const __m256i lane_bits = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
  __m256 total = _mm256_setzero_ps();
  for (int k = 0; k < nplanes; k++) {
    const std::uint64_t* plane = planes + static_cast<std::size_t>(k) * words;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    for (std::uint32_t w = 0; w < words; w++) {
      const float* x = v + static_cast<std::size_t>(w) * 64;
      std::uint64_t m = plane[w];
      for (int b = 0; b < 8; b += 2) {
        __m256i m0 = _mm256_set1_epi32(static_cast<int>((m >> (8 * b)) & 0xff));
        __m256i m1 = _mm256_set1_epi32(static_cast<int>((m >> (8 * b + 8)) & 0xff));
        m0 = _mm256_cmpeq_epi32(_mm256_and_si256(m0, lane_bits), lane_bits);
        m1 = _mm256_cmpeq_epi32(_mm256_and_si256(m1, lane_bits), lane_bits);
        acc0 =
            _mm256_add_ps(acc0, _mm256_and_ps(_mm256_castsi256_ps(m0), _mm256_loadu_ps(x + 8 * b)));
        acc1 = _mm256_add_ps(
            acc1, _mm256_and_ps(_mm256_castsi256_ps(m1), _mm256_loadu_ps(x + 8 * b + 8)));
      }
    }
    __m256 weight = _mm256_set1_ps(static_cast<float>(1u << (nplanes - 1 - k)));
    total = _mm256_fmadd_ps(weight, _mm256_add_ps(acc0, acc1), total);
  }
  return hsum(total);
}

}  // namespace ruvector::kernels::detail
