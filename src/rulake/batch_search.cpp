// See batch_search.h. Queries are taken in chunks so that the estimates of one chunk stay
// under kChunkEstimates floats whatever the batch size.
#include "rulake/batch_search.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <tuple>

#include "kernels/cpu/distance.h"
#include "rabitq/query.h"
#include "rabitq/rotator.h"
#include "rulake/best_candidates.h"
#include "rulake/cpu_scan_kernel.h"
#include "rulake/search_steps.h"
#include "util/error.h"

namespace ruvector::rulake {

namespace {

constexpr std::size_t kChunkEstimates = std::size_t{8} << 20;
// The CPU kernel gains nothing from long calls, and a call is as long as the search goes
// without checking for a cancel: about 20 ms per million estimates on one core.
constexpr std::size_t kCpuChunkEstimates = std::size_t{1} << 20;

// One query's share of a chunk: its jobs and where its estimates start.
struct QueryPlan {
  std::size_t first_job;
  std::size_t jobs;
  std::uint64_t estimates;
};

// "query" for a search of one, "query 3" in a batch.
std::string query_name(std::size_t index, std::size_t count) {
  return count == 1 ? std::string("query") : "query " + std::to_string(index + 1);
}

// Non-finite values are refused before anything else; a zero cosine query only when there
// is something to search (as the access method does).
void check_finite(const float* queries, std::size_t count, std::uint32_t dim) {
  for (std::size_t q = 0; q < count; q++) {
    for (std::uint32_t j = 0; j < dim; j++) {
      if (!std::isfinite(queries[q * dim + j]))
        throw std::invalid_argument(query_name(q, count) + " has a NaN or infinite value");
    }
  }
}

void check_direction(Metric metric, const float* queries, std::size_t count, std::uint32_t dim,
                     float* prepared) {
  for (std::size_t q = 0; q < count; q++) {
    if (!rabitq::prepare_vector(metric, queries + q * dim, static_cast<int>(dim), prepared)) {
      std::string which = count == 1 ? "" : " (" + query_name(q, count) + ")";
      throw std::invalid_argument("cosine distance is undefined for a zero query" + which);
    }
  }
}

}  // namespace

void check_queries(Metric metric, std::uint32_t dim, const float* queries, std::size_t nqueries,
                   bool direction) {
  check_finite(queries, nqueries, dim);
  if (!direction) return;
  std::vector<float> prepared(dim);
  check_direction(metric, queries, nqueries, dim, prepared.data());
}

void plan_probes(const ImageView& v, const float* queries, std::size_t nqueries,
                 const SearchParams& params, ProbePlan* out, InterruptCheck interrupt) {
  if (v.centroids == nullptr)
    fail(ErrorKind::kIntegrity, "rulake index image holds no centroids of its own");
  const std::uint32_t dim = v.info.dim;
  const std::uint32_t padded = v.info.padded_dim;
  const std::uint32_t probes =
      params.probes == 0 ? v.info.lists : std::min(params.probes, v.info.lists);
  out->probes = probes;
  out->padded_dim = padded;
  out->rotated.resize(nqueries * padded);
  out->lists.resize(nqueries * probes);
  const rabitq::Rotator rotator(dim, v.info.seed);
  std::vector<float> prepared(dim);
  RankScratch rank_scratch;
  for (std::size_t q = 0; q < nqueries; q++) {
    check_interrupt(interrupt);
    rank_query(v, rotator, queries + q * dim, probes, prepared.data(),
               out->rotated.data() + q * padded, &rank_scratch, out->lists.data() + q * probes);
  }
}

void search_batch(const void* image, std::size_t size, const float* queries, std::size_t nqueries,
                  const SearchParams& params, const RvScanKernel& kernel, std::uint64_t image_key,
                  std::vector<std::vector<Hit>>* out, InterruptCheck interrupt) {
  search_view(image_view(image, size), queries, nqueries, params, kernel, image_key, out,
              interrupt);
}

void search_view(const ImageView& v, const float* queries, std::size_t nqueries,
                 const SearchParams& params, const RvScanKernel& kernel, std::uint64_t image_key,
                 std::vector<std::vector<Hit>>* out, InterruptCheck interrupt,
                 const ProbePlan* plan) {
  const std::uint32_t dim = v.info.dim;
  const std::uint32_t padded = v.info.padded_dim;
  out->assign(nqueries, {});
  std::vector<float> prepared(dim);
  check_finite(queries, nqueries, dim);
  if (params.k == 0 || v.info.rows == 0 || nqueries == 0) return;
  if (v.centroids == nullptr)
    fail(ErrorKind::kIntegrity, "rulake index image holds no centroids of its own");
  check_direction(v.info.metric, queries, nqueries, dim, prepared.data());
  if (padded > kernel.max_dim)
    fail(ErrorKind::kProgramLimit, std::string(kernel.name) + " kernel handles at most " +
                                       std::to_string(kernel.max_dim) + " padded dimensions");

  const RvScanImage scan_image{image_key,   v.info.rows,
                               padded / 64, dim,
                               v.codes,     reinterpret_cast<const RvCodeFactors*>(v.factors),
                               v.vectors};
  const int metric = static_cast<int>(v.info.metric);
  const std::uint32_t probes =
      params.probes == 0 ? v.info.lists : std::min(params.probes, v.info.lists);
  const std::size_t keep = std::min<std::uint64_t>(
      static_cast<std::uint64_t>(params.k) * std::max(1u, params.rerank_factor), v.info.rows);
  if (plan != nullptr && (plan->probes != probes || plan->padded_dim != padded ||
                          plan->lists.size() < nqueries * probes))
    throw std::invalid_argument("probe plan does not fit the image or the queries");
  const rabitq::Rotator rotator(dim, v.info.seed);
  // A kernel that wants batches (a GPU) gets large chunks; the CPU one short calls.
  const std::size_t chunk_estimates = kernel.min_batch > 1 ? kChunkEstimates : kCpuChunkEstimates;

  std::vector<float> rotated(padded), residual(padded);
  RankScratch rank_scratch;
  std::vector<std::uint32_t> lists(probes);
  std::vector<RvScanJob> jobs;
  std::vector<std::uint64_t> planes;
  std::vector<float> estimates;
  std::vector<QueryPlan> plans;
  BestCandidates best;
  std::vector<RvRerankJob> rerank_jobs;
  std::vector<double> exact;
  char err[256];

  for (std::size_t begin = 0; begin < nqueries;) {
    jobs.clear();
    planes.clear();
    plans.clear();
    std::uint64_t total = 0;
    std::size_t end = begin;
    while (end < nqueries && (end == begin || total < chunk_estimates)) {
      check_interrupt(interrupt);
      const float* query_rotated = rotated.data();
      const std::uint32_t* query_lists = lists.data();
      if (plan != nullptr) {
        query_rotated = plan->rotated.data() + end * padded;
        query_lists = plan->lists.data() + end * probes;
      } else {
        rank_query(v, rotator, queries + end * dim, probes, prepared.data(), rotated.data(),
                   &rank_scratch, lists.data());
      }
      QueryPlan query_plan{jobs.size(), 0, total};
      plan_query(v, query_rotated, query_lists, probes, &residual, &jobs, &planes, &total);
      query_plan.jobs = jobs.size() - query_plan.first_job;
      plans.push_back(query_plan);
      end++;
    }
    estimates.resize(total);
    err[0] = '\0';
    if (kernel.scan(kernel.self, &scan_image, metric, jobs.data(), jobs.size(), planes.data(),
                    planes.size(), estimates.data(), estimates.size(), err, sizeof(err)) != 0)
      kernel_failed(kernel, "scan", err);

    // The best `keep` estimates of each query are its rerank candidates.
    rerank_jobs.clear();
    std::vector<std::size_t> first_candidate;
    // The CPU kernel's L2 rerank knows k and skips the rest of a row once it is too far
    // (cpu_rerank_l2_nearest); other kernels and metrics, and rows too short to stop
    // early, have every distance computed.
    const bool pruned =
        &kernel == &cpu_scan_kernel() && metric == RV_METRIC_L2 && dim > kernels::kCheckFloats;
    for (std::size_t q = begin; q < end; q++) {
      check_interrupt(interrupt);
      const QueryPlan& query_plan = plans[q - begin];
      best.reset(keep);
      offer_rows(v, params, jobs.data() + query_plan.first_job, query_plan.jobs, estimates.data(),
                 &best);
      first_candidate.push_back(rerank_jobs.size());
      for (const BestCandidates::Candidate& c : pruned ? best.finish_sorted() : best.finish())
        rerank_jobs.push_back(
            RvRerankJob{std::get<2>(c), static_cast<std::uint32_t>(q - begin), 0});
    }
    first_candidate.push_back(rerank_jobs.size());
    exact.resize(rerank_jobs.size());
    err[0] = '\0';
    if (pruned) {
      for (std::size_t q = begin; q < end; q++) {
        std::size_t from = first_candidate[q - begin], to = first_candidate[q - begin + 1];
        cpu_rerank_l2_nearest(scan_image, queries + q * dim, rerank_jobs.data() + from, to - from,
                              params.k, exact.data() + from);
      }
    } else if (kernel.rerank(kernel.self, &scan_image, metric, queries + begin * dim, end - begin,
                             rerank_jobs.data(), rerank_jobs.size(), exact.data(), err,
                             sizeof(err)) != 0) {
      kernel_failed(kernel, "rerank", err);
    }

    for (std::size_t q = begin; q < end; q++) {
      check_interrupt(interrupt);
      std::size_t from = first_candidate[q - begin], to = first_candidate[q - begin + 1];
      append_nearest(v, rerank_jobs.data() + from, exact.data() + from, to - from, params.k,
                     &(*out)[q]);
    }
    begin = end;
  }
}

void search_index(const void* image, std::size_t size, const float* query,
                  const SearchParams& params, std::vector<Hit>* out) {
  std::vector<std::vector<Hit>> hits;
  search_batch(image, size, query, 1, params, cpu_scan_kernel(), 0, &hits);
  *out = std::move(hits[0]);
}

}  // namespace ruvector::rulake
