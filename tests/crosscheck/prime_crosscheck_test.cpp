// is_prime_u64 against two independent implementations over random ranges of the whole
// 64-bit space: FLINT's n_is_prime (deterministic BPSW below 2^64) and GMP's
// mpz_probab_prime_p. Linked only into this test, never into the extension.
#include <gtest/gtest.h>

#include <flint/ulong_extras.h>
#include <gmp.h>

#include <random>

#include "prime/miller_rabin.h"
#include "prime/prime_search.h"

namespace p = ruvector::prime;
using p::u64;

namespace {

bool gmp_is_prime(u64 n) {
  mpz_t z;
  mpz_init(z);
  mpz_import(z, 1, 1, sizeof(n), 0, 0, &n);
  bool prime = mpz_probab_prime_p(z, 30) > 0;
  mpz_clear(z);
  return prime;
}

}  // namespace

TEST(PrimeCrosscheck, RandomRangesAgreeWithFlintAndGmp) {
  std::mt19937_64 rng(20261124);
  u64 primes = 0;
  for (int range = 0; range < 300; range++) {
    int bits = 2 + range % 63;  // every size from 2 to 64 bits
    u64 start = bits == 64 ? rng() : rng() >> (64 - bits);
    for (u64 n = start; n < start + 2000 && n >= start; n++) {
      bool ours = p::is_prime_u64(n);
      ASSERT_EQ(ours, n_is_prime(n) != 0) << n;
      if (n % 16 == 1) {
        ASSERT_EQ(ours, gmp_is_prime(n)) << n;
      }
      primes += ours;
    }
  }
  EXPECT_GT(primes, 1000u);  // the ranges did contain primes
}

TEST(PrimeCrosscheck, NeighboursOfTheTopAndOfPowersOfTwo) {
  for (int k = 2; k <= 64; k++) {
    u64 top = k == 64 ? 0 : u64{1} << k;
    for (u64 d = 1; d <= 600 && d < (k == 64 ? ~u64{0} : top); d++) {
      u64 n = top - d;
      ASSERT_EQ(p::is_prime_u64(n), n_is_prime(n) != 0) << "2^" << k << " - " << d;
    }
  }
}

TEST(PrimeCrosscheck, NextPrimeAgreesWithFlint) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; i++) {
    u64 x = rng() >> (i % 60);
    if (x >= p::kLargestPrime64) continue;
    ASSERT_EQ(*p::next_prime(x), n_nextprime(x, 1)) << x;
  }
}
