// Decoding pglz-compressed vectors: src/util/pglz_decode against Postgres' own
// pglz_decompress (libpgcommon), on Fashion-MNIST rows compressed by Postgres' compressor
// as a column of the type's default storage (main) keeps them. Every rerank from such a
// table and every distance over it decodes one row.
// Run: build/bench/bench/pglz_bench [--benchmark_repetitions=5]
// Rows: the first ROWS (default 5000) training images of $FASHION_MNIST_DIR
// (default /usr/share/datasets/fashion-mnist).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../tools/idx_file.h"
#include "pg_pglz.h"
#include "util/pglz_decode.h"

namespace {

struct Rows {
  std::vector<std::vector<char>> compressed;
  std::size_t raw_size = 0;
};

const Rows& rows() {
  static const Rows r = [] {
    const char* env = std::getenv("FASHION_MNIST_DIR");
    const std::string dir = env != nullptr ? env : "/usr/share/datasets/fashion-mnist";
    const char* limit = std::getenv("ROWS");
    std::size_t dim = 0;
    const std::vector<float> images =
        read_idx_images(dir + "/train-images-idx3-ubyte.gz",
                        limit != nullptr ? std::strtoul(limit, nullptr, 10) : 5000, &dim);
    Rows out;
    const std::size_t n = images.size() / dim;
    for (std::size_t i = 0; i < n; i++) {
      const std::vector<char> raw =
          ruvector::bench::vector_payload(&images[i * dim], static_cast<std::uint32_t>(dim));
      out.raw_size = raw.size();
      std::vector<char> packed = ruvector::bench::toast_pglz(raw, 24 + 8);
      if (!packed.empty()) out.compressed.push_back(std::move(packed));
    }
    std::fprintf(stderr, "%zu of %zu rows compressed, %zu bytes each raw\n", out.compressed.size(),
                 n, out.raw_size);
    return out;
  }();
  return r;
}

void BM_RuvectorPglzDecode(benchmark::State& state) {
  const Rows& r = rows();
  std::vector<std::uint8_t> out(r.raw_size + ruvector::util::kPglzDecodeSlack);
  for (auto _ : state) {
    for (const auto& c : r.compressed) {
      if (!ruvector::util::pglz_decode(reinterpret_cast<const std::uint8_t*>(c.data()), c.size(),
                                       out.data(), r.raw_size)) {
        state.SkipWithError("a row did not decode");
        return;
      }
      benchmark::DoNotOptimize(out.data());
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * r.compressed.size()));
}

void BM_PostgresPglzDecompress(benchmark::State& state) {
  const Rows& r = rows();
  std::vector<char> out(r.raw_size);
  for (auto _ : state) {
    for (const auto& c : r.compressed) {
      if (pglz_decompress(c.data(), static_cast<std::int32_t>(c.size()), out.data(),
                          static_cast<std::int32_t>(r.raw_size), true) < 0) {
        state.SkipWithError("a row did not decompress");
        return;
      }
      benchmark::DoNotOptimize(out.data());
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * r.compressed.size()));
}

// The two decoders give the same bytes on every row, or the timings compare nothing.
void BM_SameBytes(benchmark::State& state) {
  const Rows& r = rows();
  std::vector<std::uint8_t> ours(r.raw_size + ruvector::util::kPglzDecodeSlack);
  std::vector<char> theirs(r.raw_size);
  for (auto _ : state) {
    for (const auto& c : r.compressed) {
      const bool ok = ruvector::util::pglz_decode(reinterpret_cast<const std::uint8_t*>(c.data()),
                                                  c.size(), ours.data(), r.raw_size) &&
                      pglz_decompress(c.data(), static_cast<std::int32_t>(c.size()), theirs.data(),
                                      static_cast<std::int32_t>(r.raw_size),
                                      true) == static_cast<std::int32_t>(r.raw_size) &&
                      std::memcmp(ours.data(), theirs.data(), r.raw_size) == 0;
      if (!ok) {
        state.SkipWithError("the decoders disagree");
        return;
      }
    }
  }
}

BENCHMARK(BM_SameBytes)->Iterations(1);
BENCHMARK(BM_RuvectorPglzDecode)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_PostgresPglzDecompress)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
