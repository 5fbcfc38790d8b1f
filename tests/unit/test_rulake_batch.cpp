// Batch search through scan kernels: equal to one search at a time, chunked batches, bad
// queries named, the ruvector.gpu policy, and the kernel library loader (against the host
// reference kernel, tests/gpu/reference_kernel.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "rabitq/list_query.h"
#include "rulake/batch_search.h"
#include "rulake/cpu_scan_kernel.h"
#include "rulake/scan_dispatch.h"
#include "test_rulake_image.h"

namespace rl = ruvector::rulake;
using ruvector::rabitq::Metric;

namespace {

using Fixture = rulake_test::TestImage;

// Ten clusters, centres with sd 3, ids from 1000.
Fixture make(Metric metric, std::uint32_t dim, std::size_t rows, std::size_t nqueries,
             std::uint32_t lists, std::uint64_t seed) {
  return rulake_test::make_test_image(metric, dim, rows, lists, nqueries, seed, {10, 3.0f, 1000});
}

void expect_same_as_single(const Fixture& f, const rl::SearchParams& params,
                           const std::vector<std::vector<rl::Hit>>& batch, std::size_t stride,
                           std::size_t first = 0) {
  for (std::size_t q = first; q < batch.size(); q += stride) {
    std::vector<rl::Hit> one;
    rl::search_index(f.bytes.data(), f.bytes.size(), f.queries.data() + q * f.dim, params, &one);
    ASSERT_EQ(one.size(), batch[q].size()) << "query " << q;
    for (std::size_t i = 0; i < one.size(); i++) {
      EXPECT_EQ(one[i].id, batch[q][i].id) << "query " << q << " rank " << i;
      EXPECT_EQ(std::memcmp(&one[i].distance, &batch[q][i].distance, sizeof(float)), 0);
    }
  }
}

TEST(RulakeBatch, EqualsOneSearchAtATime) {
  const Metric metrics[] = {Metric::kL2, Metric::kInnerProduct, Metric::kCosine};
  for (Metric m : metrics) {
    for (std::uint32_t dim : {5u, 64u, 200u}) {
      Fixture f = make(m, dim, 2500, 37, 25, dim + static_cast<int>(m));
      rl::SearchParams params;
      params.k = 10;
      params.probes = 4;
      std::vector<std::vector<rl::Hit>> batch;
      rl::search_batch(f.bytes.data(), f.bytes.size(), f.queries.data(), 37, params,
                       rl::cpu_scan_kernel(), 0, &batch);
      ASSERT_EQ(batch.size(), 37u);
      EXPECT_EQ(batch[0].size(), 10u);
      expect_same_as_single(f, params, batch, 1);
    }
  }
}

TEST(RulakeBatch, LargeBatchesAreChunkedWithoutChangingAnswers) {
  // Every list probed: 3000 queries × 3000 rows exceed one chunk of estimates.
  Fixture f = make(Metric::kL2, 8, 3000, 3000, 10, 5);
  rl::SearchParams params;
  params.k = 5;
  params.rerank_factor = 4;
  std::vector<std::vector<rl::Hit>> batch;
  rl::search_batch(f.bytes.data(), f.bytes.size(), f.queries.data(), 3000, params,
                   rl::cpu_scan_kernel(), 0, &batch);
  ASSERT_EQ(batch.size(), 3000u);
  expect_same_as_single(f, params, batch, 97);
  expect_same_as_single(f, params, batch, 1, 2999);
}

TEST(RulakeBatch, KLargerThanTheImageAndEmptyInputs) {
  Fixture f = make(Metric::kL2, 16, 30, 4, 3, 9);
  rl::SearchParams params;
  params.k = 1000;
  std::vector<std::vector<rl::Hit>> batch;
  rl::search_batch(f.bytes.data(), f.bytes.size(), f.queries.data(), 4, params,
                   rl::cpu_scan_kernel(), 0, &batch);
  for (const auto& hits : batch) EXPECT_EQ(hits.size(), 30u);
  rl::search_batch(f.bytes.data(), f.bytes.size(), f.queries.data(), 0, params,
                   rl::cpu_scan_kernel(), 0, &batch);
  EXPECT_TRUE(batch.empty());
  params.k = 0;
  rl::search_batch(f.bytes.data(), f.bytes.size(), f.queries.data(), 4, params,
                   rl::cpu_scan_kernel(), 0, &batch);
  ASSERT_EQ(batch.size(), 4u);
  EXPECT_TRUE(batch[3].empty());
}

std::string error_of(const Fixture& f, std::size_t nqueries, const float* queries) {
  rl::SearchParams params;
  std::vector<std::vector<rl::Hit>> batch;
  try {
    rl::search_batch(f.bytes.data(), f.bytes.size(), queries, nqueries, params,
                     rl::cpu_scan_kernel(), 0, &batch);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

// The probe plan is exactly the order of every list's exact key (ties by list number), for
// each metric, at a few probe counts up to every list but one: the sequence the access
// method probes in.
TEST(RulakeBatch, ProbePlanIsTheExactKeyOrder) {
  const Metric metrics[] = {Metric::kL2, Metric::kInnerProduct, Metric::kCosine};
  for (Metric m : metrics) {
    // 600 dimensions: L2 keys past the farthest kept stop early (l2_squared_until).
    for (std::uint32_t dim : {5u, 64u, 200u, 600u}) {
      Fixture f = make(m, dim, 2500, 37, 60, dim * 3 + static_cast<int>(m));
      const rl::ImageView v = rl::image_view(f.bytes.data(), f.bytes.size());
      const std::uint32_t lists = v.info.lists, padded = v.info.padded_dim;
      for (std::uint32_t probes : {1u, 7u, lists - 1}) {
        rl::SearchParams params;
        params.probes = probes;
        rl::ProbePlan plan;
        rl::plan_probes(v, f.queries.data(), 37, params, &plan);
        ASSERT_EQ(plan.probes, probes);
        for (std::size_t q = 0; q < 37; q++) {
          const float* rotated = plan.rotated.data() + q * padded;
          std::vector<std::pair<float, std::uint32_t>> all(lists);
          for (std::uint32_t c = 0; c < lists; c++) {
            all[c] = {ruvector::rabitq::centroid_key(m, rotated,
                                                     v.centroids + std::size_t{c} * padded, padded),
                      c};
          }
          std::sort(all.begin(), all.end());
          for (std::uint32_t p = 0; p < probes; p++) {
            ASSERT_EQ(plan.lists[q * probes + p], all[p].second)
                << "metric " << static_cast<int>(m) << " dim " << dim << " probes " << probes
                << " query " << q << " rank " << p;
          }
        }
      }
    }
  }
}

// The CPU kernel's L2 rerank stops reading a row once it is farther than the k-th nearest;
// a copy of the kernel (another address) computes every distance. The hits must be the
// same, distances bit for bit, also when rows tie: each row below is stored twice.
TEST(RulakeBatch, PrunedRerankKeepsTheHitsOfEveryDistance) {
  for (std::uint32_t dim : {40u, 300u, 784u}) {
    const std::size_t rows = 1200;
    std::mt19937_64 gen(dim);
    std::normal_distribution<float> noise(0.0f, 1.0f);
    std::vector<float> data(rows * dim);
    std::vector<std::int64_t> ids(rows);
    for (std::size_t i = 0; i < rows; i++) {
      ids[i] = static_cast<std::int64_t>(rows - i);  // ties resolved by id, not by slot
      for (std::uint32_t j = 0; j < dim; j++)
        data[i * dim + j] = i % 2 == 1 ? data[(i - 1) * dim + j] : noise(gen);
    }
    rl::IndexParams p;
    p.dim = dim;
    p.metric = Metric::kL2;
    p.seed = dim;
    p.lists = 12;
    const std::vector<unsigned char> image = rl::build_index(p, ids.data(), data.data(), rows);
    std::vector<float> queries(25 * dim);
    for (std::size_t q = 0; q < 25; q++) {  // near rows, so that the k-th is near too
      for (std::uint32_t j = 0; j < dim; j++)
        queries[q * dim + j] = data[(q * 40) * dim + j] + 0.3f * noise(gen);
    }
    const RvScanKernel every_distance = rl::cpu_scan_kernel();
    for (std::uint32_t k : {1u, 3u, 10u, 40u}) {
      rl::SearchParams params;
      params.k = k;
      params.probes = 3;
      params.rerank_factor = 8;
      std::vector<std::vector<rl::Hit>> pruned, full;
      rl::search_batch(image.data(), image.size(), queries.data(), 25, params,
                       rl::cpu_scan_kernel(), 0, &pruned);
      rl::search_batch(image.data(), image.size(), queries.data(), 25, params, every_distance, 0,
                       &full);
      for (std::size_t q = 0; q < 25; q++) {
        ASSERT_EQ(pruned[q].size(), full[q].size()) << "dim " << dim << " k " << k;
        for (std::size_t i = 0; i < full[q].size(); i++) {
          EXPECT_EQ(pruned[q][i].id, full[q][i].id)
              << "dim " << dim << " k " << k << " query " << q << " rank " << i;
          EXPECT_EQ(std::memcmp(&pruned[q][i].distance, &full[q][i].distance, sizeof(float)), 0);
        }
      }
    }
  }
}

// Rows that tie in exact distance but not in estimate: q + d and q - d for integer d. With k
// odd the k-th place is such a tie, which the smaller id must win wherever the scan met it;
// a rerank that dropped rows level with the k-th would lose it for about half the pairs.
TEST(RulakeBatch, PrunedRerankKeepsTiesAtTheKth) {
  const std::uint32_t dim = 300;
  const std::size_t pairs = 150;
  std::mt19937_64 gen(21);
  std::uniform_int_distribution<int> step(-3, 3);
  std::vector<float> centre(dim), data(2 * pairs * dim);
  for (float& x : centre) x = static_cast<float>(step(gen) * 10);
  std::vector<std::int64_t> ids(2 * pairs);
  for (std::size_t j = 0; j < pairs; j++) {
    const bool flip = gen() % 2 == 1;
    ids[2 * j] = static_cast<std::int64_t>(2 * j + (flip ? 1 : 0));
    ids[2 * j + 1] = static_cast<std::int64_t>(2 * j + (flip ? 0 : 1));
    for (std::uint32_t i = 0; i < dim; i++) {
      const float d = static_cast<float>(step(gen));
      data[2 * j * dim + i] = centre[i] + d;
      data[(2 * j + 1) * dim + i] = centre[i] - d;
    }
  }
  rl::IndexParams p;
  p.dim = dim;
  p.metric = Metric::kL2;
  p.seed = 5;
  p.lists = 4;
  const std::vector<unsigned char> image = rl::build_index(p, ids.data(), data.data(), 2 * pairs);
  const RvScanKernel every_distance = rl::cpu_scan_kernel();
  for (std::uint32_t k = 1; k < 60; k += 2) {
    rl::SearchParams params;
    params.k = k;
    params.probes = 0;  // every list
    params.rerank_factor = 100;
    std::vector<std::vector<rl::Hit>> pruned, full;
    rl::search_batch(image.data(), image.size(), centre.data(), 1, params, rl::cpu_scan_kernel(),
                     0, &pruned);
    rl::search_batch(image.data(), image.size(), centre.data(), 1, params, every_distance, 0,
                     &full);
    ASSERT_EQ(pruned[0].size(), k);
    ASSERT_EQ(full[0].size(), k);
    for (std::size_t i = 0; i < k; i++) {
      EXPECT_EQ(pruned[0][i].id, full[0][i].id) << "k " << k << " rank " << i;
      EXPECT_EQ(pruned[0][i].distance, full[0][i].distance) << "k " << k << " rank " << i;
    }
  }
}

TEST(RulakeBatch, BadQueriesAreNamed) {
  Fixture f = make(Metric::kCosine, 4, 100, 3, 4, 11);
  std::vector<float> q = f.queries;
  q[2 * 4 + 1] = std::nanf("");
  EXPECT_EQ(error_of(f, 3, q.data()), "query 3 has a NaN or infinite value");
  EXPECT_EQ(error_of(f, 1, q.data() + 8), "query has a NaN or infinite value");
  q = f.queries;
  std::fill(q.begin() + 4, q.begin() + 8, 0.0f);
  EXPECT_EQ(error_of(f, 3, q.data()), "cosine distance is undefined for a zero query (query 2)");
  EXPECT_EQ(error_of(f, 1, q.data() + 4), "cosine distance is undefined for a zero query");
}

int failing_scan(void*, const RvScanImage*, int, const RvScanJob*, size_t, const uint64_t*, size_t,
                 float*, size_t, char* err, size_t errlen) {
  std::snprintf(err, errlen, "device lost");
  return 1;
}

TEST(RulakeBatch, KernelFailureIsAnError) {
  Fixture f = make(Metric::kL2, 16, 200, 2, 4, 12);
  RvScanKernel broken = rl::cpu_scan_kernel();
  broken.name = "broken";
  broken.scan = failing_scan;
  rl::SearchParams params;
  std::vector<std::vector<rl::Hit>> batch;
  try {
    rl::search_batch(f.bytes.data(), f.bytes.size(), f.queries.data(), 2, params, broken, 0,
                     &batch);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "broken scan kernel failed: device lost");
  }
}

RvScanKernel fake_gpu(int deterministic, std::uint32_t min_batch) {
  RvScanKernel k = rl::cpu_scan_kernel();
  k.name = "fake";
  k.deterministic = deterministic;
  k.min_batch = min_batch;
  return k;
}

TEST(RulakeBatch, GpuPolicy) {
  const RvScanKernel* cpu = &rl::cpu_scan_kernel();
  RvScanKernel gpu = fake_gpu(1, 32);
  RvScanKernel loose = fake_gpu(0, 32);
  using rl::GpuMode;
  EXPECT_EQ(rl::choose_scan_kernel(GpuMode::kOff, &gpu, "", 1000, true).kernel, cpu);
  EXPECT_EQ(rl::choose_scan_kernel(GpuMode::kAuto, nullptr, "no CUDA device", 1000, true).kernel,
            cpu);
  EXPECT_EQ(rl::choose_scan_kernel(GpuMode::kAuto, &gpu, "", 31, true).kernel, cpu);
  EXPECT_EQ(rl::choose_scan_kernel(GpuMode::kAuto, &gpu, "", 32, true).kernel, &gpu);
  // A kernel that does not promise identical estimates serves only eventual collections.
  EXPECT_EQ(rl::choose_scan_kernel(GpuMode::kAuto, &loose, "", 64, true).kernel, cpu);
  EXPECT_EQ(rl::choose_scan_kernel(GpuMode::kAuto, &loose, "", 64, false).kernel, &loose);
  EXPECT_EQ(rl::choose_scan_kernel(GpuMode::kOn, &gpu, "", 1, true).kernel, &gpu);
  EXPECT_EQ(rl::choose_scan_kernel(GpuMode::kOn, &loose, "", 1, false).kernel, &loose);
  rl::KernelChoice none = rl::choose_scan_kernel(GpuMode::kOn, nullptr, "no CUDA device", 1, true);
  EXPECT_EQ(none.kernel, nullptr);
  EXPECT_EQ(none.error, "no GPU scan kernel is usable: no CUDA device");
  rl::KernelChoice refused = rl::choose_scan_kernel(GpuMode::kOn, &loose, "", 1, true);
  EXPECT_EQ(refused.kernel, nullptr);
  EXPECT_NE(refused.error.find("not deterministic"), std::string::npos) << refused.error;
}

TEST(RulakeBatch, LoaderRefusesWhatIsNotAKernelLibrary) {
  RvScanKernel k;
  std::string error;
  EXPECT_FALSE(rl::load_scan_kernel("/nonexistent/ruvector_cuda.so", &k, &error));
  EXPECT_NE(error.find("No such file"), std::string::npos) << error;
  EXPECT_FALSE(rl::load_scan_kernel("libm.so.6", &k, &error));
  EXPECT_EQ(error, "libm.so.6 has no ruvector_scan_kernel entry point");
  setenv("RUVECTOR_REFERENCE_KERNEL", "fail", 1);
  EXPECT_FALSE(rl::load_scan_kernel(REFERENCE_SCAN_KERNEL, &k, &error));
  EXPECT_EQ(error, "no device (reference kernel told to fail)");
  unsetenv("RUVECTOR_REFERENCE_KERNEL");
}

TEST(RulakeBatch, LoadedKernelAnswersAsTheCpu) {
  RvScanKernel k;
  std::string error;
  ASSERT_TRUE(rl::load_scan_kernel(REFERENCE_SCAN_KERNEL, &k, &error)) << error;
  EXPECT_STREQ(k.name, "reference");
  EXPECT_EQ(k.deterministic, 1);
  EXPECT_EQ(k.min_batch, 8u);
  Fixture f = make(Metric::kL2, 96, 3000, 20, 30, 13);
  rl::SearchParams params;
  params.probes = 5;
  std::vector<std::vector<rl::Hit>> cpu, loaded;
  rl::search_batch(f.bytes.data(), f.bytes.size(), f.queries.data(), 20, params,
                   rl::cpu_scan_kernel(), 0, &cpu);
  rl::search_batch(f.bytes.data(), f.bytes.size(), f.queries.data(), 20, params, k, 77, &loaded);
  for (std::size_t q = 0; q < 20; q++) {
    ASSERT_EQ(cpu[q].size(), loaded[q].size());
    for (std::size_t i = 0; i < cpu[q].size(); i++) {
      EXPECT_EQ(cpu[q][i].id, loaded[q][i].id);
      EXPECT_NEAR(cpu[q][i].distance, loaded[q][i].distance, 1e-4 * cpu[q][i].distance + 1e-6);
    }
  }
  setenv("RUVECTOR_REFERENCE_KERNEL", "nondeterministic", 1);
  ASSERT_TRUE(rl::load_scan_kernel(REFERENCE_SCAN_KERNEL, &k, &error)) << error;
  EXPECT_EQ(k.deterministic, 0);
  unsetenv("RUVECTOR_REFERENCE_KERNEL");
}

}  // namespace
