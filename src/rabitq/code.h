// The 1-bit RaBitQ code of a residual r = P^-1 (o - c) (rotated, padded to D dimensions)
// and the per-vector factors the estimator needs (Gao & Long, SIGMOD 2024, §3).
#pragma once

#include <cstdint>
#include <type_traits>

namespace ruvector::rabitq {

// Stored on index pages next to the code: 16 bytes, host (little-endian) byte order.
struct CodeFactors {
  float residual_norm;     // ||r||
  float inv_x0;            // 1 / <ō, o>, with x0 = ||r||_1 / (sqrt(D) ||r||); 0 when r = 0
  float error_unit;        // sqrt(1 - x0²) / x0 / sqrt(D - 1): the bound per unit query norm
  std::uint32_t popcount;  // set bits of the code
};
static_assert(sizeof(CodeFactors) == 16 && std::is_trivially_copyable_v<CodeFactors>);

// residual: padded_dim floats (a multiple of 64); code: padded_dim / 64 words, bit i of
// the code is r[i] > 0 (word i / 64, bit i % 64).
void encode(const float* residual, std::uint32_t padded_dim, std::uint64_t* code,
            CodeFactors* factors);

}  // namespace ruvector::rabitq
