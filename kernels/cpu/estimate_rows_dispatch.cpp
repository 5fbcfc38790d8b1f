// The estimate kernels by ISA; isa.h decides which one a process uses.
#include "kernels/cpu/estimate_rows.h"
#include "kernels/cpu/isa.h"

namespace ruvector::kernels {

namespace {

const EstimateKernels& for_isa(Isa isa) {
  static const EstimateKernels* const kByIsa[kIsaCount] = {
      &detail::kEstimatesScalar, &detail::kEstimatesAvx2, &detail::kEstimatesAvx512};
  return *kByIsa[static_cast<int>(isa)];
}

}  // namespace

const EstimateKernels& estimate_kernels() {
  static const EstimateKernels& kChosen = for_isa(isa());
  return kChosen;
}

const EstimateKernels* estimate_kernels_for(const char* isa) {
  const std::optional<Isa> usable = usable_isa(isa);
  return usable ? &for_isa(*usable) : nullptr;
}

}  // namespace ruvector::kernels
