// The exact inner product of unsigned with signed bytes (centroid codes stored offset by
// 128 against an int8 query: the probe order). Written once and compiled in each ISA file:
// bytes widened to 16 bits and multiplied in pairs (AVX2: 16 a step, AVX-512BW: 32), or
// with AVX-512 VNNI, whose instruction multiplies exactly these, 64 a step. Integer sums, so
// every ISA gives the same result.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace ruvector::kernels::detail {
// Internal linkage: each ISA file keeps its own copy (see bitplane_impl.h).
namespace {

inline std::int32_t dot_u8i8_tail(const std::uint8_t* a, const std::int8_t* b, std::size_t i,
                                  std::size_t n, std::int32_t sum) {
  for (; i < n; i++) sum += a[i] * b[i];
  return sum;
}

// The lanes of an int32 register summed through memory (GCC 12 flags false "uninitialized"
// warnings in the reduce intrinsics).
template <typename Register, std::size_t kLanes>
inline std::int32_t lane_sum(const Register& r) {
  alignas(64) std::int32_t lanes[kLanes];
  std::memcpy(lanes, &r, sizeof(lanes));
  std::int32_t sum = 0;
  for (std::int32_t lane : lanes) sum += lane;
  return sum;
}

inline std::int32_t dot_u8i8(const std::uint8_t* a, const std::int8_t* b, std::size_t n) {
  std::size_t i = 0;
  std::int32_t sum = 0;
#if defined(__AVX512BW__)
  __m512i acc = _mm512_setzero_si512();
  for (; i + 32 <= n; i += 32) {
    __m512i x = _mm512_cvtepu8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i)));
    __m512i y = _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i)));
    acc = _mm512_add_epi32(acc, _mm512_madd_epi16(x, y));
  }
  sum = lane_sum<__m512i, 16>(acc);
#elif defined(__AVX2__)
  __m256i acc = _mm256_setzero_si256();
  for (; i + 16 <= n; i += 16) {
    __m256i x = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i)));
    __m256i y = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i)));
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(x, y));
  }
  sum = lane_sum<__m256i, 8>(acc);
#endif
  return dot_u8i8_tail(a, b, i, n, sum);
}

#if defined(__AVX512F__)
// With AVX-512 VNNI, which multiplies unsigned by signed bytes in one instruction. Compiled
// only in the AVX-512 file; the dispatcher uses it when the CPU has VNNI.
__attribute__((target("avx512f,avx512bw,avx512vnni"))) inline std::int32_t dot_u8i8_vnni(
    const std::uint8_t* a, const std::int8_t* b, std::size_t n) {
  __m512i acc = _mm512_setzero_si512();
  std::size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    acc = _mm512_dpbusd_epi32(acc, _mm512_loadu_si512(a + i), _mm512_loadu_si512(b + i));
  }
  return dot_u8i8_tail(a, b, i, n, lane_sum<__m512i, 16>(acc));
}
#endif

}  // namespace
}  // namespace ruvector::kernels::detail
