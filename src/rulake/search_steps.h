// The steps of one query's search of an image that search_view (batch_search.h) and the
// parted search (parted_search.h) both take, so that the two choose the same lists, the
// same candidates and the same order of hits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "kernels/scan/scan_kernel.h"
#include "rabitq/rotator.h"
#include "rulake/best_candidates.h"
#include "rulake/collection_index.h"

namespace ruvector::rulake {

// Scratch of rank_query, kept from one query to the next.
struct RankScratch {
  std::vector<std::pair<float, std::uint32_t>> order;     // (key, list)
  std::vector<std::pair<float, std::uint32_t>> by_bound;  // (lower bound of the key, list)
  std::vector<float> lower;
  std::vector<std::int8_t> query_code;
};

// The query prepared for the metric (into `prepared`, dim floats) and rotated (into
// `rotated`, padded_dim floats), and the first `probes` lists it probes into `lists`:
// nearest centroid first (centroid_key), ties by list number.
void rank_query(const ImageView& v, const rabitq::Rotator& rotator, const float* query,
                std::uint32_t probes, float* prepared, float* rotated, RankScratch* scratch,
                std::uint32_t* lists);

// Appends the scan jobs of `count` lists (their codes and the query's code against each
// list's centroid) to jobs and planes; their estimates follow *estimates, which grows by
// the lists' rows. `residual` holds padded_dim floats of scratch.
void plan_query(const ImageView& v, const float* rotated, const std::uint32_t* lists,
                std::uint32_t count, std::vector<float>* residual, std::vector<RvScanJob>* jobs,
                std::vector<std::uint64_t>* planes, std::uint64_t* estimates);

// Offers every row of the jobs that params does not skip to `best`, with its estimate.
void offer_rows(const ImageView& v, const SearchParams& params, const RvScanJob* jobs,
                std::size_t njobs, const float* estimates, BestCandidates* best);

// Appends to `hits` the k nearest of the reranked candidates (exact[i] the distance of
// jobs[i]'s row), ordered by (distance, id).
void append_nearest(const ImageView& v, const RvRerankJob* jobs, const double* exact, std::size_t n,
                    std::uint32_t k, std::vector<Hit>* hits);

// Whether params leaves the row with this id out.
bool skipped(const SearchParams& params, std::int64_t id);

// Throws ruvector::Error kIo naming the kernel and what failed.
[[noreturn]] void kernel_failed(const RvScanKernel& kernel, const char* what, const char* err);

}  // namespace ruvector::rulake
