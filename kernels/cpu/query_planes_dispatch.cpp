// Chooses the query-plane kernels' ISA by asking the distance dispatcher which ISAs this
// CPU has and which one it picked (after RUVECTOR_ISA), so all tables agree on the ISA.
#include <cstring>

#include "kernels/cpu/distance.h"
#include "kernels/cpu/query_planes.h"

namespace ruvector::kernels {

namespace {

const QueryPlaneKernels& choose() {
  const DistanceKernels* chosen = &distance_kernels();
  if (chosen == distance_kernels_for("avx512")) return detail::kQueryPlanesAvx512;
  if (chosen == distance_kernels_for("avx2")) return detail::kQueryPlanesAvx2;
  return detail::kQueryPlanesScalar;
}

}  // namespace

const QueryPlaneKernels& query_plane_kernels() {
  static const QueryPlaneKernels& kChosen = choose();
  return kChosen;
}

const QueryPlaneKernels* query_plane_kernels_for(const char* isa) {
  if (isa == nullptr) return nullptr;
  if (std::strcmp(isa, "scalar") == 0) return &detail::kQueryPlanesScalar;
  if (distance_kernels_for(isa) == nullptr) return nullptr;
  if (std::strcmp(isa, "avx512") == 0) return &detail::kQueryPlanesAvx512;
  if (std::strcmp(isa, "avx2") == 0) return &detail::kQueryPlanesAvx2;
  return nullptr;
}

}  // namespace ruvector::kernels
