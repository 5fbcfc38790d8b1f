// The text form of a vector, compatible with pgvector's `vector`: '[1, 2.5, -3e-2]' in,
// shortest round-trip floats out (the same digits Postgres' float4out prints).
#pragma once

#include <cstddef>

namespace ruvector::vector {

// Hard limit on dimensions, the same as pgvector's.
constexpr int kMaxDim = 16000;

// Parses `text` into `out`, which must have room for kMaxDim floats. Returns the number of
// dimensions. Throws ruvector::Error naming the problem (syntax, empty, too many
// dimensions, NaN, infinity, out of range); `type_name` is used in messages.
int parse_text(const char* text, float* out, const char* type_name);

// Upper bound on the bytes format_text writes for `dim` values, terminator included.
constexpr std::size_t format_text_capacity(int dim) {
  // '-' + 9 significant digits + '.' + "e-45" fits in 16; plus ',' per value, "[]\0".
  return static_cast<std::size_t>(dim) * 17 + 3;
}

// Writes '[v1,v2,...]' with a terminating NUL into `out` (format_text_capacity bytes).
// Returns the length without the NUL.
std::size_t format_text(const float* values, int dim, char* out);

// Formats one float as Postgres' float4out does with extra_float_digits > 0: the shortest
// digits that read back to the same float, fixed notation for exponents -4..5, else
// scientific ("1e+06"). Returns the number of characters written (no NUL).
std::size_t format_float(float value, char* out);

}  // namespace ruvector::vector
