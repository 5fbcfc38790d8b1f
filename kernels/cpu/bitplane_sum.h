// The kernel of the extended RaBitQ estimate: a weighted sum of float query coordinates
// selected by the bit planes of a multi-bit code. Kept apart from distance.h (its own
// small table by ISA) so that the ex-code path can evolve on its own.
#pragma once

#include <cstdint>

namespace ruvector::kernels {

// planes: nplanes consecutive bit planes of `words` words each, most significant first:
// plane k holds bit (nplanes - 1 - k) of each coordinate's unsigned code u[i] (bit i of a
// plane is word i / 64, bit i % 64). v: 64 · words floats. Returns Σ_i u[i] · v[i], in
// float; the summation order (and so the rounding) depends on the ISA.
using BitplaneSumFn = float (*)(const std::uint64_t* planes, int nplanes, const float* v,
                                std::uint32_t words);

// The kernel of the process's ISA (isa.h).
BitplaneSumFn bitplane_sum();
// The kernel of one ISA ("avx512", "avx2", "scalar"), or nullptr where this CPU lacks it.
BitplaneSumFn bitplane_sum_for(const char* isa);

namespace detail {
float bitplane_sum_scalar(const std::uint64_t* planes, int nplanes, const float* v,
                          std::uint32_t words);
float bitplane_sum_avx2(const std::uint64_t* planes, int nplanes, const float* v,
                        std::uint32_t words);
float bitplane_sum_avx512(const std::uint64_t* planes, int nplanes, const float* v,
                          std::uint32_t words);
}  // namespace detail

}  // namespace ruvector::kernels
