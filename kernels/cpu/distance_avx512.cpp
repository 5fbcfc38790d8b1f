// AVX-512 instantiation of the distance kernels (built with -mavx512f and friends).
#include "kernels/cpu/distance_impl.h"
#include "kernels/cpu/distance_isa.h"

namespace ruvector::kernels::detail {

const DistanceKernels& avx512_distance_kernels() {
  static constexpr DistanceKernels kTable = SimdDistance<xsimd::avx512bw>::table("avx512");
  return kTable;
}

const DistanceKernels& avx512_vpopcnt_distance_kernels() {
  static constexpr DistanceKernels kTable = [] {
    DistanceKernels t = SimdDistance<xsimd::avx512bw>::table("avx512");
    t.bitplane_dot4 = &bitplane_dot4_vpopcnt;
    return t;
  }();
  return kTable;
}

}  // namespace ruvector::kernels::detail
