// The query side of the RaBitQ estimator: a query vector v (rotated, padded) quantized to
// 4-bit unsigned integers stored as bit planes, and the estimate of <r/||r||, v> for a
// code (Gao & Long, SIGMOD 2024, Thm 3.3). Callers own the plane storage, so a Postgres
// scan can keep it in a memory context.
#pragma once

#include <cstddef>
#include <cstdint>

#include "rabitq/code.h"

namespace ruvector::rabitq {

constexpr int kQueryBits = 4;

struct QueryCode {
  std::uint32_t padded_dim;
  float low;     // v_l = min v[i]
  float delta;   // (max - min) / 15
  float sum;     // sum of the quantized values q_u[i]
  float norm;    // ||v||, unquantized
  float sqrt_d;  // sqrt(padded_dim), kept to spare a square root per estimate
};

// Words of plane storage quantize_query writes.
constexpr std::size_t query_code_words(std::uint32_t padded_dim) {
  return static_cast<std::size_t>(kQueryBits) * (padded_dim / 64);
}

// v: padded_dim floats; planes: query_code_words(padded_dim) words.
void quantize_query(const float* v, std::uint32_t padded_dim, QueryCode* out,
                    std::uint64_t* planes);

// The unbiased estimate of <r / ||r||, v> for the code of r; 0 when r = 0. Its error is
// within error_unit · ||v|| · epsilon with high probability for epsilon near 1.9.
float estimate_ip(const QueryCode& query, const std::uint64_t* planes, const std::uint64_t* code,
                  const CodeFactors& factors);

// estimate_ip of n stored rows at once, into out[0 .. n): row i holds its code at
// rows[i] + code_offset (8-byte aligned) and its CodeFactors at rows[i] + factors_offset.
// The same floats as n calls, fetched and computed without a call per row.
void estimate_ip_rows(const QueryCode& query, const std::uint64_t* planes,
                      const std::uint8_t* const* rows, std::size_t code_offset,
                      std::size_t factors_offset, std::uint32_t n, float* out);

}  // namespace ruvector::rabitq
