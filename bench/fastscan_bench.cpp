// What FastScan-packed blocks would buy the 1-bit estimate: the bit-plane popcount kernel
// the index uses (kernels/cpu, per row, every ISA this CPU has) against a prototype of the
// FastScan layout (32 codes a block, one 4-bit nibble of each per 4 dimensions, a 16-entry
// byte table of the 4-bit query per nibble, AVX2 byte shuffles). Both give the same integer
// <code, query> (checked before timing), so only speed differs. Times are per code, over
// 768 codes: about what a Fashion-MNIST query at probes = 6 estimates. The table build is
// timed apart: a query pays it once per probed list.
// Run: make bench && build/bench/bench/fastscan_bench
#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "kernels/cpu/distance.h"

namespace k = ruvector::kernels;

namespace {

constexpr int kCodes = 768;
constexpr int kBlock = 32;

struct Data {
  int dim, words, segments;
  std::vector<std::uint64_t> codes;   // kCodes × words
  std::vector<std::uint64_t> planes;  // 4 × words, least significant plane first
  std::vector<std::uint8_t> query;    // dim 4-bit values
  std::vector<std::uint8_t> blocks;   // kCodes / 32 blocks × segments × 16 bytes
  std::vector<std::uint8_t> table;    // segments × 16
};

std::uint8_t nibble(const Data& d, int code, int segment) {
  return static_cast<std::uint8_t>(
      (d.codes[static_cast<std::size_t>(code) * d.words + segment / 16] >> (4 * (segment % 16))) &
      15);
}

// Byte j of a block's segment s: nibble s of code j (low) and of code j + 16 (high).
void pack(Data* d) {
  d->blocks.assign(static_cast<std::size_t>(kCodes / kBlock) * d->segments * 16, 0);
  for (int b = 0; b < kCodes / kBlock; b++) {
    for (int s = 0; s < d->segments; s++) {
      for (int j = 0; j < 16; j++) {
        d->blocks[(static_cast<std::size_t>(b) * d->segments + s) * 16 + j] =
            static_cast<std::uint8_t>(nibble(*d, b * kBlock + j, s) |
                                      nibble(*d, b * kBlock + j + 16, s) << 4);
      }
    }
  }
}

void build_table(const Data& d, std::uint8_t* table) {
  for (int s = 0; s < d.segments; s++) {
    for (int n = 0; n < 16; n++) {
      int v = 0;
      for (int b = 0; b < 4; b++) v += (n >> b & 1) ? d.query[4 * s + b] : 0;
      table[s * 16 + n] = static_cast<std::uint8_t>(v);  // at most 60
    }
  }
}

// The 32 dot products of one block; sums stay below 60 × segments, within 16 bits up to
// 4,368 segments (17,472 dimensions).
__attribute__((target("avx2"))) void fastscan_block(const std::uint8_t* block,
                                                    const std::uint8_t* table, int segments,
                                                    std::uint16_t* out) {
  const __m256i low4 = _mm256_set1_epi8(15);
  const __m256i low8 = _mm256_set1_epi16(0xff);
  __m256i lo_even = _mm256_setzero_si256(), lo_odd = _mm256_setzero_si256();
  __m256i hi_even = _mm256_setzero_si256(), hi_odd = _mm256_setzero_si256();
  for (int s = 0; s < segments; s += 2) {  // two segments a register, one per 128-bit lane
    __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + s * 16));
    __m256i t = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(table + s * 16));
    __m256i lo = _mm256_shuffle_epi8(t, _mm256_and_si256(x, low4));
    __m256i hi = _mm256_shuffle_epi8(t, _mm256_and_si256(_mm256_srli_epi16(x, 4), low4));
    lo_even = _mm256_add_epi16(lo_even, _mm256_and_si256(lo, low8));
    lo_odd = _mm256_add_epi16(lo_odd, _mm256_srli_epi16(lo, 8));
    hi_even = _mm256_add_epi16(hi_even, _mm256_and_si256(hi, low8));
    hi_odd = _mm256_add_epi16(hi_odd, _mm256_srli_epi16(hi, 8));
  }
  alignas(32) std::uint16_t a[4][16];
  _mm256_store_si256(reinterpret_cast<__m256i*>(a[0]), lo_even);
  _mm256_store_si256(reinterpret_cast<__m256i*>(a[1]), lo_odd);
  _mm256_store_si256(reinterpret_cast<__m256i*>(a[2]), hi_even);
  _mm256_store_si256(reinterpret_cast<__m256i*>(a[3]), hi_odd);
  for (int j = 0; j < 8; j++) {  // the two lanes hold even and odd segments: add them
    out[2 * j] = static_cast<std::uint16_t>(a[0][j] + a[0][j + 8]);
    out[2 * j + 1] = static_cast<std::uint16_t>(a[1][j] + a[1][j + 8]);
    out[16 + 2 * j] = static_cast<std::uint16_t>(a[2][j] + a[2][j + 8]);
    out[16 + 2 * j + 1] = static_cast<std::uint16_t>(a[3][j] + a[3][j + 8]);
  }
}

