// Extended RaBitQ codes (Gao et al., SIGMOD 2025): B bits per dimension of a residual
// r = P^-1 (o - c), the 1-bit code's sign bit plus B - 1 "ex" bits, so the codeword has
// 2^B levels per dimension, ±1/2, ±3/2, … ±(2^B - 1)/2 times a per-vector scale. The sign
// bits are the 1-bit code (code.h) unchanged; the ex bits are B - 1 bit planes, most
// significant first, so that sign plane + ex planes read as one B-bit unsigned code per
// dimension (the estimate kernel is kernels/cpu/bitplane_sum.h). Callers store the planes
// where they like: the index keeps them apart from the 1-bit codes that every scan reads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace ruvector::rabitq {

constexpr int kMinExBits = 2;  // total bits per dimension, sign bit included
constexpr int kMaxExBits = 8;

// Stored after the ex planes: 8 bytes, host byte order.
struct ExFactors {
  float rescale;  // 1 / Σ (y_i + 1/2) |r_i| / ||r||: turns <x, v> into the estimate; 0 when r = 0
  float error_unit;  // sqrt(1 - x0²) / x0 / sqrt(D - 1), x0 = <x, r> / (||x|| ||r||)
};
static_assert(sizeof(ExFactors) == 8 && std::is_trivially_copyable_v<ExFactors>);

// Words of ex planes for a code of `bits` bits per dimension (the sign plane not counted).
constexpr std::size_t ex_code_words(std::uint32_t padded_dim, int bits) {
  return static_cast<std::size_t>(bits - 1) * (padded_dim / 64);
}

// residual: padded_dim floats (a multiple of 64); bits in [kMinExBits, kMaxExBits].
// Writes ex_code_words() words of planes and the factors. The magnitude code y_i of
// |r_i| / ||r|| is min(floor(t |r_i| / ||r||), 2^(bits-1) - 1) with the rescale t that
// maximizes the cosine between y + 1/2 and |r| (searched exactly over the values of t
// where some y_i steps); the stored ex value is y_i for r_i > 0 and
// 2^(bits-1) - 1 - y_i otherwise, so that sign and ex bits read as one unsigned code u_i
// with codeword x_i = u_i - (2^bits - 1)/2 = sign(r_i) (y_i + 1/2).
void encode_ex(const float* residual, std::uint32_t padded_dim, int bits, std::uint64_t* planes,
               ExFactors* factors);

// The rescale t the encoder picks for a = |r| / ||r|| (exposed for tests).
double best_rescale(const float* abs_unit, std::uint32_t padded_dim, int bits);

// The estimate of <r / ||r||, v> from the B-bit code: sign_code is the 1-bit code
// (padded_dim / 64 words), ex_planes what encode_ex wrote; v: padded_dim floats (the query side,
// unquantized); v_sum: Σ v_i. Unbiased like the 1-bit estimate; its error is within
// error_unit · ||v|| · epsilon for about 97% of pairs at epsilon 1.9 (the same theorem,
// with the B-bit x0, much closer to 1: about 0.94 at 2 bits, 0.98 at 3, 0.999 at 5, against
// 0.8 for the 1-bit code; the error halves with each added bit).
float estimate_ip_ex(const float* v, float v_sum, std::uint32_t padded_dim, int bits,
                     const std::uint64_t* sign_code, const std::uint64_t* ex_planes,
                     const ExFactors& factors);

}  // namespace ruvector::rabitq
