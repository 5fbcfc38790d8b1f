// GPU against CPU batch scan on one ruLake image: the #9 promotion gate (p95 at least 2×
// lower, or cost per million queries at least 30% lower, at identical recall@10).
//   gpu_scan [ROWS [QUERIES [BATCH [PROBES [LIBRARY]]]]]
// defaults 1000000 1000 100 16 kernels/cuda/ruvector_cuda.so; 768 dimensions, 1000
// clusters (tools/clustered_data.h, seed 42), lists from the row count, rerank × 20.
// Prints one row per kernel: throughput, p50/p95 latency of a batch (a query is answered
// when its batch is), recall@10 against brute force on the first 100 queries, and how many
// queries' ids differ from the CPU's. The CPU kernel runs on one core, as in a backend.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "rabitq/metric.h"
#include "rulake/batch_search.h"
#include "rulake/cpu_scan_kernel.h"
#include "rulake/scan_dispatch.h"
#include "tools/clustered_data.h"

namespace rl = ruvector::rulake;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

struct Row {
  std::string kernel;
  double qps;
  double p50_ms;
  double p95_ms;
  double recall;
  std::size_t differing;
};

}  // namespace

int main(int argc, char** argv) {
  const std::size_t rows = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000000;
  const std::size_t nq = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1000;
  const std::size_t batch = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 100;
  const std::uint32_t probes = argc > 4 ? std::strtoul(argv[4], nullptr, 10) : 16;
  const std::string library = argc > 5 ? argv[5] : "kernels/cuda/ruvector_cuda.so";
  constexpr int kDim = 768;
  constexpr std::size_t kTruthQueries = 100;
  if (rows < 1000 || nq < 1 || batch < 1) {
    std::fprintf(stderr, "usage: gpu_scan [ROWS>=1000 [QUERIES [BATCH [PROBES [LIBRARY]]]]]\n");
    return 2;
  }

  ruvector::tools::ClusteredData data(kDim, 1000, 42);
  std::vector<float> base(rows * kDim), queries(nq * kDim);
  std::vector<std::int64_t> ids(rows);
  for (std::size_t i = 0; i < rows; i++) {
    data.draw(&base[i * kDim]);
    ids[i] = static_cast<std::int64_t>(i + 1);
  }
  for (std::size_t i = 0; i < nq; i++) data.draw(&queries[i * kDim]);

  auto t = Clock::now();
  rl::IndexParams params;
  params.dim = kDim;
  params.seed = 42;
  params.threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<unsigned char> image = rl::build_index(params, ids.data(), base.data(), rows);
  const rl::ImageInfo info = rl::image_info(image.data(), image.size());
  std::printf("image: %zu rows × %d, %u lists, %.0f MB, built in %.1f s on %u threads\n", rows,
              kDim, info.lists, image.size() / 1e6, seconds_since(t), params.threads);

  // Brute-force truth for the first queries.
  const std::size_t truth_n = std::min(kTruthQueries, nq);
  std::vector<std::vector<std::int64_t>> truth(truth_n);
  for (std::size_t q = 0; q < truth_n; q++) {
    std::vector<std::pair<double, std::int64_t>> all(rows);
    for (std::size_t i = 0; i < rows; i++)
      all[i] = {ruvector::rabitq::exact_distance(ruvector::rabitq::Metric::kL2, &base[i * kDim],
                                                 &queries[q * kDim], kDim),
                ids[i]};
    std::partial_sort(all.begin(), all.begin() + 10, all.end());
    for (int i = 0; i < 10; i++) truth[q].push_back(all[i].second);
  }

  std::vector<const RvScanKernel*> kernels = {&rl::cpu_scan_kernel()};
  RvScanKernel gpu;
  std::string error;
  if (rl::load_scan_kernel(library.c_str(), &gpu, &error))
    kernels.push_back(&gpu);
  else
    std::printf("GPU kernel not measured: %s\n", error.c_str());

  rl::SearchParams search;
  search.k = 10;
  search.rerank_factor = 20;
  search.probes = probes;
  std::vector<std::vector<rl::Hit>> cpu_hits;
  std::vector<Row> table;
  for (const RvScanKernel* kernel : kernels) {
    std::vector<std::vector<rl::Hit>> hits(nq), part;
    // One batch untimed: the GPU uploads the image on first use.
    rl::search_batch(image.data(), image.size(), queries.data(), std::min(batch, nq), search,
                     *kernel, 42, &part);
    std::vector<double> latencies;
    auto start = Clock::now();
    for (std::size_t b = 0; b < nq; b += batch) {
      std::size_t n = std::min(batch, nq - b);
      auto tb = Clock::now();
      rl::search_batch(image.data(), image.size(), &queries[b * kDim], n, search, *kernel, 42,
                       &part);
      latencies.push_back(seconds_since(tb) * 1e3);
      std::copy(part.begin(), part.end(), hits.begin() + b);
    }
    double total = seconds_since(start);
    std::sort(latencies.begin(), latencies.end());
    auto pct = [&](double p) {
      return latencies[std::min(latencies.size() - 1,
                                static_cast<std::size_t>(p * (latencies.size() - 1) + 0.5))];
    };
    double found = 0;
    for (std::size_t q = 0; q < truth_n; q++) {
      for (const rl::Hit& h : hits[q]) found += std::count(truth[q].begin(), truth[q].end(), h.id);
    }
    if (cpu_hits.empty()) cpu_hits = hits;
    std::size_t differing = 0;
    for (std::size_t q = 0; q < nq; q++) {
      bool same = hits[q].size() == cpu_hits[q].size();
      for (std::size_t i = 0; same && i < hits[q].size(); i++)
        same = hits[q][i].id == cpu_hits[q][i].id;
      differing += same ? 0 : 1;
    }
    table.push_back(
        Row{kernel->name, nq / total, pct(0.5), pct(0.95), found / (10.0 * truth_n), differing});
  }

  std::printf("\n%zu queries in batches of %zu, probes %u, rerank x20\n", nq, batch, probes);
  std::printf(
      "| kernel | QPS | batch p50 ms | batch p95 ms | recall@10 | ids differing from CPU |\n");
  std::printf("|---|---:|---:|---:|---:|---:|\n");
  for (const Row& r : table)
    std::printf("| %s | %.0f | %.1f | %.1f | %.3f | %zu |\n", r.kernel.c_str(), r.qps, r.p50_ms,
                r.p95_ms, r.recall, r.differing);
  if (table.size() == 2)
    std::printf("\nGPU/CPU: throughput %.2fx, p95 %.2fx lower\n", table[1].qps / table[0].qps,
                table[0].p95_ms / table[1].p95_ms);
  return 0;
}
