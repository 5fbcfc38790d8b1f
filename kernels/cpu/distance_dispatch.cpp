// The distance kernel tables by ISA (isa.h decides which one a process uses). The AVX-512
// table comes in variants for the extensions the CPU has.
#include <vector>

#include "kernels/cpu/distance_isa.h"
#include "kernels/cpu/isa.h"

namespace ruvector::kernels {
namespace {

// Only for an ISA the CPU supports.
const DistanceKernels& table(Isa isa) {
  switch (isa) {
    case Isa::kAvx512:
      return detail::avx512_distance_kernels(cpu_has_avx512_vpopcntdq(), cpu_has_avx512_vnni());
    case Isa::kAvx2:
      return detail::avx2_distance_kernels();
    case Isa::kScalar:
      break;
  }
  return detail::scalar_distance_kernels();
}

}  // namespace

const DistanceKernels& distance_kernels() {
  // Holds only a pointer, so there is nothing to destroy at exit inside Postgres.
  static const DistanceKernels* const kChosen = &table(isa());
  return *kChosen;
}

const DistanceKernels* distance_kernels_for(const char* isa) {
  const std::optional<Isa> usable = usable_isa(isa);
  return usable ? &table(*usable) : nullptr;
}

std::vector<const DistanceKernels*> usable_distance_kernels() {
  std::vector<const DistanceKernels*> out{&detail::scalar_distance_kernels()};
  if (cpu_supports(Isa::kAvx2)) out.push_back(&detail::avx2_distance_kernels());
  if (cpu_supports(Isa::kAvx512)) {
    const bool vpopcnt = cpu_has_avx512_vpopcntdq();
    const bool vnni = cpu_has_avx512_vnni();
    for (int v = 0; v < 4; v++) {
      if ((v & 2 && !vpopcnt) || (v & 1 && !vnni)) continue;
      out.push_back(&detail::avx512_distance_kernels(v & 2, v & 1));
    }
  }
  return out;
}

}  // namespace ruvector::kernels
