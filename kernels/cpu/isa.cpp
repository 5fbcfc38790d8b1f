// See isa.h: CPU and OS feature detection, and RUVECTOR_ISA.
#include "kernels/cpu/isa.h"

#include <cpuid.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace ruvector::kernels {
namespace {

// XCR0 bits the OS sets when it saves that register state on a context switch: SSE (1),
// AVX upper halves (2), and for AVX-512 the opmask (5), upper ZMM0-15 (6) and ZMM16-31 (7).
constexpr std::uint64_t kXcr0Avx = 0x06;
constexpr std::uint64_t kXcr0Avx512 = 0xe6;

constexpr const char* kNames[kIsaCount] = {"scalar", "avx2", "avx512"};

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

Isa choose() {
  const char* forced = std::getenv("RUVECTOR_ISA");
  if (forced != nullptr) {
    if (std::optional<Isa> chosen = usable_isa(forced)) return *chosen;
  }
  if (cpu_has_avx512()) return Isa::kAvx512;
  if (cpu_has_avx2()) return Isa::kAvx2;
  return Isa::kScalar;
}

}  // namespace

Isa isa() {
  // Initialized once under the C++11 static-init guard, so concurrent first calls are safe.
  static const Isa kChosen = choose();
  return kChosen;
}

bool cpu_supports(Isa isa) {
  switch (isa) {
    case Isa::kAvx512:
      return cpu_has_avx512();
    case Isa::kAvx2:
      return cpu_has_avx2();
    case Isa::kScalar:
      return true;
  }
  return false;
}

std::optional<Isa> usable_isa(const char* name) {
  if (name == nullptr) return std::nullopt;
  for (int i = 0; i < kIsaCount; i++) {
    const auto candidate = static_cast<Isa>(i);
    if (std::strcmp(name, kNames[i]) == 0 && cpu_supports(candidate)) return candidate;
  }
  return std::nullopt;
}

const char* isa_name(Isa isa) { return kNames[static_cast<int>(isa)]; }

bool cpu_has_avx512_vpopcntdq() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512vpopcntdq");
}

bool cpu_has_avx512_vnni() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512vnni");
}

}  // namespace ruvector::kernels
