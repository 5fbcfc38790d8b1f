// The unnormalised fast Walsh-Hadamard transform, in place, of n = 2^k floats: stage by
// stage, pairs len apart become (a + b, a − b). Written once and compiled in each ISA file.
// The stages within one register (len below its width) pair lanes by a permute, and a
// lane of the upper half takes partner − self, which is a − b; the rest add and subtract
// whole registers. Each output is the one sum or difference the scalar loop computes, so
// every ISA gives the same bits (the rotation must not depend on the machine).
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace ruvector::kernels::detail {
// Internal linkage: each ISA file keeps its own copy (see bitplane_impl.h).
namespace {

inline void hadamard_stage(float* x, std::uint32_t n, std::uint32_t len) {
  for (std::uint32_t i = 0; i < n; i += len << 1) {
    float* lo = x + i;
    float* hi = x + i + len;
    for (std::uint32_t j = 0; j < len; j++) {
      const float a = lo[j];
      const float b = hi[j];
      lo[j] = a + b;
      hi[j] = a - b;
    }
  }
}

#if defined(__AVX512F__)
constexpr std::uint32_t kHadamardWidth = 16;
using HadamardRegister = __m512;
inline __m512 hadamard_load(const float* p) { return _mm512_loadu_ps(p); }
inline void hadamard_store(float* p, __m512 v) { _mm512_storeu_ps(p, v); }
inline __m512 hadamard_add(__m512 a, __m512 b) { return _mm512_add_ps(a, b); }
inline __m512 hadamard_sub(__m512 a, __m512 b) { return _mm512_sub_ps(a, b); }
// Stages 1, 2, 4 and 8 of one register. The masked forms of the permutes, all lanes on:
// gcc 12's unmasked ones trip -Werror=maybe-uninitialized in its own headers.
inline __m512 hadamard_in_register(__m512 x) {
  __m512 y = _mm512_mask_permute_ps(x, 0xFFFF, x, 0xB1);  // lanes 1 0 3 2 ...
  x = _mm512_mask_sub_ps(_mm512_add_ps(x, y), 0xAAAA, y, x);
  y = _mm512_mask_permute_ps(x, 0xFFFF, x, 0x4E);  // lanes 2 3 0 1 ...
  x = _mm512_mask_sub_ps(_mm512_add_ps(x, y), 0xCCCC, y, x);
  y = _mm512_mask_shuffle_f32x4(x, 0xFFFF, x, x, 0xB1);  // 128-bit blocks 1 0 3 2
  x = _mm512_mask_sub_ps(_mm512_add_ps(x, y), 0xF0F0, y, x);
  y = _mm512_mask_shuffle_f32x4(x, 0xFFFF, x, x, 0x4E);  // 128-bit blocks 2 3 0 1
  return _mm512_mask_sub_ps(_mm512_add_ps(x, y), 0xFF00, y, x);
}
#elif defined(__AVX2__)
constexpr std::uint32_t kHadamardWidth = 8;
using HadamardRegister = __m256;
inline __m256 hadamard_load(const float* p) { return _mm256_loadu_ps(p); }
inline void hadamard_store(float* p, __m256 v) { _mm256_storeu_ps(p, v); }
inline __m256 hadamard_add(__m256 a, __m256 b) { return _mm256_add_ps(a, b); }
inline __m256 hadamard_sub(__m256 a, __m256 b) { return _mm256_sub_ps(a, b); }
// Stages 1, 2 and 4 of one register.
inline __m256 hadamard_in_register(__m256 x) {
  __m256 y = _mm256_permute_ps(x, 0xB1);
  x = _mm256_blend_ps(_mm256_add_ps(x, y), _mm256_sub_ps(y, x), 0xAA);
  y = _mm256_permute_ps(x, 0x4E);
  x = _mm256_blend_ps(_mm256_add_ps(x, y), _mm256_sub_ps(y, x), 0xCC);
  y = _mm256_permute2f128_ps(x, x, 0x01);
  return _mm256_blend_ps(_mm256_add_ps(x, y), _mm256_sub_ps(y, x), 0xF0);
}
#endif

inline void hadamard(float* x, std::uint32_t n) {
#if defined(__AVX2__)
  if (n >= kHadamardWidth) {
    for (std::uint32_t i = 0; i < n; i += kHadamardWidth) {
      hadamard_store(x + i, hadamard_in_register(hadamard_load(x + i)));
    }
    for (std::uint32_t len = kHadamardWidth; len < n; len <<= 1) {
      for (std::uint32_t i = 0; i < n; i += len << 1) {
        for (std::uint32_t j = i; j < i + len; j += kHadamardWidth) {
          const HadamardRegister a = hadamard_load(x + j);
          const HadamardRegister b = hadamard_load(x + j + len);
          hadamard_store(x + j, hadamard_add(a, b));
          hadamard_store(x + j + len, hadamard_sub(a, b));
        }
      }
    }
    return;
  }
#endif
  for (std::uint32_t len = 1; len < n; len <<= 1) hadamard_stage(x, n, len);
}

}  // namespace
}  // namespace ruvector::kernels::detail
