// Prime helpers: agreement with a sieve below 10^7, the proven-hard composites (strong
// pseudoprimes to the first prime bases, Carmichael numbers), the primes just below 2^32,
// 2^63 and 2^64, the compile-time table, next/prev edges, the shard router's contract.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "prime/miller_rabin.h"
#include "prime/prime_search.h"
#include "prime/shard_router.h"
#include "prime/u64_text.h"
#include "util/error.h"

namespace p = ruvector::prime;
using p::u64;

TEST(Prime, AgreesWithASieveBelowTenMillion) {
  constexpr u64 kLimit = 10'000'000;
  std::vector<bool> composite(kLimit, false);
  composite[0] = composite[1] = true;
  for (u64 i = 2; i * i < kLimit; i++) {
    if (!composite[i]) {
      for (u64 j = i * i; j < kLimit; j += i) composite[j] = true;
    }
  }
  u64 mismatches = 0;
  for (u64 n = 0; n < kLimit; n++) mismatches += p::is_prime_u64(n) == composite[n];
  EXPECT_EQ(mismatches, 0u);
}

TEST(Prime, StrongPseudoprimesToTheFirstPrimeBasesAreComposite) {
  // OEIS A014233: the smallest strong pseudoprime to all of the first k prime bases.
  for (u64 n : {2047ULL, 1373653ULL, 25326001ULL, 3215031751ULL, 2152302898747ULL,
                3474749660383ULL, 341550071728321ULL, 3825123056546413051ULL}) {
    EXPECT_FALSE(p::is_prime_u64(n)) << n;
  }
  // Strong pseudoprimes to bases 2, 3, 5, 7 and to 2, 7, 61 near the 32-bit switch point.
  for (u64 n : {3215031751ULL, 4759123141ULL, 1122004669633ULL}) EXPECT_FALSE(p::is_prime_u64(n)) << n;
}

TEST(Prime, CarmichaelNumbersAreComposite) {
  for (u64 n : {561ULL, 1105ULL, 1729ULL, 2465ULL, 2821ULL, 6601ULL, 8911ULL, 41041ULL,
                825265ULL, 321197185ULL, 5394826801ULL, 232250619601ULL, 9746347772161ULL}) {
    EXPECT_FALSE(p::is_prime_u64(n)) << n;
  }
}

namespace {

// Tables of "primes just less than a power of two" (the offsets d with 2^k - d prime for the
// ten smallest d), as published by the Prime Pages.
void expect_primes_below(int k, std::vector<u64> offsets) {
  u64 top = k == 64 ? 0 : (u64{1} << k);  // 2^64 wraps to 0, and 0 - d is 2^64 - d
  u64 last = offsets.back();
  for (u64 d = 1; d <= last; d++) {
    bool expected = std::find(offsets.begin(), offsets.end(), d) != offsets.end();
    EXPECT_EQ(p::is_prime_u64(top - d), expected) << "2^" << k << " - " << d;
  }
}

}  // namespace

TEST(Prime, PrimesJustBelowPowersOfTwo) {
  expect_primes_below(32, {5, 17, 65, 99, 107, 135, 153, 185, 209, 267});
  expect_primes_below(63, {25, 165, 259, 301, 375, 387, 391, 409, 457, 471});
  expect_primes_below(64, {59, 83, 95, 179, 189, 257, 279, 323, 353, 363});
}

TEST(Prime, SmallValues) {
  EXPECT_FALSE(p::is_prime_u64(0));
  EXPECT_FALSE(p::is_prime_u64(1));
  EXPECT_TRUE(p::is_prime_u64(2));
  EXPECT_TRUE(p::is_prime_u64(3));
  EXPECT_FALSE(p::is_prime_u64(4));
  EXPECT_TRUE(p::is_prime_u64(3469));  // the largest prime below the trial-division bound 59^2
  EXPECT_FALSE(p::is_prime_u64(59 * 59));
  EXPECT_FALSE(p::is_prime_u64(~u64{0}));
  EXPECT_TRUE(p::is_prime_u64(4294967291ULL));
  EXPECT_FALSE(p::is_prime_u64(4294967291ULL * 4294967279ULL));  // product of two 32-bit primes
}

