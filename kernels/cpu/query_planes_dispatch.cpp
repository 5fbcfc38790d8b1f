// The query-plane kernels by ISA; isa.h decides which one a process uses.
#include "kernels/cpu/isa.h"
#include "kernels/cpu/query_planes.h"

namespace ruvector::kernels {

namespace {

const QueryPlaneKernels& for_isa(Isa isa) {
  static const QueryPlaneKernels* const kByIsa[kIsaCount] = {
      &detail::kQueryPlanesScalar, &detail::kQueryPlanesAvx2, &detail::kQueryPlanesAvx512};
  return *kByIsa[static_cast<int>(isa)];
}

}  // namespace

const QueryPlaneKernels& query_plane_kernels() {
  static const QueryPlaneKernels& kChosen = for_isa(isa());
  return kChosen;
}

const QueryPlaneKernels* query_plane_kernels_for(const char* isa) {
  const std::optional<Isa> usable = usable_isa(isa);
  return usable ? &for_isa(*usable) : nullptr;
}

}  // namespace ruvector::kernels
