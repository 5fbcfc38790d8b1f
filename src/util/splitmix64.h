// SplitMix64 (Steele, Lea, Flood 2014): the one seeded generator of the core, used where a
// result must be reproducible from a seed on every platform (std distributions are not).
#pragma once

#include <cstdint>

namespace ruvector {

inline constexpr std::uint64_t kSplitMixGamma = 0x9e3779b97f4a7c15ULL;

// The mix of x + gamma: a stateless hash, and the generator's output for state x.
constexpr std::uint64_t splitmix64(std::uint64_t x) {
  x += kSplitMixGamma;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// The next output of the generator whose state is *state.
inline std::uint64_t splitmix64_next(std::uint64_t* state) {
  std::uint64_t out = splitmix64(*state);
  *state += kSplitMixGamma;
  return out;
}

}  // namespace ruvector
