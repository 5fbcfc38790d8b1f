// Per-index calibration of the scan's error bound, and the epsilon a scan uses. The bound
// misses a row when its estimate's normalized error z = (<r/|r|, v> - est) / (error_unit ·
// ||v||) exceeds epsilon. In theory z is at most a standard normal (a random rotation, one
// pair); on real data the query's 4-bit quantization and the data's structure shape the
// tail, and a query whose ten nearest rows tie (near-duplicates) loses every row whose
// bound misses, so the tail decides whether exact recall is reachable. The build measures
// it on its k-means sample, encoded as the index encodes rows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "rabitq/metric.h"

namespace ruvector::rabitq {

// The full-probe epsilon of an index built before calibration: P(z > 3.72) = 1e-4 for a
// standard normal z.
constexpr float kFullEpsilonFallback = 3.72f;
// The share of rows whose bound may miss at full probes.
constexpr double kFullMissRate = 1e-4;

struct CalibrationSample {
  Metric metric;
  const float* rows;  // n rows of padded_dim floats, prepared and rotated
  std::size_t n;
  const float* centroids;  // lists × padded_dim, rotated
  std::uint32_t lists;
  std::uint32_t padded_dim;
};

// z of every pair of a query and a row of one of its `probes` nearest lists: the first
// `queries` rows are the queries (held out), the others are assigned to their nearest
// centroid and encoded against it. Rows with no residual (error_unit 0) are left out.
std::vector<float> normalized_errors(const CalibrationSample& sample, std::uint32_t queries,
                                     std::uint32_t probes, unsigned threads);

// The smallest epsilon that at most `miss_rate` of z exceed; 0 when z is empty.
float epsilon_for_miss_rate(std::vector<float> z, double miss_rate);

// The epsilon at which kFullMissRate of z miss: measured directly when z holds at least
// 10 / kFullMissRate pairs, else extrapolated from the 1e-3 point as if the tail beyond it
// fell like a normal's (× 3.719 / 3.090), whichever is larger; 0 with fewer than 1000 pairs
// (too few to say: the caller keeps kFullEpsilonFallback).
float full_probe_epsilon(const std::vector<float>& z);

// The epsilon of a scan that probes `probes` of `lists` lists: rabitq.epsilon at few probes,
// rising linearly with the share of lists probed to the index's full-probe epsilon, so that
// the default probes keep their rerank count while probing every list misses only about
// kFullMissRate of the rows. Never below `epsilon`: a user who raises it gets at least that.
inline float scan_epsilon(float epsilon, float full_epsilon, std::uint32_t probes,
                          std::uint32_t lists) {
  if (lists == 0 || full_epsilon <= epsilon) return epsilon;
  const float share = probes >= lists ? 1.0f : static_cast<float>(probes) / lists;
  return epsilon + (full_epsilon - epsilon) * share;
}

}  // namespace ruvector::rabitq
