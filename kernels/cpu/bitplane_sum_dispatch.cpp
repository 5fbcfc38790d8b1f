// bitplane_sum's kernels by ISA; isa.h decides which one a process uses.
#include "kernels/cpu/bitplane_sum.h"
#include "kernels/cpu/isa.h"

namespace ruvector::kernels {

namespace {

constexpr BitplaneSumFn kByIsa[kIsaCount] = {detail::bitplane_sum_scalar, detail::bitplane_sum_avx2,
                                             detail::bitplane_sum_avx512};

BitplaneSumFn for_isa(Isa isa) { return kByIsa[static_cast<int>(isa)]; }

}  // namespace

BitplaneSumFn bitplane_sum() {
  static const BitplaneSumFn kChosen = for_isa(isa());
  return kChosen;
}

BitplaneSumFn bitplane_sum_for(const char* isa) {
  const std::optional<Isa> usable = usable_isa(isa);
  return usable ? for_isa(*usable) : nullptr;
}

}  // namespace ruvector::kernels