TEST(Prime, CompileTimeTableMatchesRunTime) {
  static_assert(p::kPrimeBelowPow2.value[64] == p::kLargestPrime64);
  static_assert(p::kPrimeBelowPow2.value[2] == 3);
  static_assert(p::kPrimeBelowPow2.value[31] == 2147483647ULL);
  for (int k = 2; k <= 64; k++) {
    u64 below = k == 64 ? ~u64{0} : (u64{1} << k) - 1;
    u64 expected = below;
    while (!p::is_prime_u64(expected)) expected--;
    EXPECT_EQ(p::prime_below_pow2(k), expected) << k;
  }
  EXPECT_EQ(p::prime_below_pow2(16), 65521u);
  EXPECT_EQ(p::prime_below_pow2(63), (u64{1} << 63) - 25);
  EXPECT_THROW(p::prime_below_pow2(1), ruvector::Error);
  EXPECT_THROW(p::prime_below_pow2(65), ruvector::Error);
}

TEST(Prime, NextAndPrevious) {
  EXPECT_EQ(*p::next_prime(0), 2u);
  EXPECT_EQ(*p::next_prime(2), 3u);
  EXPECT_EQ(*p::next_prime(13), 17u);
  EXPECT_EQ(*p::next_prime(u64{1} << 63), (u64{1} << 63) + 29);
  EXPECT_EQ(*p::next_prime(p::kLargestPrime64 - 1), p::kLargestPrime64);
  EXPECT_FALSE(p::next_prime(p::kLargestPrime64).has_value());
  EXPECT_FALSE(p::next_prime(~u64{0}).has_value());
  EXPECT_FALSE(p::prev_prime(2).has_value());
  EXPECT_EQ(*p::prev_prime(3), 2u);
  EXPECT_EQ(*p::prev_prime(18), 17u);
  EXPECT_EQ(*p::prev_prime(~u64{0}), p::kLargestPrime64);
}

TEST(Prime, ShardRouterContract) {
  EXPECT_EQ(p::shard_modulus(1), 2u);
  EXPECT_EQ(p::shard_modulus(2), 2u);
  EXPECT_EQ(p::shard_modulus(10), 11u);
  EXPECT_EQ(p::shard_modulus(11), 11u);
  EXPECT_EQ(p::shard_modulus(1000), 1009u);
  EXPECT_THROW(p::shard_of(1, 0), ruvector::Error);
  EXPECT_EQ(p::shard_of(12345, 1), 0);
  // Pinned values: this mapping is part of the stable contract (docs/prime.md).
  EXPECT_EQ(p::splitmix64(0), 0xe220a8397b1dcdafULL);
  int pinned[8];
  for (int i = 0; i < 8; i++) pinned[i] = p::shard_of(i, 10);
  EXPECT_EQ(std::vector<int>(pinned, pinned + 8), (std::vector<int>{1, 9, 6, 4, 1, 1, 1, 2}));
  // Checked against an independent Python implementation of the documented mapping.
  EXPECT_EQ(p::shard_of(-1, 7), 0);
  EXPECT_EQ(p::shard_of(int64_t{1} << 62, 7), 4);
  EXPECT_EQ(p::shard_of(123456789, 7), 5);
  EXPECT_EQ(p::shard_of(-1, 1000), 623);
  EXPECT_EQ(p::shard_of(int64_t{1} << 62, 1000), 795);
  EXPECT_EQ(p::shard_of(123456789, 1000), 858);
  // Uniform: 200000 sequential keys over 7 and 1000 shards, chi-square far from bias.
  for (int shards : {7, 1000}) {
    std::vector<int> count(shards, 0);
    const int n = 200000;
    for (int key = 0; key < n; key++) count[p::shard_of(key, shards)]++;
    double expected = static_cast<double>(n) / shards, chi2 = 0;
    for (int c : count) chi2 += (c - expected) * (c - expected) / expected;
    // Mean shards - 1, sd sqrt(2 (shards - 1)): allow 6 sd.
    EXPECT_LT(chi2, shards - 1 + 6 * std::sqrt(2.0 * (shards - 1))) << shards;
  }
}

TEST(Prime, DecimalText) {
  EXPECT_EQ(p::parse_u64("0", "x"), 0u);
  EXPECT_EQ(p::parse_u64("18446744073709551615", "x"), ~u64{0});
  EXPECT_EQ(p::parse_u64("17.000", "x"), 17u);
  EXPECT_EQ(p::parse_u64("-0", "x"), 0u);
  for (const char* bad : {"18446744073709551616", "-1", "1.5", "NaN", "", "abc", "1e5"}) {
    EXPECT_THROW(p::parse_u64(bad, "x"), ruvector::Error) << bad;
  }
  EXPECT_EQ(p::format_u64(~u64{0}), "18446744073709551615");
}
