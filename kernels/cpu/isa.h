// The instruction set the CPU kernels run with, decided once per process. Every kernel
// family (distance.h, bitplane_sum.h, query_planes.h) keeps one implementation per ISA,
// indexed by Isa, and uses the one isa() returns, so that they always agree.
#pragma once

#include <optional>

namespace ruvector::kernels {

// Each ISA file is built with several -m flags (isa_flags.mk), so the compiler may use any
// of them there: an ISA counts as supported only when the CPU has them all.
enum class Isa { kScalar, kAvx2, kAvx512 };
constexpr int kIsaCount = 3;

// The best ISA this CPU and its OS support, or a lower one that RUVECTOR_ISA names
// (avx512, avx2 or scalar; for tests and benchmarks). A name this CPU cannot run, or an
// unknown one, is ignored. Read on the first call, then fixed.
Isa isa();

bool cpu_supports(Isa isa);
// The ISA called `name` ("avx512", "avx2", "scalar") when this CPU supports it.
std::optional<Isa> usable_isa(const char* name);
const char* isa_name(Isa isa);

// AVX-512 extensions that some AVX-512 kernels use where the CPU has them.
bool cpu_has_avx512_vpopcntdq();
bool cpu_has_avx512_vnni();

}  // namespace ruvector::kernels
