// See centroid_codes.h (nearest_centroid_bounded). A list's score as the assignment kernel
// computes it is ||c||² − 2<q, c> = key − ||q||², so the key's lower bound less ||q||² bounds
// the score too, once the score's own rounding is allowed for.
#include <cmath>
#include <limits>

#include "ivf/centroid_codes.h"
#include "kernels/cpu/distance.h"

namespace ruvector::ivf {

std::uint32_t nearest_centroid_bounded(const float* q, const float* centroids,
                                       const float* norms_squared, const CentroidCodes& codes,
                                       std::int8_t* scratch, float* lower) {
  const auto& k = kernels::distance_kernels();
  const std::uint32_t dim = codes.dim;
  key_lower_bounds(q, codes, /*inner_product=*/false, scratch, lower);
  const double q_norm_sq = k.norm_squared(q, dim);
  // Rounding of the score (a dot of dim terms, then a subtraction), generously.
  const double rounding = (dim + 8.0) * std::ldexp(1.0, -22);
  auto score = [&](std::uint32_t c) {
    return norms_squared[c] - 2 * k.inner_product(q, centroids + std::size_t{c} * dim, dim);
  };
  // Start from the smallest bound, which is likely the nearest, then look only at lists
  // whose bound could still beat it; ties go to the lower id, as in the full scan.
  std::uint32_t best_id = 0;
  for (std::uint32_t c = 1; c < codes.lists; c++) {
    if (lower[c] < lower[best_id]) best_id = c;
  }
  float best = score(best_id);
  for (std::uint32_t c = 0; c < codes.lists; c++) {
    if (c == best_id) continue;
    const double slack = rounding * (q_norm_sq + norms_squared[c]);
    if (lower[c] - q_norm_sq - slack > best) continue;
    const float s = score(c);
    if (s < best || (s == best && c < best_id)) {
      best = s;
      best_id = c;
    }
  }
  return best_id;
}

}  // namespace ruvector::ivf
