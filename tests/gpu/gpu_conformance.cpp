// Conformance of a scan kernel library (ruvector_cuda.so, or the host reference kernel)
// with the CPU kernel: random images of many shapes and every metric, searched in batches.
//   - scan phase: every estimate the library writes is bitwise equal to the CPU kernel's
//     for the same jobs (memcmp), so the candidate sets are identical;
//   - rerank: exact distances agree to 1e-5 relative (they may differ in rounding);
//   - final hits: the same ids in the same order as the CPU search, except that rows whose
//     exact distances tie within rounding may trade places.
// Usage: gpu_conformance LIBRARY [--quick]. Exit 0 when it conforms, 1 when not, 77 (the
// CTest skip code) when the library is not built or finds no device.
#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "rulake/batch_search.h"
#include "rulake/cpu_scan_kernel.h"
#include "rulake/scan_dispatch.h"

namespace rl = ruvector::rulake;

namespace {

struct Tally {
  std::size_t estimates = 0;
  std::size_t estimate_mismatches = 0;
  std::size_t distances = 0;
  std::size_t distance_mismatches = 0;
  double worst_relative = 0;
  std::size_t queries = 0;
  std::size_t hit_mismatches = 0;
  std::size_t tie_swaps = 0;
  std::string failure;
};

// The kernel under test and the CPU kernel, side by side: the search runs on the CPU's
// answers, and every answer of the other kernel is compared with them.
struct Comparing {
  const RvScanKernel* cpu;
  const RvScanKernel* other;
  Tally* tally;
};

int compare_scan(void* self, const RvScanImage* image, int metric, const RvScanJob* jobs,
                 size_t njobs, const uint64_t* planes, size_t plane_words, float* out, size_t nout,
                 char* err, size_t errlen) {
  auto* c = static_cast<Comparing*>(self);
  if (c->cpu->scan(c->cpu->self, image, metric, jobs, njobs, planes, plane_words, out, nout, err,
                   errlen) != 0)
    return 1;
  std::vector<float> theirs(nout, std::nanf(""));
  if (c->other->scan(c->other->self, image, metric, jobs, njobs, planes, plane_words, theirs.data(),
                     nout, err, errlen) != 0) {
    c->tally->failure = err;
    return 1;
  }
  for (std::size_t i = 0; i < nout; i++) {
    if (std::memcmp(&out[i], &theirs[i], sizeof(float)) != 0) c->tally->estimate_mismatches++;
  }
  c->tally->estimates += nout;
  return 0;
}

int compare_rerank(void* self, const RvScanImage* image, int metric, const float* queries,
                   size_t nqueries, const RvRerankJob* jobs, size_t njobs, double* out, char* err,
                   size_t errlen) {
  auto* c = static_cast<Comparing*>(self);
  if (c->cpu->rerank(c->cpu->self, image, metric, queries, nqueries, jobs, njobs, out, err,
                     errlen) != 0)
    return 1;
  std::vector<double> theirs(njobs);
  if (c->other->rerank(c->other->self, image, metric, queries, nqueries, jobs, njobs, theirs.data(),
                       err, errlen) != 0) {
    c->tally->failure = err;
    return 1;
  }
  for (std::size_t i = 0; i < njobs; i++) {
    double scale = std::max(1.0, std::fabs(out[i]));
    double rel = std::fabs(out[i] - theirs[i]) / scale;
    if (!(rel <= 1e-5)) c->tally->distance_mismatches++;
    if (rel > c->tally->worst_relative) c->tally->worst_relative = rel;
  }
  c->tally->distances += njobs;
  return 0;
}

struct Shape {
  std::uint32_t dim;
  std::size_t rows;
  std::uint32_t lists;
  std::uint32_t probes;
  std::size_t queries;
};

void run_shape(const Shape& shape, rl::Metric metric, const RvScanKernel& other, Tally* tally,
               std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0, 1);
  std::vector<float> rows(shape.rows * shape.dim);
  std::vector<std::int64_t> ids(shape.rows);
  // Clustered: 8 centres plus noise, so that lists differ in size.
  std::vector<float> centres(8 * shape.dim);
  for (float& x : centres) x = 3 * normal(rng);
  for (std::size_t i = 0; i < shape.rows; i++) {
    ids[i] = static_cast<std::int64_t>(i * 7 + 1);
    const float* centre = centres.data() + (i % 8) * shape.dim;
    for (std::uint32_t j = 0; j < shape.dim; j++) rows[i * shape.dim + j] = centre[j] + normal(rng);
  }
  rl::IndexParams params;
  params.dim = shape.dim;
  params.metric = metric;
  params.seed = seed;
  params.lists = shape.lists;
  params.threads = 2;
  std::vector<unsigned char> image = rl::build_index(params, ids.data(), rows.data(), shape.rows);
  std::vector<float> queries(shape.queries * shape.dim);
  for (float& x : queries) x = 2 * normal(rng);

