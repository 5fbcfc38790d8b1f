// The core of the rabitq index scan (rabitq/candidate_pool.h, rabitq/list_query.h): the
// order candidates and results come out in, refinement re-queues, the lower bounds against
// brute force, and that ruLake's batch search quantizes each list's query exactly as the
// index scan does.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>
#include <vector>

#include "rabitq/candidate_pool.h"
#include "rabitq/list_query.h"
#include "rabitq/metric.h"
#include "rabitq/query.h"
#include "rabitq/rotator.h"
#include "rulake/batch_search.h"
#include "rulake/collection_index.h"
#include "rulake/cpu_scan_kernel.h"
#include "test_rulake_image.h"

namespace rq = ruvector::rabitq;
namespace rl = ruvector::rulake;
using rq::Candidate;
using rq::Metric;

namespace {

rq::HeapTid tid(std::uint32_t block, std::uint16_t offset) {
  return rq::HeapTid{static_cast<std::uint16_t>(block >> 16),
                     static_cast<std::uint16_t>(block & 0xFFFF), offset};
}

Candidate candidate(float lower, rq::HeapTid t, std::uint32_t probe = rq::kRefined) {
  Candidate c{};
  c.lower = lower;
  c.tid = t;
  c.probe = probe;
  return c;
}

// A queue over malloc'd arrays of one element each, so that every growth path runs.
struct Queue {
  rq::CandidateQueue q;
  explicit Queue(rq::CandidateQueue::Order order = rq::CandidateQueue::Order::kByBound) {
    q.init(static_cast<Candidate*>(std::malloc(sizeof(Candidate))), 1,
           static_cast<Candidate*>(std::malloc(sizeof(Candidate))), 1, order, rq::malloc_growth());
  }
  ~Queue() {
    std::free(q.pool_array());
    std::free(q.heap_array());
  }
  // Everything, in the order the scan would take it.
  std::vector<Candidate> drain() {
    std::vector<Candidate> out;
    while (q.settle()) out.push_back(q.pop());
    return out;
  }
};

bool same(const Candidate& a, const Candidate& b) {
  return a.lower == b.lower && rq::tid_order(a.tid) == rq::tid_order(b.tid);
}

// Candidates with many equal bounds (a few distinct values) and distinct TIDs, some of
// whose blocks need the high half.
std::vector<Candidate> random_candidates(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_int_distribution<int> level(0, 40);
  std::vector<Candidate> out;
  for (std::size_t i = 0; i < n; i++) {
    std::uint32_t block = static_cast<std::uint32_t>(i / 7) * 40503u;  // crosses 65536
    out.push_back(candidate(static_cast<float>(level(gen)) / 8, tid(block, (i % 7) + 1)));
  }
  std::shuffle(out.begin(), out.end(), gen);
  return out;
}

std::vector<Candidate> sorted(std::vector<Candidate> v) {
  std::sort(v.begin(), v.end(),
            [](const Candidate& a, const Candidate& b) { return rq::earlier(a, b); });
  return v;
}

}  // namespace

TEST(CandidateTid, OrdersAsItemPointerCompare) {
  // Block first (high half before low half), then offset.
  EXPECT_LT(rq::tid_order(tid(1, 9)), rq::tid_order(tid(2, 1)));
  EXPECT_LT(rq::tid_order(tid(0xFFFF, 9)), rq::tid_order(tid(0x10000, 1)));
  EXPECT_LT(rq::tid_order(tid(5, 1)), rq::tid_order(tid(5, 2)));
  EXPECT_TRUE(rq::earlier(candidate(1, tid(9, 9)), candidate(2, tid(0, 1))));
  EXPECT_TRUE(rq::earlier(candidate(1, tid(3, 1)), candidate(1, tid(3, 2))));
  EXPECT_FALSE(rq::earlier(candidate(1, tid(3, 2)), candidate(1, tid(3, 2))));
}

// Pools up to 16384 (selected by key), larger ones (a 64th at a time, in place), and adds between
// pops as when the scan probes another list: every pop is the earliest of all that are queued.
TEST(CandidateQueue, PopsInBoundThenTidOrder) {
  for (std::size_t n :
       {1u, 5u, 31u, 33u, 700u, 2048u, 2049u, 4096u, 4097u, 16384u, 16385u, 20000u}) {
    const std::vector<Candidate> input = random_candidates(n, n);
    Queue queue;
    for (const Candidate& c : input) queue.q.add(c);
    EXPECT_EQ(queue.q.size(), n);
    const std::vector<Candidate> out = queue.drain();
    const std::vector<Candidate> want = sorted(input);
    ASSERT_EQ(out.size(), want.size());
    for (std::size_t i = 0; i < n; i++) ASSERT_TRUE(same(out[i], want[i])) << n << " at " << i;
  }
}

