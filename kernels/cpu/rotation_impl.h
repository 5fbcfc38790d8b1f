// The element-wise steps of the RaBitQ rotation (src/rabitq/rotator.h) around its Hadamard
// transform: a sign flip from a bit mask, a scaling, and the butterfly between the two
// halves; and the difference of two vectors (a query's residual against a list's
// centroid). Written once and compiled in each ISA file, like hadamard_impl.h. Each output
// is the one operation the scalar loop performs (an XOR of the sign bit, a product, a sum
// or difference and then a product), so every ISA gives the same bits. (GCC's -O2 leaves
// such loops scalar when it cannot rule out aliasing or a tail.)
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace ruvector::kernels::detail {
// Internal linkage: each ISA file keeps its own copy (see bitplane_impl.h).
namespace {

constexpr std::uint32_t kSignBit = 0x80000000u;

inline void flip_signs_scalar(float* x, const std::uint64_t* signs, std::uint32_t n) {
  for (std::uint32_t i = 0; i < n; i++) {
    std::uint32_t u;
    std::memcpy(&u, &x[i], sizeof(u));
    u ^= static_cast<std::uint32_t>((signs[i / 64] >> (i % 64)) & 1) << 31;
    std::memcpy(&x[i], &u, sizeof(u));
  }
}

// x[i] = -x[i] where bit i of signs is set; n a multiple of 64.
inline void flip_signs(float* x, const std::uint64_t* signs, std::uint32_t n) {
#if defined(__AVX512F__)
  const __m512i sign = _mm512_set1_epi32(static_cast<int>(kSignBit));
  for (std::uint32_t i = 0; i < n; i += 16) {
    const auto m = static_cast<__mmask16>(signs[i / 64] >> (i % 64));
    const __m512i v = _mm512_castps_si512(_mm512_loadu_ps(x + i));
    _mm512_storeu_ps(x + i, _mm512_castsi512_ps(_mm512_mask_xor_epi32(v, m, v, sign)));
  }
#elif defined(__AVX2__)
  const __m256i sign = _mm256_set1_epi32(static_cast<int>(kSignBit));
  const __m256i lane_bits = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
  for (std::uint32_t i = 0; i < n; i += 8) {
    const int byte = static_cast<int>((signs[i / 64] >> (i % 64)) & 0xFF);
    const __m256i set =
        _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(byte), lane_bits), lane_bits);
    const __m256i v = _mm256_castps_si256(_mm256_loadu_ps(x + i));
    _mm256_storeu_ps(x + i, _mm256_castsi256_ps(_mm256_xor_si256(v, _mm256_and_si256(set, sign))));
  }
#else
  flip_signs_scalar(x, signs, n);
#endif
}

// x[i] *= s.
inline void scale(float* x, std::uint32_t n, float s) {
  std::uint32_t i = 0;
#if defined(__AVX512F__)
  const __m512 k = _mm512_set1_ps(s);
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(x + i, _mm512_mul_ps(_mm512_loadu_ps(x + i), k));
#elif defined(__AVX2__)
  const __m256 k = _mm256_set1_ps(s);
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), k));
#endif
  for (; i < n; i++) x[i] *= s;
}

// (x[i], x[i + half]) = ((a + b) s, (a - b) s) for i < half.
inline void butterfly(float* x, std::uint32_t half, float s) {
  std::uint32_t i = 0;
#if defined(__AVX512F__)
  const __m512 k = _mm512_set1_ps(s);
  for (; i + 16 <= half; i += 16) {
    const __m512 a = _mm512_loadu_ps(x + i);
    const __m512 b = _mm512_loadu_ps(x + i + half);
    _mm512_storeu_ps(x + i, _mm512_mul_ps(_mm512_add_ps(a, b), k));
    _mm512_storeu_ps(x + i + half, _mm512_mul_ps(_mm512_sub_ps(a, b), k));
  }
#elif defined(__AVX2__)
  const __m256 k = _mm256_set1_ps(s);
  for (; i + 8 <= half; i += 8) {
    const __m256 a = _mm256_loadu_ps(x + i);
    const __m256 b = _mm256_loadu_ps(x + i + half);
    _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_add_ps(a, b), k));
    _mm256_storeu_ps(x + i + half, _mm256_mul_ps(_mm256_sub_ps(a, b), k));
  }
#endif
  for (; i < half; i++) {
    const float a = x[i];
    const float b = x[i + half];
    x[i] = (a + b) * s;
    x[i + half] = (a - b) * s;
  }
}

// out[i] = a[i] - b[i].
inline void subtract(const float* a, const float* b, float* out, std::uint32_t n) {
  std::uint32_t i = 0;
#if defined(__AVX512F__)
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(out + i, _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i)));
#elif defined(__AVX2__)
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(out + i, _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
#endif
  for (; i < n; i++) out[i] = a[i] - b[i];
}

}  // namespace
}  // namespace ruvector::kernels::detail