Data make_data(int dim) {
  Data d;
  d.dim = dim;
  d.words = dim / 64;
  d.segments = dim / 4;
  std::mt19937_64 rng(11);
  d.codes.resize(static_cast<std::size_t>(kCodes) * d.words);
  for (auto& c : d.codes) c = rng();
  d.query.resize(dim);
  for (auto& q : d.query) q = static_cast<std::uint8_t>(rng() % 16);
  d.planes.assign(4 * d.words, 0);
  for (int i = 0; i < dim; i++) {
    for (int p = 0; p < 4; p++) {
      if (d.query[i] >> p & 1) d.planes[p * d.words + i / 64] |= std::uint64_t{1} << (i % 64);
    }
  }
  pack(&d);
  d.table.resize(static_cast<std::size_t>(d.segments) * 16);
  build_table(d, d.table.data());
  // Both layouts must give the same dot products, else the comparison means nothing.
  const auto dot4 = k::distance_kernels().bitplane_dot4;
  std::vector<std::uint16_t> out(kBlock);
  for (int b = 0; b < kCodes / kBlock; b++) {
    fastscan_block(&d.blocks[static_cast<std::size_t>(b) * d.segments * 16], d.table.data(),
                   d.segments, out.data());
    for (int j = 0; j < kBlock; j++) {
      std::uint32_t want = dot4(&d.codes[static_cast<std::size_t>(b * kBlock + j) * d.words],
                                d.planes.data(), static_cast<std::uint32_t>(d.words));
      if (want != out[j]) {
        std::fprintf(stderr, "fastscan_bench: code %d: %u != %u\n", b * kBlock + j, out[j], want);
        std::abort();
      }
    }
  }
  return d;
}

void bitplane(benchmark::State& state, const char* isa) {
  const k::DistanceKernels* table = k::distance_kernels_for(isa);
  if (table == nullptr) {
    state.SkipWithError("this CPU lacks the ISA");
    return;
  }
  Data d = make_data(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    std::uint32_t sum = 0;
    for (int i = 0; i < kCodes; i++) {
      sum += table->bitplane_dot4(&d.codes[static_cast<std::size_t>(i) * d.words], d.planes.data(),
                                  static_cast<std::uint32_t>(d.words));
    }
    benchmark::DoNotOptimize(sum);
  }
  state.counters["ns/code"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * kCodes,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void fastscan(benchmark::State& state) {
  if (!__builtin_cpu_supports("avx2")) {
    state.SkipWithError("this CPU lacks AVX2");
    return;
  }
  Data d = make_data(static_cast<int>(state.range(0)));
  std::vector<std::uint16_t> out(kCodes);
  for (auto _ : state) {
    for (int b = 0; b < kCodes / kBlock; b++) {
      fastscan_block(&d.blocks[static_cast<std::size_t>(b) * d.segments * 16], d.table.data(),
                     d.segments, &out[static_cast<std::size_t>(b) * kBlock]);
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["ns/code"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * kCodes,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void table(benchmark::State& state) {
  Data d = make_data(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    build_table(d, d.table.data());
    benchmark::DoNotOptimize(d.table.data());
  }
}

}  // namespace

BENCHMARK_CAPTURE(bitplane, avx512, "avx512")->Arg(832)->Arg(1536);
BENCHMARK_CAPTURE(bitplane, avx2, "avx2")->Arg(832)->Arg(1536);
BENCHMARK_CAPTURE(bitplane, scalar, "scalar")->Arg(832)->Arg(1536);
BENCHMARK(fastscan)->Arg(832)->Arg(1536);
BENCHMARK(table)->Arg(832)->Arg(1536);
BENCHMARK_MAIN();
