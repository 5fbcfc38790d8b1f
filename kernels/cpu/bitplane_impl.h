// The RaBitQ inner product between a 1-bit code and a 4-bit query stored as bit planes:
// <code, q> = sum_j 2^j popcount(code AND plane_j). Written once and compiled in each ISA
// file, so the files built with -mpopcnt get the hardware instruction.
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace ruvector::kernels::detail {
// Internal linkage: each ISA file must keep its own copy (an inline function with external
// linkage would be merged by the linker into one, compiled for whichever ISA came first).
namespace {

// planes: 4 planes of `words` words each, plane j at planes + j * words.
inline std::uint32_t bitplane_dot4(const std::uint64_t* code, const std::uint64_t* planes,
                                   std::size_t words) {
  std::uint32_t p0 = 0, p1 = 0, p2 = 0, p3 = 0;
  const std::uint64_t* q1 = planes + words;
  const std::uint64_t* q2 = planes + 2 * words;
  const std::uint64_t* q3 = planes + 3 * words;
  for (std::size_t i = 0; i < words; i++) {
    std::uint64_t c = code[i];
    p0 += static_cast<std::uint32_t>(__builtin_popcountll(c & planes[i]));
    p1 += static_cast<std::uint32_t>(__builtin_popcountll(c & q1[i]));
    p2 += static_cast<std::uint32_t>(__builtin_popcountll(c & q2[i]));
    p3 += static_cast<std::uint32_t>(__builtin_popcountll(c & q3[i]));
  }
  return p0 + 2 * p1 + 4 * p2 + 8 * p3;
}

#if defined(__AVX512F__)
// With AVX-512 VPOPCNTDQ: eight words of each plane per step. Compiled only in the
// AVX-512 file; the dispatcher uses it when the CPU has VPOPCNTDQ.
__attribute__((target("avx512f,avx512vpopcntdq"))) inline std::uint32_t bitplane_dot4_vpopcnt(
    const std::uint64_t* code, const std::uint64_t* planes, std::size_t words) {
  __m512i acc0 = _mm512_setzero_si512(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
  std::size_t i = 0;
  for (; i < words; i += 8) {
    __mmask8 m = words - i >= 8 ? 0xff : static_cast<__mmask8>((1u << (words - i)) - 1);
    __m512i c = _mm512_maskz_loadu_epi64(m, code + i);
    acc0 = _mm512_add_epi64(
        acc0, _mm512_popcnt_epi64(_mm512_and_si512(c, _mm512_maskz_loadu_epi64(m, planes + i))));
    acc1 = _mm512_add_epi64(acc1, _mm512_popcnt_epi64(_mm512_and_si512(
                                      c, _mm512_maskz_loadu_epi64(m, planes + words + i))));
    acc2 = _mm512_add_epi64(acc2, _mm512_popcnt_epi64(_mm512_and_si512(
                                      c, _mm512_maskz_loadu_epi64(m, planes + 2 * words + i))));
    acc3 = _mm512_add_epi64(acc3, _mm512_popcnt_epi64(_mm512_and_si512(
                                      c, _mm512_maskz_loadu_epi64(m, planes + 3 * words + i))));
  }
  // Horner on the planes' weights, then a scalar sum of the lanes (GCC 12 flags false
  // "uninitialized" warnings in the shift and reduce intrinsics).
  __m512i t = _mm512_add_epi64(acc3, acc3);
  t = _mm512_add_epi64(t, acc2);
  t = _mm512_add_epi64(t, t);
  t = _mm512_add_epi64(t, acc1);
  t = _mm512_add_epi64(t, t);
  t = _mm512_add_epi64(t, acc0);
  alignas(64) std::uint64_t lanes[8];
  _mm512_store_si512(reinterpret_cast<void*>(lanes), t);
  std::uint64_t total = 0;
  for (std::uint64_t lane : lanes) total += lane;
  return static_cast<std::uint32_t>(total);
}
#endif

}  // namespace
}  // namespace ruvector::kernels::detail