// NaN bounds (a damaged index's factors) would break the strict order the queue's sorts
// need: they count as -infinity, every candidate comes out, and all in order.
TEST(CandidateQueue, NanBoundsComeFirstAndNothingIsLost) {
  for (std::size_t n : {10u, 700u, 3000u, 9000u}) {
    std::vector<Candidate> input = random_candidates(n, n + 1);
    std::vector<Candidate> as_none = input;
    for (std::size_t i = 0; i < n; i += 3) {
      input[i].lower = std::nanf("");
      as_none[i].lower = -std::numeric_limits<float>::infinity();
    }
    Queue queue;
    for (const Candidate& c : input) queue.q.add(c);
    const std::vector<Candidate> out = queue.drain();
    const std::vector<Candidate> want = sorted(as_none);
    ASSERT_EQ(out.size(), want.size());
    for (std::size_t i = 0; i < n; i++) ASSERT_TRUE(same(out[i], want[i])) << n << " at " << i;
  }
}

TEST(CandidateQueue, AddsBetweenPopsKeepTheOrder) {
  const std::vector<Candidate> input = random_candidates(9000, 7);
  Queue queue;
  std::vector<Candidate> queued;  // brute force: what the queue should hold
  std::size_t next = 0;
  std::mt19937_64 gen(3);
  while (next < input.size() || !queued.empty()) {
    // A "list" of up to 3000 rows, then up to 200 pops.
    std::size_t batch = std::min<std::size_t>(gen() % 3000, input.size() - next);
    for (std::size_t i = 0; i < batch; i++, next++) {
      queue.q.add(input[next]);
      queued.push_back(input[next]);
    }
    for (std::size_t pops = gen() % 200; pops > 0 && !queued.empty(); pops--) {
      ASSERT_TRUE(queue.q.settle());
      auto best = std::min_element(
          queued.begin(), queued.end(),
          [](const Candidate& a, const Candidate& b) { return rq::earlier(a, b); });
      ASSERT_TRUE(same(queue.q.top(), *best));
      ASSERT_TRUE(same(queue.q.pop(), *best));
      queued.erase(best);
    }
  }
  EXPECT_FALSE(queue.q.settle());
}

// With ex codes a candidate enters with its loose bound; at the top it gets its tight one
// (never smaller) and must come out in the order of the tight bounds.
TEST(CandidateQueue, RefinementRequeuesUnderTheTightBound) {
  std::mt19937_64 gen(11);
  std::uniform_real_distribution<float> u(0, 1);
  for (std::size_t n : {40u, 3000u}) {
    std::vector<Candidate> input;
    std::vector<float> tight(n);
    for (std::size_t i = 0; i < n; i++) {
      tight[i] = std::round(u(gen) * 64) / 16;
      float loose = tight[i] - std::round(u(gen) * 32) / 16;
      input.push_back(
          candidate(loose, tid(static_cast<std::uint32_t>(i), 1), static_cast<std::uint32_t>(i)));
    }
    Queue queue;
    for (const Candidate& c : input) queue.q.add(c);
    std::vector<Candidate> out;
    std::size_t refined = 0;
    while (queue.q.settle()) {
      const Candidate& top = queue.q.top();
      if (top.probe != rq::kRefined) {
        queue.q.requeue_top(tight[top.probe]);  // probe doubles as the row here
        refined++;
      } else {
        out.push_back(queue.q.pop());
      }
    }
    EXPECT_EQ(refined, n);
    std::vector<Candidate> want;
    for (std::size_t i = 0; i < n; i++)
      want.push_back(candidate(tight[i], tid(static_cast<std::uint32_t>(i), 1)));
    want = sorted(want);
    ASSERT_EQ(out.size(), n);
    for (std::size_t i = 0; i < n; i++) ASSERT_TRUE(same(out[i], want[i])) << n << " at " << i;
  }
}

TEST(CandidateQueue, UnorderedComesOutByTid) {
  std::vector<Candidate> input;
  for (std::uint32_t i = 0; i < 5000; i++) input.push_back(candidate(0, tid(5000 - i, 1)));
  Queue queue(rq::CandidateQueue::Order::kUnordered);
  for (const Candidate& c : input) queue.q.add(c);
  const std::vector<Candidate> out = queue.drain();
  ASSERT_EQ(out.size(), input.size());
  for (std::size_t i = 0; i < out.size(); i++)
    EXPECT_EQ(rq::tid_order(out[i].tid), rq::tid_order(tid(static_cast<std::uint32_t>(i) + 1, 1)));
}

