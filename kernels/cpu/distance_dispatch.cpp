// Chooses the distance kernels once per process: AVX-512 when the CPU and the OS support
// it, else AVX2 + FMA, else scalar. __builtin_cpu_supports also checks that the OS saves
// the wide registers (XCR0), which a bare CPUID test would miss.
//
// RUVECTOR_ISA=avx2|scalar in the environment forces a lower ISA (for tests and
// benchmarks); asking for an ISA the CPU lacks falls back to the best one it has.
#include <cstdlib>
#include <cstring>

#include "kernels/cpu/distance_isa.h"

namespace ruvector::kernels {
namespace {

bool cpu_has_avx512() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
}

bool cpu_has_avx2() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }

const DistanceKernels* choose() {
  const char* forced = std::getenv("RUVECTOR_ISA");
  if (forced != nullptr && *forced != '\0') {
    if (const DistanceKernels* k = distance_kernels_for(forced)) return k;
  }
  if (cpu_has_avx512()) return &detail::avx512_distance_kernels();
  if (cpu_has_avx2()) return &detail::avx2_distance_kernels();
  return &detail::scalar_distance_kernels();
}

}  // namespace

const DistanceKernels& distance_kernels() {
  // A function-local static: initialized once, thread-safe, and only a pointer.
  static const DistanceKernels* const kChosen = choose();
  return *kChosen;
}

const DistanceKernels* distance_kernels_for(const char* isa) {
  if (std::strcmp(isa, "avx512") == 0) {
    return cpu_has_avx512() ? &detail::avx512_distance_kernels() : nullptr;
  }
  if (std::strcmp(isa, "avx2") == 0) {
    return cpu_has_avx2() ? &detail::avx2_distance_kernels() : nullptr;
  }
  if (std::strcmp(isa, "scalar") == 0) return &detail::scalar_distance_kernels();
  return nullptr;
}

}  // namespace ruvector::kernels
