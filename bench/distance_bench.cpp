// Distance kernels of every ISA this CPU has, side by side, at common embedding sizes.
// Run: make bench && build/bench/bench/distance_bench
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/distance.h"

namespace k = ruvector::kernels;

namespace {

using KernelFn = float (*)(const float*, const float*, std::size_t);

void run(benchmark::State& state, const k::DistanceKernels* table,
         KernelFn k::DistanceKernels::*fn) {
  std::size_t n = static_cast<std::size_t>(state.range(0));
  std::mt19937 rng(7);
  std::normal_distribution<float> dist;
  std::vector<float> a(n), b(n);
  for (std::size_t i = 0; i < n; i++) {
    a[i] = dist(rng);
    b[i] = dist(rng);
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize((table->*fn)(a.data(), b.data(), n));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * n * 2 * sizeof(float));
}

void register_all() {
  for (const char* isa : {"avx512", "avx2", "scalar"}) {
    const k::DistanceKernels* table = k::distance_kernels_for(isa);
    if (table == nullptr) continue;
    for (auto [name, fn] : {std::pair{"l2_squared", &k::DistanceKernels::l2_squared},
                            std::pair{"inner_product", &k::DistanceKernels::inner_product}}) {
      benchmark::RegisterBenchmark((std::string(name) + "/" + isa).c_str(),
                                   [table, fn = fn](benchmark::State& s) { run(s, table, fn); })
          ->Arg(128)
          ->Arg(768)
          ->Arg(784)
          ->Arg(1536);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
