// Chooses the distance kernels once per process: AVX-512 when the CPU and the OS support
// it, else AVX2 + FMA, else scalar. Each ISA file is built with several -m flags (see
// cmake/isa_flags.cmake), so the compiler may use any of them there: we require them all.
//
// RUVECTOR_ISA=avx512|avx2|scalar in the environment forces that ISA, for tests and
// benchmarks. It can only lower the choice: an ISA this CPU lacks (or an unknown name) is
// ignored and the best one is used. It is read once, on the first distance_kernels() call.
#include <cpuid.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "kernels/cpu/distance_isa.h"

namespace ruvector::kernels {
namespace {

// XCR0 bits the OS sets when it saves that register state on a context switch: SSE (1),
// AVX upper halves (2), and for AVX-512 the opmask (5), upper ZMM0-15 (6) and ZMM16-31 (7).
constexpr std::uint64_t kXcr0Avx = 0x06;
constexpr std::uint64_t kXcr0Avx512 = 0xe6;

// A CPU can report AVX-512 while the OS (or a hypervisor) leaves ZMM state unsaved; the
// instructions then fault. __builtin_cpu_supports checks this too in current libgcc, but we
// do not depend on which runtime library answers.
bool os_saves(std::uint64_t mask) {
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & bit_OSXSAVE)) return false;
  std::uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));  // _xgetbv would need -mxsave
  std::uint64_t xcr0 = (static_cast<std::uint64_t>(hi) << 32) | lo;
  return (xcr0 & mask) == mask;
}

bool cpu_has_avx2() {
  __builtin_cpu_init();  // idempotent; needed if we run before libgcc's own constructor
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
         __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("popcnt") && os_saves(kXcr0Avx);
}

bool cpu_has_avx512() {
  return cpu_has_avx2() && __builtin_cpu_supports("avx512f") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512vl") &&
         os_saves(kXcr0Avx512);
}

const DistanceKernels& best_avx512() {
  return detail::avx512_distance_kernels(__builtin_cpu_supports("avx512vpopcntdq"),
                                         __builtin_cpu_supports("avx512vnni"));
}

const DistanceKernels* choose() {
  const char* forced = std::getenv("RUVECTOR_ISA");
  if (forced != nullptr && *forced != '\0') {
    if (const DistanceKernels* k = distance_kernels_for(forced)) return k;
  }
  if (cpu_has_avx512()) return &best_avx512();
  if (cpu_has_avx2()) return &detail::avx2_distance_kernels();
  return &detail::scalar_distance_kernels();
}

}  // namespace

const DistanceKernels& distance_kernels() {
  // Initialized once under the C++11 static-init guard, so concurrent first calls are safe;
  // it holds only a pointer, so there is nothing to destroy at exit inside Postgres.
  static const DistanceKernels* const kChosen = choose();
  return *kChosen;
}

const DistanceKernels* distance_kernels_for(const char* isa) {
  if (isa == nullptr) return nullptr;
  if (std::strcmp(isa, "avx512") == 0) {
    return cpu_has_avx512() ? &best_avx512() : nullptr;
  }
  if (std::strcmp(isa, "avx2") == 0) {
    return cpu_has_avx2() ? &detail::avx2_distance_kernels() : nullptr;
  }
  if (std::strcmp(isa, "scalar") == 0) return &detail::scalar_distance_kernels();
  return nullptr;
}

std::vector<const DistanceKernels*> usable_distance_kernels() {
  std::vector<const DistanceKernels*> out{&detail::scalar_distance_kernels()};
  if (cpu_has_avx2()) out.push_back(&detail::avx2_distance_kernels());
  if (cpu_has_avx512()) {
    const bool vpopcnt = __builtin_cpu_supports("avx512vpopcntdq");
    const bool vnni = __builtin_cpu_supports("avx512vnni");
    for (int v = 0; v < 4; v++) {
      if ((v & 2 && !vpopcnt) || (v & 1 && !vnni)) continue;
      out.push_back(&detail::avx512_distance_kernels(v & 2, v & 1));
    }
  }
  return out;
}

}  // namespace ruvector::kernels