TEST(ResultQueue, NearestFirstTiesByTid) {
  rq::ResultQueue results;
  results.init(static_cast<rq::Result*>(std::malloc(sizeof(rq::Result))), 1, rq::malloc_growth());
  std::mt19937_64 gen(5);
  std::vector<rq::Result> input;
  for (std::uint32_t i = 0; i < 1000; i++)
    input.push_back(rq::Result{static_cast<double>(gen() % 50), tid(i * 977 % 1000, 1)});
  for (const rq::Result& r : input) results.push(r);
  std::sort(input.begin(), input.end(),
            [](const rq::Result& a, const rq::Result& b) { return rq::earlier(a, b); });
  for (const rq::Result& r : input) {
    ASSERT_FALSE(results.empty());
    const rq::Result got = results.pop();
    EXPECT_EQ(got.distance, r.distance);
    EXPECT_EQ(rq::tid_order(got.tid), rq::tid_order(r.tid));
  }
  EXPECT_TRUE(results.empty());
  std::free(results.array());
}

namespace {

// Eight clusters, centres with sd 2, ids from 0.
rulake_test::TestImage make_image(Metric metric, std::uint32_t dim, std::size_t rows,
                                  std::uint32_t lists, std::size_t nqueries, std::uint64_t seed) {
  return rulake_test::make_test_image(metric, dim, rows, lists, nqueries, seed, {8, 2.0f, 0});
}

// The index scan's query side: the query prepared and rotated (rotate_rows is a Rotator).
std::vector<float> rotated_query(const rl::ImageView& v, const float* query) {
  std::vector<float> prepared(v.info.dim), rotated(v.info.padded_dim);
  EXPECT_TRUE(
      rq::prepare_vector(v.info.metric, query, static_cast<int>(v.info.dim), prepared.data()));
  rq::Rotator(v.info.dim, v.info.seed).rotate(prepared.data(), rotated.data());
  return rotated;
}

}  // namespace

// Every row's lower bound against its exact distance. The bound is probabilistic: with the
// scan's default epsilon (1.9) a few rows may exceed it, with epsilon 4 (the documented
// "exact" setting) almost none; with epsilon 0 (the bare estimate, unbiased) many do, so
// the margin is what keeps the bound below. The list bound is exact (triangle inequality).
TEST(ListQuery, LowerBoundsHoldAgainstBruteForce) {
  for (Metric metric : {Metric::kL2, Metric::kCosine, Metric::kInnerProduct}) {
    const rulake_test::TestImage image = make_image(metric, 100, 3000, 12, 5, 21);
    const rl::ImageView v = rl::image_view(image.bytes.data(), image.bytes.size());
    const std::uint32_t padded = v.info.padded_dim;
    std::vector<float> scratch(padded);
    std::vector<std::uint64_t> planes(rq::query_code_words(padded));
    std::size_t rows = 0, over_0 = 0, over_19 = 0, over_4 = 0;
    for (std::size_t q = 0; q < 5; q++) {
      const float* query = image.queries.data() + q * image.dim;
      const std::vector<float> rotated = rotated_query(v, query);
      const float query_norm =
          std::sqrt(std::inner_product(rotated.begin(), rotated.end(), rotated.begin(), 0.0f));
      for (std::uint32_t list = 0; list < v.info.lists; list++) {
        const float* centroid = v.centroids + std::size_t{list} * padded;
        rq::ListQuery lq;
        rq::prepare_list_query(metric, rotated.data(), centroid, padded, scratch.data(),
                               planes.data(), &lq);
        float radius = 0;
        double nearest = INFINITY;
        for (std::uint64_t s = v.list_start[list]; s < v.list_start[list + 1]; s++) {
          const rq::CodeFactors& f = v.factors[s];
          const float est = rq::estimate_ip(lq.code, planes.data(), v.codes + s * (padded / 64), f);
          const double exact = rq::exact_distance(metric, v.vectors + s * image.dim, query,
                                                  static_cast<int>(image.dim));
          const double tolerance = 1e-4 * (1 + std::fabs(exact));
          auto over = [&](float eps) {
            return rq::lower_bound(metric, eps, est, f.residual_norm, f.error_unit, lq.code.norm,
                                   lq.centroid_dot) > exact + tolerance;
          };
          over_0 += over(0.0f);
          over_19 += over(1.9f);
          over_4 += over(4.0f);
          rows++;
          radius = std::max(radius, f.residual_norm);
          nearest = std::min(nearest, exact);
        }
        const float key = rq::centroid_key(metric, rotated.data(), centroid, padded);
        EXPECT_LE(rq::list_lower_bound(metric, key, radius, query_norm),
                  nearest + 1e-3 * (1 + std::fabs(nearest)))
            << "metric " << static_cast<int>(metric) << " list " << list;
      }
    }
    ASSERT_EQ(rows, 5u * 3000);
    const int m = static_cast<int>(metric);
    EXPECT_GE(over_0, rows / 5) << "metric " << m;
    EXPECT_LE(over_19, rows / 20) << "metric " << m;
    EXPECT_LE(over_4, rows / 2000) << "metric " << m;
    std::printf(
        "metric %d: of %zu rows, bound above the exact distance: %zu (epsilon 0), "
        "%zu (1.9), %zu (4)\n",
        m, rows, over_0, over_19, over_4);
  }
}

