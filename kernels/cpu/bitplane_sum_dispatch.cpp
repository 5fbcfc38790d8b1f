// Chooses bitplane_sum's ISA by asking the distance dispatcher which ISAs this CPU has and
// which one it picked (after RUVECTOR_ISA), so both tables always agree on the ISA.
#include <cstring>

#include "kernels/cpu/bitplane_sum.h"
#include "kernels/cpu/distance.h"

namespace ruvector::kernels {

namespace {

BitplaneSumFn choose() {
  const DistanceKernels* chosen = &distance_kernels();
  if (chosen == distance_kernels_for("avx512")) return detail::bitplane_sum_avx512;
  if (chosen == distance_kernels_for("avx2")) return detail::bitplane_sum_avx2;
  return detail::bitplane_sum_scalar;
}

}  // namespace

BitplaneSumFn bitplane_sum() {
  static const BitplaneSumFn kChosen = choose();
  return kChosen;
}

BitplaneSumFn bitplane_sum_for(const char* isa) {
  if (isa == nullptr) return nullptr;
  if (std::strcmp(isa, "scalar") == 0) return detail::bitplane_sum_scalar;
  if (distance_kernels_for(isa) == nullptr) return nullptr;
  if (std::strcmp(isa, "avx512") == 0) return detail::bitplane_sum_avx512;
  if (std::strcmp(isa, "avx2") == 0) return detail::bitplane_sum_avx2;
  return nullptr;
}

}  // namespace ruvector::kernels
