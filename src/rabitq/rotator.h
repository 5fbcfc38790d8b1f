// A random orthogonal rotation of R^D (D = dim rounded up to a multiple of 64) that is
// fully determined by a seed: four rounds of a random sign flip, a normalised fast
// Walsh-Hadamard transform on the first (even rounds) or last (odd rounds) 2^k
// coordinates, and, when D is not a power of two, a normalised butterfly between the two
// halves (the "FHT + Kac walk" of the RaBitQ library). O(D log D) per vector; the only
// state is 4·D sign bits. The transform runs on the CPU's SIMD kernel, which gives the
// scalar loop's bits, so results are identical on every x86-64.
#pragma once

#include <cstdint>
#include <vector>

namespace ruvector::rabitq {

class Rotator {
 public:
  Rotator(std::uint32_t dim, std::uint64_t seed);

  std::uint32_t dim() const { return dim_; }
  std::uint32_t padded_dim() const { return padded_; }

  // in: dim() floats; out: padded_dim() floats (the input is padded with zeros).
  void rotate(const float* in, float* out) const;
  // The inverse: in and out are padded_dim() floats.
  void inverse_rotate(const float* in, float* out) const;

 private:
  static constexpr int kRounds = 4;
  void flip(int round, float* x) const;
  void hadamard(int round, float* x) const;
  void butterfly(float* x) const;

  std::uint32_t dim_;
  std::uint32_t padded_;
  std::uint32_t block_;               // 2^floor(log2 padded_)
  std::vector<std::uint64_t> signs_;  // kRounds × padded_/64 words
};

// dim rounded up to a multiple of 64: the code length in bits.
constexpr std::uint32_t padded_dimensions(std::uint32_t dim) { return (dim + 63) / 64 * 64; }

}  // namespace ruvector::rabitq