  rl::SearchParams search;
  search.k = 10;
  search.rerank_factor = 8;
  search.probes = shape.probes;
  Comparing comparing{&rl::cpu_scan_kernel(), &other, tally};
  RvScanKernel compare_kernel = *comparing.cpu;
  compare_kernel.name = "comparing";
  compare_kernel.self = &comparing;
  compare_kernel.scan = compare_scan;
  compare_kernel.rerank = compare_rerank;
  std::vector<std::vector<rl::Hit>> cpu_hits, compared_hits, other_hits;
  rl::search_batch(image.data(), image.size(), queries.data(), shape.queries, search,
                   rl::cpu_scan_kernel(), 0, &cpu_hits);
  rl::search_batch(image.data(), image.size(), queries.data(), shape.queries, search,
                   compare_kernel, 0, &compared_hits);
  // The kernel alone, twice under one key: the second call finds the image on the device.
  for (int pass = 0; pass < 2; pass++) {
    rl::search_batch(image.data(), image.size(), queries.data(), shape.queries, search, other,
                     seed + 1, &other_hits);
    for (std::size_t q = 0; q < shape.queries; q++) {
      tally->queries++;
      const auto& mine = cpu_hits[q];
      const auto& theirs = other_hits[q];
      bool same = theirs.size() == mine.size(), swapped = false;
      // Ids may trade places only where the exact distances tie within rounding (cosine in
      // one dimension: every distance is 0 or 2 in exact arithmetic).
      for (std::size_t i = 0; same && i < mine.size(); i++) {
        if (theirs[i].id == mine[i].id) continue;
        double scale = std::max(1.0f, std::fabs(mine[i].distance));
        if (std::fabs(theirs[i].distance - mine[i].distance) / scale <= 1e-5)
          swapped = true;
        else
          same = false;
      }
      if (swapped && same) tally->tie_swaps++;
      if (!same) {
        tally->hit_mismatches++;
        std::printf("  differing hits: dim %u rows %zu metric %d query %zu\n", shape.dim,
                    shape.rows, static_cast<int>(metric), q);
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: gpu_conformance LIBRARY [--quick]\n");
    return 2;
  }
  const char* path = argv[1];
  const bool quick = argc > 2 && std::strcmp(argv[2], "--quick") == 0;
  struct stat st;
  if (stat(path, &st) != 0) {
    std::printf("SKIPPED: %s is not built (make WITH_CUDA=1 kernels)\n", path);
    return 77;
  }
  RvScanKernel kernel;
  std::string error;
  if (!rl::load_scan_kernel(path, &kernel, &error)) {
    if (error.find("no CUDA device") != std::string::npos) {
      std::printf("SKIPPED: %s\n", error.c_str());
      return 77;
    }
    std::printf("FAILED to load %s: %s\n", path, error.c_str());
    return 1;
  }
  std::printf("kernel %s (deterministic %d, min_batch %u, max_dim %u)\n", kernel.name,
              kernel.deterministic, kernel.min_batch, kernel.max_dim);

  std::vector<Shape> shapes = {
      {1, 50, 2, 0, 3},       {3, 1, 1, 0, 2},        {63, 500, 7, 3, 9},
      {64, 2000, 16, 4, 33},  {65, 777, 5, 0, 17},    {128, 3000, 30, 6, 64},
      {300, 1500, 12, 12, 5}, {768, 4000, 40, 8, 40}, {1536, 600, 6, 2, 7},
  };
  if (!quick) shapes.push_back({768, 30000, 120, 10, 200});
  const rl::Metric metrics[] = {rl::Metric::kL2, rl::Metric::kInnerProduct, rl::Metric::kCosine};
  Tally tally;
  std::uint64_t seed = 1;
  for (const Shape& shape : shapes) {
    for (rl::Metric metric : metrics) {
      try {
        run_shape(shape, metric, kernel, &tally, seed++);
      } catch (const std::exception& e) {
        std::printf("FAILED: dim %u rows %zu metric %d: %s\n", shape.dim, shape.rows,
                    static_cast<int>(metric), e.what());
        return 1;
      }
      if (!tally.failure.empty()) {
        std::printf("FAILED: %s\n", tally.failure.c_str());
        return 1;
      }
    }
  }
  std::printf("estimates compared %zu, bitwise mismatches %zu\n", tally.estimates,
              tally.estimate_mismatches);
  std::printf("exact distances compared %zu, beyond 1e-5 %zu, worst relative difference %.3g\n",
              tally.distances, tally.distance_mismatches, tally.worst_relative);
  std::printf(
      "queries compared %zu, hit lists differing %zu (ids swapped within exact ties: %zu)\n",
      tally.queries, tally.hit_mismatches, tally.tie_swaps);
  bool ok = tally.estimates > 0 && tally.estimate_mismatches == 0 &&
            tally.distance_mismatches == 0 && tally.hit_mismatches == 0;
  std::printf("%s\n", ok ? "CONFORMS" : "DOES NOT CONFORM");
  return ok ? 0 : 1;
}
