// See rotator.h. Each step is orthogonal and its own inverse (a sign flip, a normalised
// Hadamard transform, a normalised butterfly), so the inverse applies them in reverse.
#include "rabitq/rotator.h"

#include "kernels/cpu/distance.h"
#include "util/splitmix64.h"

#include <cmath>
#include <cstring>
#include <stdexcept>

namespace ruvector::rabitq {

Rotator::Rotator(std::uint32_t dim, std::uint64_t seed)
    : dim_(dim), padded_(padded_dimensions(dim)) {
  if (dim == 0) throw std::invalid_argument("rotation of zero dimensions");
  block_ = 1;
  while (block_ * 2 <= padded_) block_ *= 2;
  std::uint32_t words = padded_ / 64;
  signs_.resize(static_cast<std::size_t>(kRounds) * words);
  std::uint64_t state = seed;
  for (auto& w : signs_) w = splitmix64_next(&state);
}

// Negation as a flip of the sign bit: the same bits as x = -x, without a branch that a
// random sign mispredicts half the time. The steps run on the CPU's SIMD kernels (a query's
// rotation is on every scan's path, and a build rotates every row), which give the scalar
// loops' bits.
void Rotator::flip(int round, float* x) const {
  kernels::distance_kernels().flip_signs(
      x, signs_.data() + static_cast<std::size_t>(round) * (padded_ / 64), padded_);
}

void Rotator::hadamard(int round, float* x) const {
  float* part = (round % 2 == 0) ? x : x + (padded_ - block_);
  const auto& k = kernels::distance_kernels();
  k.hadamard(part, block_);
  k.scale(part, block_, 1.0f / std::sqrt(static_cast<float>(block_)));
}

void Rotator::butterfly(float* x) const {
  if (block_ == padded_) return;  // a power of two: the Hadamard step already mixes all
  kernels::distance_kernels().butterfly(x, padded_ / 2, static_cast<float>(1.0 / std::sqrt(2.0)));
}

void Rotator::rotate(const float* in, float* out) const {
  std::memcpy(out, in, sizeof(float) * dim_);
  std::memset(out + dim_, 0, sizeof(float) * (padded_ - dim_));
  for (int r = 0; r < kRounds; r++) {
    flip(r, out);
    hadamard(r, out);
    butterfly(out);
  }
}

void Rotator::inverse_rotate(const float* in, float* out) const {
  std::memcpy(out, in, sizeof(float) * padded_);
  for (int r = kRounds - 1; r >= 0; r--) {
    butterfly(out);
    hadamard(r, out);
    flip(r, out);
  }
}

}  // namespace ruvector::rabitq
