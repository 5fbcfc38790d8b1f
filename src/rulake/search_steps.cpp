// See search_steps.h.
#include "rulake/search_steps.h"

#include <algorithm>
#include <string>

#include "ivf/centroid_codes.h"
#include "kernels/cpu/distance.h"
#include "rabitq/list_query.h"
#include "rabitq/query.h"
#include "util/error.h"

namespace ruvector::rulake {

void rank_query(const ImageView& v, const rabitq::Rotator& rotator, const float* query,
                std::uint32_t probes, float* prepared, float* rotated, RankScratch* scratch,
                std::uint32_t* lists) {
  rabitq::prepare_vector(v.info.metric, query, static_cast<int>(v.info.dim), prepared);
  rotator.rotate(prepared, rotated);
  const std::uint32_t padded = v.info.padded_dim;
  const std::uint32_t count = v.info.lists;
  auto centroid = [&](std::uint32_t c) { return v.centroids + std::size_t{c} * padded; };
  std::vector<std::pair<float, std::uint32_t>>& order = scratch->order;
  if (probes == 0 || probes >= count || padded <= kernels::kCheckFloats ||
      v.centroid_codes.codes == nullptr) {
    // Few dimensions: the float centroids stay in cache, and a key costs what a bound does
    // (4 shards of 245 lists at 128 dimensions: 17 µs a query so, 22 µs with the bounds).
    order.resize(count);
    for (std::uint32_t c = 0; c < count; c++)
      order[c] = {rabitq::centroid_key(v.info.metric, rotated, centroid(c), padded), c};
    std::partial_sort(order.begin(), order.begin() + probes, order.end());
    for (std::uint32_t p = 0; p < probes; p++) lists[p] = order[p].second;
    return;
  }
  // 4 shards of 245 centroids of 832 floats overflow a 2 MB L2 on every query. A lower bound
  // of every key from the centroids' int8 codes reads a quarter of those bytes; then the
  // probes lowest bounds get exact keys in a max-heap of (key, list), and any other list
  // only when its bound does not exceed the farthest kept. Its L2 key stops once a partial
  // sum passes that (l2_squared_until). The lists and their order are those of every exact
  // key sorted: a list skipped has a key above the farthest kept. 4 Fashion-MNIST shards at
  // probes 8: 107 -> 58 µs a query for the ranking, a serial federated search 14% faster
  // (docs/benchmarks.md).
  const bool inner_product = v.info.metric == rabitq::Metric::kInnerProduct;
  const auto& k = kernels::distance_kernels();
  scratch->lower.resize(count);
  scratch->query_code.resize(padded);
  ivf::key_lower_bounds(rotated, v.centroid_codes, inner_product, scratch->query_code.data(),
                        scratch->lower.data());
  std::vector<std::pair<float, std::uint32_t>>& by_bound = scratch->by_bound;
  by_bound.resize(count);
  for (std::uint32_t c = 0; c < count; c++) by_bound[c] = {scratch->lower[c], c};
  std::nth_element(by_bound.begin(), by_bound.begin() + probes, by_bound.end());
  order.clear();
  for (std::uint32_t p = 0; p < probes; p++) {
    const std::uint32_t c = by_bound[p].second;
    order.emplace_back(rabitq::centroid_key(v.info.metric, rotated, centroid(c), padded), c);
  }
  std::make_heap(order.begin(), order.end());
  for (std::uint32_t i = probes; i < count; i++) {
    const float limit = order.front().first;
    if (by_bound[i].first > limit) continue;  // its key is larger still
    const std::uint32_t c = by_bound[i].second;
    const float key = inner_product
                          ? rabitq::centroid_key(v.info.metric, rotated, centroid(c), padded)
                          : k.l2_squared_until(rotated, centroid(c), padded, limit);
    if (key > limit) continue;  // the whole sum is larger still
    if (std::make_pair(key, c) < order.front()) {
      std::pop_heap(order.begin(), order.end());
      order.back() = {key, c};
      std::push_heap(order.begin(), order.end());
    }
  }
  std::sort_heap(order.begin(), order.end());
  for (std::uint32_t p = 0; p < probes; p++) lists[p] = order[p].second;
}

// The query side of each list is the index scan's (rabitq/list_query.h).
void plan_query(const ImageView& v, const float* rotated, const std::uint32_t* lists,
                std::uint32_t count, std::vector<float>* residual, std::vector<RvScanJob>* jobs,
                std::vector<std::uint64_t>* planes, std::uint64_t* estimates) {
  const std::uint32_t padded = v.info.padded_dim;
  const std::size_t plane_words = rabitq::query_code_words(padded);
  for (std::uint32_t p = 0; p < count; p++) {
    std::uint32_t list = lists[p];
    const float* c = v.centroids + std::size_t{list} * padded;
    RvScanJob job{};
    job.planes = planes->size();
    planes->resize(planes->size() + plane_words);
    rabitq::ListQuery lq;
    rabitq::prepare_list_query(v.info.metric, rotated, c, padded, residual->data(),
                               planes->data() + job.planes, &lq);
    const rabitq::QueryCode& qc = lq.code;
    job.centroid_dot = lq.centroid_dot;
    job.first = v.list_start[list];
    job.end = v.list_start[list + 1];
    job.out = *estimates;
    job.low = qc.low;
    job.delta = qc.delta;
    job.sum = qc.sum;
    job.sqrt_d = qc.sqrt_d;
    job.norm = qc.norm;
    *estimates += job.end - job.first;
    jobs->push_back(job);
  }
}

void offer_rows(const ImageView& v, const SearchParams& params, const RvScanJob* jobs,
                std::size_t njobs, const float* estimates, BestCandidates* best) {
  for (std::size_t j = 0; j < njobs; j++) {
    const RvScanJob& job = jobs[j];
    const float* estimate = estimates + job.out;  // of row job.first
    for (std::uint64_t s = job.first; s < job.end; s++) {
      const float e = estimate[s - job.first];
      // Most rows are past the largest kept: the estimate alone turns them away, before
      // their id is read.
      if (!best->may_keep(e) || skipped(params, v.ids[s])) continue;
      best->offer(e, v.ids[s], s);
    }
  }
}

void append_nearest(const ImageView& v, const RvRerankJob* jobs, const double* exact, std::size_t n,
                    std::uint32_t k, std::vector<Hit>* hits) {
  std::vector<std::pair<float, std::int64_t>> ranked;
  ranked.reserve(n);
  for (std::size_t i = 0; i < n; i++)
    ranked.emplace_back(static_cast<float>(exact[i]), v.ids[jobs[i].slot]);
  const std::size_t keep = std::min<std::size_t>(k, ranked.size());
  std::partial_sort(ranked.begin(), ranked.begin() + keep, ranked.end());
  hits->reserve(hits->size() + keep);
  for (std::size_t i = 0; i < keep; i++) hits->push_back(Hit{ranked[i].second, ranked[i].first});
}

bool skipped(const SearchParams& p, std::int64_t id) {
  return (p.skip_count > 0 && std::binary_search(p.skip, p.skip + p.skip_count, id)) ||
         (p.skip2_count > 0 && std::binary_search(p.skip2, p.skip2 + p.skip2_count, id));
}

// A device that fails is outside the database: SQLSTATE class 58, like failed I/O.
void kernel_failed(const RvScanKernel& kernel, const char* what, const char* err) {
  fail(ErrorKind::kIo, std::string(kernel.name) + " " + what + " kernel failed: " + err);
}

}  // namespace ruvector::rulake
