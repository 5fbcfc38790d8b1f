// Int8 copies of IVF centroids, for choosing which lists to probe. A query's distance to
// every centroid otherwise streams all of them, more than L2 holds for Fashion-MNIST (a
// large share of a query: docs/benchmarks.md); the codes are a quarter of that, and each
// comes with the norm of its quantization error, so a distance computed from the code
// has a guaranteed lower bound. Only lists whose bound could place them among the next
// probed get their exact distance (ivf/probe_order.h): a few of all the lists.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ruvector::ivf {

struct CentroidCodes {
  const std::uint8_t* codes;   // lists × dim: u + 128, where c ≈ scale · u, u in [-127, 127]
  const float* scales;         // per list
  const float* error_norms;    // per list: at least ||c − scale · u||
  const float* norms_squared;  // per list: ||c||²
  const float* code_norms;     // per list: at least ||u||
  std::uint32_t lists;
  std::uint32_t dim;
};

// Fills the five arrays of CentroidCodes for `lists` centroids of `dim` floats.
void quantize_centroids(const float* centroids, std::uint32_t lists, std::uint32_t dim,
                        std::uint8_t* codes, float* scales, float* error_norms,
                        float* norms_squared, float* code_norms);

// For every list, a lower bound of its key as the float kernels compute it: the squared
// L2 distance from q, or with inner_product the negative inner product. Rounding of both
// the bound and the exact kernels is covered, so lower[i] <= the exact key. The query is
// quantized to int8 as well (into scratch, dim bytes), so that each list costs one exact
// integer dot product; its quantization error widens the bound by ||q − sq·w||·scale·||u||.
void key_lower_bounds(const float* q, const CentroidCodes& codes, bool inner_product,
                      std::int8_t* scratch, float* lower);

// The L2-nearest centroid of q, as nearest_centroids_batch chooses it (smallest
// ||c||² − 2<q, c>, ties to the lower id) up to rows whose two nearest centroids score
// within float rounding of each other: int8 lower bounds for every list (key_lower_bounds),
// then the exact score only where a bound could beat the best so far. norms_squared: the
// centroids' ||c||² as kernels::norm_squared gives them; scratch: dim bytes; lower: lists
// floats.
std::uint32_t nearest_centroid_bounded(const float* q, const float* centroids,
                                       const float* norms_squared, const CentroidCodes& codes,
                                       std::int8_t* scratch, float* lower);

}  // namespace ruvector::ivf
