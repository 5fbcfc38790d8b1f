// shard_of(key, shards): the stable mapping of a 64-bit key to one of `shards` shards used
// by federated search. It is part of the on-disk and wire contract: never change it.
//
//   p = smallest prime >= max(shards, 2)
//   h = key (as two's-complement uint64)
//   repeat: h = splitmix64(h); r = h mod p; until r < shards
//   shard = r
//
// splitmix64 (Steele, Lea, Flood 2014; the finalizer of java.util.SplittableRandom) mixes
// structured keys (sequences, strides) so no stride aliases with the shard count; the
// prime modulus keeps the residues of any remaining arithmetic structure spread; the
// rejection step makes the result exactly uniform over [0, shards) for uniform h, and
// since p - shards is a prime gap it repeats rarely (expected p / shards rounds).
#pragma once

#include <cstdint>

#include "util/splitmix64.h"

namespace ruvector::prime {

using ::ruvector::splitmix64;

// Throws ruvector::Error(kInvalidParameter) when shards < 1.
int shard_of(std::int64_t key, int shards);

// The prime modulus used for a shard count (for documentation and tests).
std::uint64_t shard_modulus(int shards);

}  // namespace ruvector::prime
