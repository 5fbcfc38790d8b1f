// Searching an index image for many queries at once through a scan kernel
// (kernels/scan/scan_kernel.h): the CPU one, or a GPU one loaded at run time. The kernel
// estimates every code of the probed lists and computes the exact distances of the
// candidates; choosing the candidates and ordering the hits stays here, so a deterministic
// kernel cannot change which rows are reranked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/scan/scan_kernel.h"
#include "rulake/collection_index.h"
#include "util/interrupt.h"

namespace ruvector::rulake {

// out[q] gets query q's hits exactly as search_index would return them (ids and
// distances), up to rounding of the exact distances by a non-CPU kernel. `queries` holds
// nqueries × image_info().dim floats. `image_key` names the image's content for kernels
// that keep device copies (0: none). Throws std::invalid_argument for a non-finite value
// or a zero query under cosine (naming the query); ruvector::Error kIo when the kernel
// fails, kProgramLimit when the image is wider than the kernel's max_dim. `interrupt` is
// called between queries (a kernel call itself runs to its end) and may throw to cancel.
void search_batch(const void* image, std::size_t size, const float* queries, std::size_t nqueries,
                  const SearchParams& params, const RvScanKernel& kernel, std::uint64_t image_key,
                  std::vector<std::vector<Hit>>* out, InterruptCheck interrupt = nullptr);

// The query side of a search that does not depend on the rows: each query prepared and
// rotated, and the lists it probes, nearest centroid first (ties by list number). Layers
// placed on one image's centroids (overlay.h) compute it once and share it.
struct ProbePlan {
  std::uint32_t probes = 0;  // lists per query
  std::uint32_t padded_dim = 0;
  std::vector<float> rotated;        // nqueries × padded_dim
  std::vector<std::uint32_t> lists;  // nqueries × probes
};

// The plan of `v`'s centroids for nqueries queries that check_queries accepted, probing
// params.probes lists (0: all). Throws ruvector::Error kIntegrity when v has no centroids.
void plan_probes(const ImageView& v, const float* queries, std::size_t nqueries,
                 const SearchParams& params, ProbePlan* out, InterruptCheck interrupt = nullptr);

// The checks search_batch makes of its queries before any search: finite values, and
// (when `direction`) a non-zero query under cosine. Throws std::invalid_argument naming the
// query by its position among the nqueries.
void check_queries(Metric metric, std::uint32_t dim, const float* queries, std::size_t nqueries,
                   bool direction);

// search_batch over a view, whose centroids may be another image's (an overlay's delta is
// searched with its base's). The view's sections must lie in checked memory. With `plan`
// (plan_probes of these queries over a view with the same centroids, dim and seed) the
// queries are not rotated or ranked again; the hits are the same.
void search_view(const ImageView& v, const float* queries, std::size_t nqueries,
                 const SearchParams& params, const RvScanKernel& kernel, std::uint64_t image_key,
                 std::vector<std::vector<Hit>>* out, InterruptCheck interrupt = nullptr,
                 const ProbePlan* plan = nullptr);

}  // namespace ruvector::rulake
