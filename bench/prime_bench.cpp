// Per-call time of the primality test and next_prime, side by side in one run with FLINT's
// n_is_prime and n_nextprime and GMP's mpz_probab_prime_p (24 reps = BPSW only in GMP >= 6.2).
// Run: make bench && build/bench/bench/prime_bench --benchmark_repetitions=5
//        --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <flint/ulong_extras.h>
#include <gmp.h>

#include <random>
#include <vector>

#include "prime/miller_rabin.h"
#include "prime/prime_search.h"

namespace p = ruvector::prime;
using p::u64;

namespace {

std::vector<u64> small_odd() {
  std::mt19937_64 rng(1);
  std::vector<u64> v(4096);
  for (u64& x : v) x = (rng() % 1000000) | 1;
  return v;
}

std::vector<u64> random_odd64() {
  std::mt19937_64 rng(2);
  std::vector<u64> v(4096);
  for (u64& x : v) x = rng() | 1 | (u64{1} << 63);
  return v;
}

// The worst case: primes, which must pass every base, at the top of the range.
std::vector<u64> primes_near_2_64() {
  std::vector<u64> v;
  for (u64 d = 1; v.size() < 64; d += 2) {
    if (p::is_prime_u64(0 - d)) v.push_back(0 - d);
  }
  return v;
}

std::vector<u64> near_2_63() {
  std::mt19937_64 rng(3);
  std::vector<u64> v(256);
  for (u64& x : v) x = (u64{1} << 63) + (rng() % (u64{1} << 40));
  return v;
}

bool gmp_prime(u64 n) {
  mpz_t z;
  mpz_init_set_ui(z, n);  // unsigned long is 64 bits on this platform
  bool r = mpz_probab_prime_p(z, 24) > 0;
  mpz_clear(z);
  return r;
}

template <typename Fn>
void run(benchmark::State& state, const std::vector<u64>& inputs, Fn fn) {
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(fn(inputs[i]));
    if (++i == inputs.size()) i = 0;
  }
}

#define PRIME_CASE(name, inputs)                                                            \
  void ruvector_##name(benchmark::State& s) {                                               \
    static const auto in = inputs();                                                        \
    run(s, in, [](u64 n) { return p::is_prime_u64(n); });                                   \
  }                                                                                         \
  void flint_##name(benchmark::State& s) {                                                  \
    static const auto in = inputs();                                                        \
    run(s, in, [](u64 n) { return n_is_prime(n); });                                        \
  }                                                                                         \
  void gmp_##name(benchmark::State& s) {                                                    \
    static const auto in = inputs();                                                        \
    run(s, in, [](u64 n) { return gmp_prime(n); });                                         \
  }                                                                                         \
  BENCHMARK(ruvector_##name);                                                               \
  BENCHMARK(flint_##name);                                                                  \
  BENCHMARK(gmp_##name);

PRIME_CASE(is_prime_small, small_odd)
PRIME_CASE(is_prime_random64, random_odd64)
PRIME_CASE(is_prime_worst_near_2_64, primes_near_2_64)

void ruvector_next_prime_near_2_63(benchmark::State& s) {
  static const auto in = near_2_63();
  run(s, in, [](u64 n) { return *p::next_prime(n); });
}
void flint_next_prime_near_2_63(benchmark::State& s) {
  static const auto in = near_2_63();
  run(s, in, [](u64 n) { return n_nextprime(n, 1); });
}
BENCHMARK(ruvector_next_prime_near_2_63);
BENCHMARK(flint_next_prime_near_2_63);

}  // namespace

BENCHMARK_MAIN();