namespace {

// A scan kernel that records what search_batch asks of the CPU kernel.
struct Recorded {
  std::vector<RvScanJob> jobs;
  std::vector<std::uint64_t> planes;
};
Recorded* recording = nullptr;

int record_scan(void* self, const RvScanImage* image, int metric, const RvScanJob* jobs,
                size_t njobs, const uint64_t* planes, size_t plane_words, float* out, size_t nout,
                char* err, size_t errlen) {
  recording->jobs.assign(jobs, jobs + njobs);
  recording->planes.assign(planes, planes + plane_words);
  const RvScanKernel& cpu = rl::cpu_scan_kernel();
  (void)self;
  return cpu.scan(cpu.self, image, metric, jobs, njobs, planes, plane_words, out, nout, err,
                  errlen);
}

}  // namespace

// ruLake's batch search and the index scan build each probed list's query side with the
// same code: the same probe order, planes and factors, bit for bit.
TEST(ListQuery, BatchSearchMatchesTheIndexScansListSetup) {
  for (Metric metric : {Metric::kL2, Metric::kCosine, Metric::kInnerProduct}) {
    const rulake_test::TestImage image = make_image(metric, 200, 2000, 16, 1, 33);
    const rl::ImageView v = rl::image_view(image.bytes.data(), image.bytes.size());
    RvScanKernel kernel = rl::cpu_scan_kernel();
    kernel.scan = record_scan;
    Recorded recorded;
    recording = &recorded;
    rl::SearchParams params;
    params.probes = 5;
    std::vector<std::vector<rl::Hit>> hits;
    rl::search_batch(image.bytes.data(), image.bytes.size(), image.queries.data(), 1, params,
                     kernel, 0, &hits);
    recording = nullptr;
    ASSERT_EQ(recorded.jobs.size(), 5u);

    const std::uint32_t padded = v.info.padded_dim;
    const std::vector<float> rotated = rotated_query(v, image.queries.data());
    std::vector<std::pair<float, std::uint32_t>> order;
    for (std::uint32_t list = 0; list < v.info.lists; list++)
      order.emplace_back(rq::centroid_key(metric, rotated.data(),
                                          v.centroids + std::size_t{list} * padded, padded),
                         list);
    std::sort(order.begin(), order.end());
    std::vector<float> scratch(padded);
    std::vector<std::uint64_t> planes(rq::query_code_words(padded));
    for (std::size_t p = 0; p < 5; p++) {
      const std::uint32_t list = order[p].second;
      rq::ListQuery lq;
      rq::prepare_list_query(metric, rotated.data(), v.centroids + std::size_t{list} * padded,
                             padded, scratch.data(), planes.data(), &lq);
      const RvScanJob& job = recorded.jobs[p];
      EXPECT_EQ(job.first, v.list_start[list]) << p;
      EXPECT_EQ(job.low, lq.code.low);
      EXPECT_EQ(job.delta, lq.code.delta);
      EXPECT_EQ(job.sum, lq.code.sum);
      EXPECT_EQ(job.sqrt_d, lq.code.sqrt_d);
      EXPECT_EQ(job.norm, lq.code.norm);
      if (metric == Metric::kInnerProduct) {
        EXPECT_EQ(job.centroid_dot, lq.centroid_dot);
      }
      ASSERT_LE(job.planes + planes.size(), recorded.planes.size());
      EXPECT_EQ(0, std::memcmp(recorded.planes.data() + job.planes, planes.data(),
                               planes.size() * sizeof(std::uint64_t)))
          << "planes of probe " << p;
    }
  }
}

TEST(BatchSearch, InterruptCheckCancels) {
  const rulake_test::TestImage image = make_image(Metric::kL2, 64, 500, 4, 50, 3);
  static int calls;
  calls = 0;
  ruvector::InterruptCheck cancel_at_third = [] {
    if (++calls == 3) throw std::runtime_error("canceled");
  };
  std::vector<std::vector<rl::Hit>> hits;
  EXPECT_THROW(
      rl::search_batch(image.bytes.data(), image.bytes.size(), image.queries.data(), 50,
                       rl::SearchParams{}, rl::cpu_scan_kernel(), 0, &hits, cancel_at_third),
      std::runtime_error);
  EXPECT_EQ(calls, 3);
}
