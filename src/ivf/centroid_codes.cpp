// See centroid_codes.h. With c = s·u + e and ||e|| <= E (stored), for any q:
//   <q, c> = s·<q, u> + <q, e>,  |<q, e>| <= ||q||·E  (Cauchy-Schwarz)
// so ||q − c||² >= ||q||² + ||c||² − 2·s·<q, u> − 2·||q||·E, and −<q, c> >= −s·<q, u> −
// ||q||·E. A further (n + 8)·2⁻²² relative term covers the float rounding of <q, u> and of
// the exact kernel the bound is compared with (worst case, not typical).
#include "ivf/centroid_codes.h"

#include <algorithm>
#include <cmath>

#include "kernels/cpu/distance.h"

namespace ruvector::ivf {
namespace {

// A float no larger than x, for the per-list loop of every query (nextafter there, a libm
// call, took 0.7% of a query). The conversion rounds by at most half an ulp (2^-24 of the
// value, or 2^-150 below the normal range); the margin, 2^-23 of the value plus 2^-126,
// is larger, so the result never exceeds x.
inline float float_below(double x) {
  return static_cast<float>(x - std::fabs(x) * 0x1p-23 - 0x1p-126);
}

}  // namespace

void quantize_centroids(const float* centroids, std::uint32_t lists, std::uint32_t dim,
                        std::int8_t* codes, float* scales, float* error_norms,
                        float* norms_squared) {
  for (std::uint32_t c = 0; c < lists; c++) {
    const float* x = centroids + static_cast<std::size_t>(c) * dim;
    std::int8_t* u = codes + static_cast<std::size_t>(c) * dim;
    float top = 0;
    for (std::uint32_t j = 0; j < dim; j++) top = std::max(top, std::fabs(x[j]));
    const float scale = top / 127.0f;
    double error = 0, norm = 0;
    for (std::uint32_t j = 0; j < dim; j++) {
      long level = scale > 0 ? std::lround(x[j] / scale) : 0;
      u[j] = static_cast<std::int8_t>(std::clamp(level, -127L, 127L));
      double e = static_cast<double>(x[j]) - static_cast<double>(scale) * u[j];
      error += e * e;
      norm += static_cast<double>(x[j]) * x[j];
    }
    scales[c] = scale;
    // Rounded up, so the stored norm still bounds the error.
    error_norms[c] = std::nextafter(static_cast<float>(std::sqrt(error)), HUGE_VALF);
    norms_squared[c] = static_cast<float>(norm);
  }
}

void key_lower_bounds(const float* q, const CentroidCodes& codes, bool inner_product,
                      float* lower) {
  const auto& k = kernels::distance_kernels();
  const double q_norm_sq = k.norm_squared(q, codes.dim);
  const double q_norm = std::sqrt(q_norm_sq);
  const double rounding = (codes.dim + 8.0) * std::ldexp(1.0, -22);
  for (std::uint32_t c = 0; c < codes.lists; c++) {
    const double dot =
        static_cast<double>(codes.scales[c]) *
        k.inner_product_i8(q, codes.codes + static_cast<std::size_t>(c) * codes.dim, codes.dim);
    const double c_norm_sq = codes.norms_squared[c];
    const double error = q_norm * codes.error_norms[c];
    double bound;
    if (inner_product) {
      bound = -dot - error - rounding * q_norm * std::sqrt(c_norm_sq);
    } else {
      bound = q_norm_sq + c_norm_sq - 2 * dot - 2 * error - rounding * (q_norm_sq + c_norm_sq);
    }
    lower[c] = float_below(bound);  // so the float still bounds the key
  }
}

}  // namespace ruvector::ivf
