// See metric.h.
#include "rabitq/metric.h"

#include <cmath>
#include <cstring>

#include "kernels/cpu/distance.h"
#include "vector/vector_math.h"

namespace ruvector::rabitq {

bool prepare_vector(Metric metric, const float* x, int dim, float* out) {
  if (metric != Metric::kCosine) {
    std::memcpy(out, x, sizeof(float) * dim);
    return true;
  }
  double norm = std::sqrt(static_cast<double>(kernels::distance_kernels().norm_squared(x, dim)));
  if (norm == 0 || !std::isfinite(norm)) return false;
  for (int i = 0; i < dim; i++) out[i] = static_cast<float>(x[i] / norm);
  return true;
}

double exact_distance(Metric metric, const float* row, const float* query, int dim) {
  const auto& k = kernels::distance_kernels();
  switch (metric) {
    case Metric::kL2:
      return std::sqrt(static_cast<double>(k.l2_squared(row, query, dim)));
    case Metric::kInnerProduct:
      return -static_cast<double>(k.inner_product(row, query, dim));
    case Metric::kCosine: {
      auto parts = k.cosine_parts(row, query, dim);
      return vector::cosine_distance_from_parts(parts.dot, parts.norm_a_sq, parts.norm_b_sq);
    }
  }
  return 0;
}

}  // namespace ruvector::rabitq
