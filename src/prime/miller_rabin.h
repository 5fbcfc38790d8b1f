// Deterministic primality for every 64-bit integer:
//  1. n < 2^20: a bitmap built at compile time by a sieve.
//  2. trial division by the primes 3..53.
//  3. strong probable-prime (Miller-Rabin) tests to a base set proven to admit no common
//     strong pseudoprime below the bound where it is used:
//       n < 1,373,653          2, 3            (Pomerance, Selfridge, Wagstaff, "The
//                                               pseudoprimes to 25 * 10^9", Math. Comp. 35
//                                               (1980) 1003-1026)
//       n < 4,759,123,141      2, 7, 61        (Jaeschke, "On strong pseudoprimes to several
//                                               bases", Math. Comp. 61 (1993) 915-926)
//       n < 1,122,004,669,633  2, 13, 23, 1662803   (Jaeschke 1993)
//       n < 2^64               2, 325, 9375, 28178, 450775, 9780504, 1795265022 (Jim
//                              Sinclair 2011, verified against Feitsma and Galway's list of
//                              all base-2 strong pseudoprimes below 2^64; a base that is 0
//                              mod n is skipped, as that verification requires)
//
// Bases sharing an exponent are raised together in one loop, so their independent
// multiplication chains overlap in the pipeline: one Montgomery chain is latency-bound (a
// multiply, a low multiply and a high multiply in sequence), and seven interleaved chains
// take under twice the time of one. Running base 2 alone first would let composites leave
// earlier but makes primes, the worst case, pay for two latency-bound passes (figures in
// docs/benchmarks.md); we optimize the worst case.
#pragma once

#include <cstdint>

#include "prime/montgomery.h"

namespace ruvector::prime {

namespace detail {

// Small primes for trial division; their squares bound what trial division alone decides.
inline constexpr u64 kSmallPrimes[] = {3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53};

// Odd n below kSieveLimit are answered by a bitmap: bit (n / 2) is set when n is prime.
inline constexpr u64 kSieveLimit = u64{1} << 20;

struct OddPrimeBitmap {
  u64 words[kSieveLimit / 128];
};

constexpr OddPrimeBitmap make_odd_prime_bitmap() {
  OddPrimeBitmap b{};
  for (u64 i = 0; i < kSieveLimit / 128; i++) b.words[i] = ~u64{0};
  b.words[0] &= ~u64{1};  // 1 is not prime
  for (u64 p = 3; p * p < kSieveLimit; p += 2) {
    if ((b.words[p / 128] >> ((p / 2) % 64)) & 1) {
      for (u64 m = p * p; m < kSieveLimit; m += 2 * p) b.words[m / 128] &= ~(u64{1} << ((m / 2) % 64));
    }
  }
  return b;
}

inline constexpr OddPrimeBitmap kOddPrimes = make_odd_prime_bitmap();

// True when odd n > 3 is a strong probable prime to every base in bases[0..K).
template <int K>
constexpr bool strong_probable_prime(const Montgomery& m, u64 d, int s, const u64* bases) {
  u64 n = m.n;
  u64 minus_one = n - m.one;  // -1 in Montgomery form
  u64 base[K] = {};
  u64 x[K] = {};
  bool skip[K] = {};
  for (int i = 0; i < K; i++) {
    u64 a = bases[i] % n;
    skip[i] = (a == 0);
    base[i] = m.to_form(a);
    x[i] = base[i];
  }
  // x = base^d, left to right over the bits of d below its top bit.
  int top = 63;
  while (((d >> top) & 1) == 0) top--;
  for (int bit = top - 1; bit >= 0; bit--) {
    for (int i = 0; i < K; i++) x[i] = m.mul(x[i], x[i]);
    if ((d >> bit) & 1) {
      for (int i = 0; i < K; i++) x[i] = m.mul(x[i], base[i]);
    }
  }
  for (int i = 0; i < K; i++) {
    if (skip[i] || x[i] == m.one || x[i] == minus_one) continue;
    bool witness = true;  // a witness to compositeness unless some x^(2^r) is -1
    u64 y = x[i];
    for (int r = 1; r < s; r++) {
      y = m.mul(y, y);
      if (y == minus_one) {
        witness = false;
        break;
      }
      if (y == m.one) break;  // reached 1 without passing -1: composite
    }
    if (witness) return false;
  }
  return true;
}

template <int K>
constexpr bool miller_rabin(u64 n, const u64 (&bases)[K]) {
  Montgomery m(n);
  u64 d = n - 1;
  int s = 0;
  while ((d & 1) == 0) {
    d >>= 1;
    s++;
  }
  return strong_probable_prime<K>(m, d, s, bases);
}

inline constexpr u64 kBases20[] = {2, 3};
inline constexpr u64 kBases32[] = {2, 7, 61};
inline constexpr u64 kBases40[] = {2, 13, 23, 1662803};
inline constexpr u64 kBases64[] = {2, 325, 9375, 28178, 450775, 9780504, 1795265022};

}  // namespace detail

constexpr bool is_prime_u64(u64 n) {
  if ((n & 1) == 0) return n == 2;
  if (n < detail::kSieveLimit) return (detail::kOddPrimes.words[n / 128] >> ((n / 2) % 64)) & 1;
  for (u64 p : detail::kSmallPrimes) {
    if (n % p == 0) return false;
  }
  if (n < 1373653ULL) return detail::miller_rabin(n, detail::kBases20);
  if (n < 4759123141ULL) return detail::miller_rabin(n, detail::kBases32);
  if (n < 1122004669633ULL) return detail::miller_rabin(n, detail::kBases40);
  return detail::miller_rabin(n, detail::kBases64);
}

}  // namespace ruvector::prime
