// Per-ISA kernel tables, each defined in its own translation unit compiled for that ISA.
// Only distance_dispatch.cpp calls these, for an ISA the CPU supports (isa.h).
#pragma once

#include "kernels/cpu/distance.h"

namespace ruvector::kernels::detail {

const DistanceKernels& scalar_distance_kernels();
const DistanceKernels& avx2_distance_kernels();
// With the RaBitQ bit-plane kernel on AVX-512 VPOPCNTDQ, and the int8 dot on AVX-512
// VNNI, when asked (the caller checks that the CPU has them).
const DistanceKernels& avx512_distance_kernels(bool vpopcnt, bool vnni);

}  // namespace ruvector::kernels::detail
