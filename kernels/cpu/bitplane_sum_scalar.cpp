// Portable bitplane_sum (see bitplane_sum.h): visits only the set bits of each plane, so
// its cost follows the code's ones, about half of the bits.
#include "kernels/cpu/bitplane_sum.h"

namespace ruvector::kernels::detail {

float bitplane_sum_scalar(const std::uint64_t* planes, int nplanes, const float* v,
                          std::uint32_t words) {
  float total = 0;
  for (int k = 0; k < nplanes; k++) {
    const std::uint64_t* plane = planes + static_cast<std::size_t>(k) * words;
    float sum = 0;
    for (std::uint32_t w = 0; w < words; w++) {
      const float* x = v + static_cast<std::size_t>(w) * 64;
      for (std::uint64_t m = plane[w]; m != 0; m &= m - 1) sum += x[__builtin_ctzll(m)];
    }
    total += static_cast<float>(1u << (nplanes - 1 - k)) * sum;
  }
  return total;
}

}  // namespace ruvector::kernels::detail
