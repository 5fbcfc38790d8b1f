// The query side of one inverted list, shared by the rabitq index scan and ruLake's batch
// search so that both estimate with the same numbers: the probe-order key of a centroid,
// the list's query vector (q - c, or q for inner product) quantized into planes, and the
// bounds that turn an estimate of <r/|r|, v> into a lower bound of a row's distance.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "rabitq/metric.h"
#include "rabitq/query.h"

namespace ruvector::rabitq {

struct ListQuery {
  QueryCode code;      // its planes are the caller's (query_code_words(padded_dim) words)
  float centroid_dot;  // inner product: <q, c>, the part of <q, x> the code does not hold
};

// The distance of a centroid to the rotated query in index space, smaller probed first:
// squared L2 (also for cosine, whose rows are normalised), or -<q, c> for inner product.
float centroid_key(Metric metric, const float* rotated, const float* centroid,
                   std::uint32_t padded_dim);

// Writes the list's query vector v into `v` (padded_dim floats) and returns <q, c> for
// inner product (v = q), else 0 (v = q - c).
float list_query_vector(Metric metric, const float* rotated, const float* centroid,
                        std::uint32_t padded_dim, float* v);

// list_query_vector, then v quantized into `planes`; `v` is left holding the vector.
void prepare_list_query(Metric metric, const float* rotated, const float* centroid,
                        std::uint32_t padded_dim, float* v, std::uint64_t* planes, ListQuery* out);

// The sum of v's coordinates, which the B-bit estimate (estimate_ip_ex) takes.
float vector_sum(const float* v, std::uint32_t padded_dim);

// A lower bound, in operator units, of the distance of a row from the estimate `est` of
// <r/|r|, v>, its residual norm r and error unit, and the list's ||v|| and <q, c>. Within
// epsilon · error_unit · ||v|| of the truth with high probability (epsilon near 1.9).
// Inline: the scan calls it once per row.
inline float lower_bound(Metric metric, float epsilon, float est, float r, float error_unit,
                         float v_norm, float centroid_dot) {
  if (metric == Metric::kInnerProduct) {
    return -(centroid_dot + r * est + epsilon * r * v_norm * error_unit);
  }
  float sq = r * r + v_norm * v_norm - 2 * r * est - epsilon * 2 * r * v_norm * error_unit;
  sq = std::max(0.0f, sq);
  return metric == Metric::kL2 ? std::sqrt(sq) : sq / 2;
}

// A lower bound, in operator units, of the distance of any row of a list whose centroid has
// this centroid_key and whose rows lie within `radius` of it (triangle inequality; Cauchy-
// Schwarz for inner product, with query_norm = ||q||).
float list_lower_bound(Metric metric, float key, float radius, float query_norm);

}  // namespace ruvector::rabitq
