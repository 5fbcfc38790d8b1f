// See list_query.h. The residual is one subtraction per coordinate, in index order, so the
// index scan and the batch search quantize bit-identical vectors.
#include "rabitq/list_query.h"

#include "kernels/cpu/distance.h"

namespace ruvector::rabitq {

float centroid_key(Metric metric, const float* rotated, const float* centroid,
                   std::uint32_t padded_dim) {
  const auto& k = kernels::distance_kernels();
  if (metric == Metric::kInnerProduct) return -k.inner_product(rotated, centroid, padded_dim);
  return k.l2_squared(rotated, centroid, padded_dim);
}

float list_query_vector(Metric metric, const float* rotated, const float* centroid,
                        std::uint32_t padded_dim, float* v) {
  if (metric == Metric::kInnerProduct) {
    std::copy(rotated, rotated + padded_dim, v);
    return kernels::distance_kernels().inner_product(rotated, centroid, padded_dim);
  }
  kernels::distance_kernels().subtract(rotated, centroid, v, padded_dim);
  return 0;
}

void prepare_list_query(Metric metric, const float* rotated, const float* centroid,
                        std::uint32_t padded_dim, float* v, std::uint64_t* planes, ListQuery* out) {
  out->centroid_dot = list_query_vector(metric, rotated, centroid, padded_dim, v);
  quantize_query(v, padded_dim, &out->code, planes);
}

float vector_sum(const float* v, std::uint32_t padded_dim) {
  float sum = 0;
  for (std::uint32_t j = 0; j < padded_dim; j++) sum += v[j];
  return sum;
}

float list_lower_bound(Metric metric, float key, float radius, float query_norm) {
  switch (metric) {
    case Metric::kL2:
      return std::max(0.0f, std::sqrt(std::max(0.0f, key)) - radius);
    case Metric::kCosine: {
      float d = std::max(0.0f, std::sqrt(std::max(0.0f, key)) - radius);
      return d * d / 2;
    }
    case Metric::kInnerProduct:
      return key - radius * query_norm;
  }
  return 0;
}

}  // namespace ruvector::rabitq
