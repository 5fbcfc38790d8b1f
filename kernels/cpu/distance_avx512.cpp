// AVX-512 instantiation of the distance kernels (built with -mavx512f and friends).
#include "kernels/cpu/distance_impl.h"
#include "kernels/cpu/distance_isa.h"

namespace ruvector::kernels::detail {
namespace {

constexpr DistanceKernels avx512_table(bool vpopcnt, bool vnni) {
  DistanceKernels t = SimdDistance<xsimd::avx512bw>::table("avx512");
  if (vpopcnt) t.bitplane_dot4 = &bitplane_dot4_vpopcnt;
  if (vnni) t.dot_u8i8 = &dot_u8i8_vnni;
  return t;
}

}  // namespace

const DistanceKernels& avx512_distance_kernels(bool vpopcnt, bool vnni) {
  static constexpr DistanceKernels kTables[4] = {
      avx512_table(false, false), avx512_table(false, true), avx512_table(true, false),
      avx512_table(true, true)};
  return kTables[(vpopcnt ? 2 : 0) + (vnni ? 1 : 0)];
}

}  // namespace ruvector::kernels::detail
