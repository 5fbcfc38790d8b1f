// AVX2 + FMA instantiation of the distance kernels (built with -mavx2 -mfma).
#include "kernels/cpu/distance_impl.h"
#include "kernels/cpu/distance_isa.h"

namespace ruvector::kernels::detail {

const DistanceKernels& avx2_distance_kernels() {
  static constexpr DistanceKernels kTable = SimdDistance<xsimd::fma3<xsimd::avx2>>::table("avx2");
  return kTable;
}

}  // namespace ruvector::kernels::detail
