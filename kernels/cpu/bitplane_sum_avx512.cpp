// bitplane_sum for AVX-512 (see bitplane_sum.h): 16 bits of a plane are directly the
// write mask of a masked add, so a plane costs words × 4 masked adds.
#include <immintrin.h>

#include "kernels/cpu/bitplane_sum.h"

namespace ruvector::kernels::detail {

float bitplane_sum_avx512(const std::uint64_t* planes, int nplanes, const float* v,
                          std::uint32_t words) {
  __m512 total = _mm512_setzero_ps();
  for (int k = 0; k < nplanes; k++) {
    const std::uint64_t* plane = planes + static_cast<std::size_t>(k) * words;
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    for (std::uint32_t w = 0; w < words; w++) {
      const float* x = v + static_cast<std::size_t>(w) * 64;
      std::uint64_t m = plane[w];
      acc0 = _mm512_mask_add_ps(acc0, static_cast<__mmask16>(m), acc0, _mm512_loadu_ps(x));
      acc1 =
          _mm512_mask_add_ps(acc1, static_cast<__mmask16>(m >> 16), acc1, _mm512_loadu_ps(x + 16));
      acc0 =
          _mm512_mask_add_ps(acc0, static_cast<__mmask16>(m >> 32), acc0, _mm512_loadu_ps(x + 32));
      acc1 =
          _mm512_mask_add_ps(acc1, static_cast<__mmask16>(m >> 48), acc1, _mm512_loadu_ps(x + 48));
    }
    __m512 weight = _mm512_set1_ps(static_cast<float>(1u << (nplanes - 1 - k)));
    total = _mm512_fmadd_ps(weight, _mm512_add_ps(acc0, acc1), total);
  }
  // Through memory: gcc 12's extract and reduce intrinsics trip -Werror=uninitialized in
  // its own headers, and this runs once per call.
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, total);
  float sum = 0;
  for (float x : lanes) sum += x;
  return sum;
}

}  // namespace ruvector::kernels::detail
