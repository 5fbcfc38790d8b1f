// Distance kernels of every ISA this CPU has, side by side, at common embedding sizes
// (128: SIFT, 768: BERT, 784: Fashion-MNIST, 1536: OpenAI ada-002). After Google
// Benchmark's own output it prints one table with each ISA's speed-up over scalar.
// Run: make bench && build/bench/bench/distance_bench [--benchmark_repetitions=5]
#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "kernels/cpu/distance.h"

namespace k = ruvector::kernels;

namespace {

using KernelFn = float (*)(const float*, const float*, std::size_t);

constexpr const char* kIsas[] = {"avx512", "avx2", "scalar"};
constexpr std::pair<const char*, KernelFn k::DistanceKernels::*> kKernels[] = {
    {"l2_squared", &k::DistanceKernels::l2_squared},
    {"inner_product", &k::DistanceKernels::inner_product}};
constexpr int kDims[] = {128, 768, 784, 1536};

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
  KernelFn kernel = table->*fn;
  for (auto _ : state) {
    benchmark::DoNotOptimize(a.data());  // the inputs may have changed: no hoisting
    benchmark::DoNotOptimize(kernel(a.data(), b.data(), n));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * n * 2 * sizeof(float));
}

// The console output as usual, plus a closing table: nanoseconds per call for each ISA
// and the ratio to scalar, the baseline measured in the same run. With repetitions, the
// fastest repetition counts (the least disturbed by other load).
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      // Aggregates-only output hands us no single runs; take the median then.
      bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      if ((run.run_type != Run::RT_Iteration && !median) || run.error_occurred) continue;
      double& best = ns_[run.run_name.function_name + "/" + run.run_name.args];
      double ns = run.GetAdjustedRealTime();  // the unit is nanoseconds, set below
      if (best == 0 || ns < best) best = ns;
    }
  }

  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf("\n%-14s %5s", "kernel", "dim");
    for (const char* isa : kIsas) std::printf(" %10s", (std::string(isa) + " ns").c_str());
    for (const char* isa : kIsas) std::printf(" %8s", (std::string(isa) + " x").c_str());
    std::printf("\n");
    for (const auto& kernel : kKernels) {
      for (int dim : kDims) {
        double scalar = lookup(kernel.first, "scalar", dim);
        std::printf("%-14s %5d", kernel.first, dim);
        for (const char* isa : kIsas) print(lookup(kernel.first, isa, dim), "%11.1f", 11);
        for (const char* isa : kIsas) {
          double ns = lookup(kernel.first, isa, dim);
          print(ns > 0 && scalar > 0 ? scalar / ns : 0, "%8.1fx", 9);
        }
        std::printf("\n");
      }
    }
  }

 private:
  double lookup(const char* kernel, const char* isa, int dim) {
    auto it = ns_.find(std::string(kernel) + "/" + isa + "/" + std::to_string(dim));
    return it == ns_.end() ? 0 : it->second;
  }

  static void print(double value, const char* format, int width) {
    if (value > 0) {
      std::printf(format, value);
    } else {
      std::printf("%*s", width, "-");  // ISA missing on this CPU, or filtered out
    }
  }

  std::map<std::string, double> ns_;
};

void register_all() {
  for (const char* isa : kIsas) {
    const k::DistanceKernels* table = k::distance_kernels_for(isa);
    if (table == nullptr) continue;
    for (const auto& kernel : kKernels) {
      auto fn = kernel.second;
      auto* b =
          benchmark::RegisterBenchmark((std::string(kernel.first) + "/" + isa).c_str(),
                                       [table, fn](benchmark::State& s) { run(s, table, fn); });
      b->Unit(benchmark::kNanosecond);
      for (int dim : kDims) b->Arg(dim);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
