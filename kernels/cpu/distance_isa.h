// Per-ISA kernel tables, each defined in its own translation unit compiled for that ISA.
// Only the dispatcher calls these, after checking that the CPU supports the ISA.
#pragma once

#include "kernels/cpu/distance.h"

namespace ruvector::kernels::detail {

const DistanceKernels& scalar_distance_kernels();
const DistanceKernels& avx2_distance_kernels();
const DistanceKernels& avx512_distance_kernels();
// The same, with the RaBitQ bit-plane kernel on AVX-512 VPOPCNTDQ.
const DistanceKernels& avx512_vpopcnt_distance_kernels();

}  // namespace ruvector::kernels::detail
