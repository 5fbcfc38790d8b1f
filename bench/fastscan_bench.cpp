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
#include <cstring>
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

// The same table, two segments a register: each 128-bit lane broadcasts its segment's
// four query values with byte shuffles and keeps value b where bit b of the entry is set.
// The segment count must be even.
__attribute__((target("avx2"))) void build_table_avx2(const Data& d, std::uint8_t* table) {
  const __m256i bit[4] = {_mm256_setr_epi8(0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1,
                                           0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1),
                          _mm256_setr_epi8(0, 0, -1, -1, 0, 0, -1, -1, 0, 0, -1, -1, 0, 0, -1, -1,
                                           0, 0, -1, -1, 0, 0, -1, -1, 0, 0, -1, -1, 0, 0, -1, -1),
                          _mm256_setr_epi8(0, 0, 0, 0, -1, -1, -1, -1, 0, 0, 0, 0, -1, -1, -1, -1,
                                           0, 0, 0, 0, -1, -1, -1, -1, 0, 0, 0, 0, -1, -1, -1, -1),
                          _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, -1, -1, -1, -1, -1, -1, -1, -1,
                                           0, 0, 0, 0, 0, 0, 0, 0, -1, -1, -1, -1, -1, -1, -1, -1)};
  __m256i pick[4];
  for (int b = 0; b < 4; b++) {
    pick[b] = _mm256_setr_m128i(_mm_set1_epi8(static_cast<char>(b)),
                                _mm_set1_epi8(static_cast<char>(4 + b)));
  }
  for (int s = 0; s < d.segments; s += 2) {
    std::int64_t eight;
    std::memcpy(&eight, &d.query[4 * s], 8);
    const __m256i q = _mm256_set1_epi64x(eight);
    __m256i t = _mm256_and_si256(_mm256_shuffle_epi8(q, pick[0]), bit[0]);
    for (int b = 1; b < 4; b++) {
      t = _mm256_add_epi8(t, _mm256_and_si256(_mm256_shuffle_epi8(q, pick[b]), bit[b]));
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(table + s * 16), t);
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

// The same with AVX-512BW: four segments a register, so the count must be a multiple of 4.
__attribute__((target("avx512f,avx512bw"))) void fastscan_block_avx512(const std::uint8_t* block,
                                                                       const std::uint8_t* table,
                                                                       int segments,
                                                                       std::uint16_t* out) {
  const __m512i low4 = _mm512_set1_epi8(15);
  const __m512i low8 = _mm512_set1_epi16(0xff);
  __m512i lo_even = _mm512_setzero_si512(), lo_odd = _mm512_setzero_si512();
  __m512i hi_even = _mm512_setzero_si512(), hi_odd = _mm512_setzero_si512();
  for (int s = 0; s < segments; s += 4) {
    __m512i x = _mm512_loadu_si512(block + s * 16);
    __m512i t = _mm512_loadu_si512(table + s * 16);
    __m512i lo = _mm512_shuffle_epi8(t, _mm512_and_si512(x, low4));
    __m512i hi = _mm512_shuffle_epi8(t, _mm512_and_si512(_mm512_srli_epi16(x, 4), low4));
    lo_even = _mm512_add_epi16(lo_even, _mm512_and_si512(lo, low8));
    lo_odd = _mm512_add_epi16(lo_odd, _mm512_srli_epi16(lo, 8));
    hi_even = _mm512_add_epi16(hi_even, _mm512_and_si512(hi, low8));
    hi_odd = _mm512_add_epi16(hi_odd, _mm512_srli_epi16(hi, 8));
  }
  alignas(64) std::uint16_t a[4][32];
  _mm512_store_si512(a[0], lo_even);
  _mm512_store_si512(a[1], lo_odd);
  _mm512_store_si512(a[2], hi_even);
  _mm512_store_si512(a[3], hi_odd);
  for (int j = 0; j < 8; j++) {  // the four lanes hold segments 4i .. 4i + 3: add them
    for (int h = 0; h < 2; h++) {
      out[16 * h + 2 * j] = static_cast<std::uint16_t>(a[2 * h][j] + a[2 * h][j + 8] +
                                                       a[2 * h][j + 16] + a[2 * h][j + 24]);
      out[16 * h + 2 * j + 1] = static_cast<std::uint16_t>(
          a[2 * h + 1][j] + a[2 * h + 1][j + 8] + a[2 * h + 1][j + 16] + a[2 * h + 1][j + 24]);
    }
  }
}

bool has_avx512bw() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
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
  // Every table and kernel must give the same dot products, else the comparison means
  // nothing.
  if (__builtin_cpu_supports("avx2")) {
    std::vector<std::uint8_t> simd(d.table.size());
    build_table_avx2(d, simd.data());
    if (simd != d.table) {
      std::fprintf(stderr, "fastscan_bench: the AVX2 table differs\n");
      std::abort();
    }
  }
  const auto dot4 = k::distance_kernels().bitplane_dot4;
  std::vector<std::uint16_t> out(kBlock);
  for (int kernel = 0; kernel < 2; kernel++) {
    if (kernel == 1 && !has_avx512bw()) break;
    for (int b = 0; b < kCodes / kBlock; b++) {
      const std::uint8_t* block = &d.blocks[static_cast<std::size_t>(b) * d.segments * 16];
      if (kernel == 0) {
        fastscan_block(block, d.table.data(), d.segments, out.data());
      } else {
        fastscan_block_avx512(block, d.table.data(), d.segments, out.data());
      }
      for (int j = 0; j < kBlock; j++) {
        std::uint32_t want = dot4(&d.codes[static_cast<std::size_t>(b * kBlock + j) * d.words],
                                  d.planes.data(), static_cast<std::uint32_t>(d.words));
        if (want != out[j]) {
          std::fprintf(stderr, "fastscan_bench: kernel %d, code %d: %u != %u\n", kernel,
                       b * kBlock + j, out[j], want);
          std::abort();
        }
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

void fastscan_avx512(benchmark::State& state) {
  if (!has_avx512bw()) {
    state.SkipWithError("this CPU lacks AVX-512BW");
    return;
  }
  Data d = make_data(static_cast<int>(state.range(0)));
  std::vector<std::uint16_t> out(kCodes);
  for (auto _ : state) {
    for (int b = 0; b < kCodes / kBlock; b++) {
      fastscan_block_avx512(&d.blocks[static_cast<std::size_t>(b) * d.segments * 16],
                            d.table.data(), d.segments, &out[static_cast<std::size_t>(b) * kBlock]);
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

void table_avx2(benchmark::State& state) {
  if (!__builtin_cpu_supports("avx2")) {
    state.SkipWithError("this CPU lacks AVX2");
    return;
  }
  Data d = make_data(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    build_table_avx2(d, d.table.data());
    benchmark::DoNotOptimize(d.table.data());
  }
}

}  // namespace

BENCHMARK_CAPTURE(bitplane, avx512, "avx512")->Arg(832)->Arg(1536);
BENCHMARK_CAPTURE(bitplane, avx2, "avx2")->Arg(832)->Arg(1536);
BENCHMARK_CAPTURE(bitplane, scalar, "scalar")->Arg(832)->Arg(1536);
BENCHMARK(fastscan)->Arg(832)->Arg(1536);
BENCHMARK(fastscan_avx512)->Arg(832)->Arg(1536);
BENCHMARK(table)->Arg(832)->Arg(1536);
BENCHMARK(table_avx2)->Arg(832)->Arg(1536);
BENCHMARK_MAIN();
