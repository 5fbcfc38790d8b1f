// The distances a RaBitQ index answers, shared by the rabitq access method and the ruLake
// cache so that both rank rows identically: how a row is prepared before rotation, and the
// exact distance used by the rerank (the same values the SQL operators return).
#pragma once

#include <cstdint>

namespace ruvector::rabitq {

// Stored in index metapages: the values never change.
enum class Metric : std::uint16_t { kL2 = 1, kInnerProduct = 2, kCosine = 3 };

// Copies x into out, normalised for cosine. False when a cosine row has no direction (zero
// or non-finite norm): it has no distance to anything and is not indexed.
bool prepare_vector(Metric metric, const float* x, int dim, float* out);

// <->, <#> or <=> between two rows of dim floats, as the operators compute them.
double exact_distance(Metric metric, const float* row, const float* query, int dim);

}  // namespace ruvector::rabitq
