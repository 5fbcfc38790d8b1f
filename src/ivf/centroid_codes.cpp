// See centroid_codes.h. With c = s·u + e and ||e|| <= E (stored), and the query quantized
// as q = t·w + f with ||f|| <= F:
//   <q, c> = s·<q, u> + <q, e>,  |<q, e>| <= ||q||·E  (Cauchy-Schwarz)
//   <q, u> = t·<w, u> + <f, u>,  |<f, u>| <= F·||u||
// so with m = s·t·<w, u> + s·F·||u|| + ||q||·E >= <q, c>: ||q − c||² >= ||q||² + ||c||² − 2m
// and −<q, c> >= −m. <w, u> is an exact integer; a further (n + 8)·2⁻²² relative term
// covers the float rounding of the exact kernel the bound is compared with (worst case,
// not typical).
#include "ivf/centroid_codes.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "ivf/probe_order.h"
#include "kernels/cpu/distance.h"

namespace ruvector::ivf {
namespace {

// Quantizes x (n floats) to bytes in [-127, 127] with one scale: x ≈ scale · u. Returns
// the scale; *error_norm and *code_norm are upper bounds of ||x − scale · u|| and ||u||.
float quantize(const float* x, std::uint32_t n, std::int8_t* u, float* error_norm,
               float* code_norm) {
  float top = 0;
  for (std::uint32_t j = 0; j < n; j++) top = std::max(top, std::fabs(x[j]));
  const float scale = top / 127.0f;
  const float inverse = top > 0 ? 127.0f / top : 0.0f;
  for (std::uint32_t j = 0; j < n; j++) {
    // Rounded half away from zero by truncation (lround is a libm call, once per
    // dimension of every query); the error is measured from the level actually chosen.
    const float v = x[j] * inverse;
    const int level = static_cast<int>(v + std::copysign(0.5f, v));
    u[j] = static_cast<std::int8_t>(std::clamp(level, -127, 127));
  }
  // Four sums each, so that the additions of one dimension need not wait for the last.
  double error[4] = {0, 0, 0, 0};
  std::int64_t norm = 0;  // exact
  for (std::uint32_t j = 0; j < n; j++) {
    const double e = static_cast<double>(x[j]) - static_cast<double>(scale) * u[j];
    error[j % 4] += e * e;
    norm += u[j] * u[j];
  }
  // Rounded up past the double sums' own rounding, so the floats still bound the norms.
  const double error_sum = (error[0] + error[1]) + (error[2] + error[3]);
  *error_norm = std::nextafter(static_cast<float>(std::sqrt(error_sum) * (1 + 0x1p-40)), HUGE_VALF);
  *code_norm = std::nextafter(static_cast<float>(std::sqrt(static_cast<double>(norm))), HUGE_VALF);
  return scale;
}

}  // namespace

void quantize_centroids(const float* centroids, std::uint32_t lists, std::uint32_t dim,
                        std::uint8_t* codes, float* scales, float* error_norms,
                        float* norms_squared, float* code_norms) {
  for (std::uint32_t c = 0; c < lists; c++) {
    const float* x = centroids + static_cast<std::size_t>(c) * dim;
    std::uint8_t* code = codes + static_cast<std::size_t>(c) * dim;
    auto* u = reinterpret_cast<std::int8_t*>(code);
    scales[c] = quantize(x, dim, u, &error_norms[c], &code_norms[c]);
    // Stored as u + 128, the unsigned operand of the dot kernel.
    for (std::uint32_t j = 0; j < dim; j++) code[j] = static_cast<std::uint8_t>(u[j] + 128);
    double norm = 0;
    for (std::uint32_t j = 0; j < dim; j++) norm += static_cast<double>(x[j]) * x[j];
    norms_squared[c] = static_cast<float>(norm);
  }
}

void key_lower_bounds(const float* q, const CentroidCodes& codes, bool inner_product,
                      std::int8_t* scratch, float* lower) {
  const auto& k = kernels::distance_kernels();
  const double q_norm_sq = k.norm_squared(q, codes.dim);
  const double q_norm = std::sqrt(q_norm_sq);
  const double rounding = (codes.dim + 8.0) * std::ldexp(1.0, -22);
  float q_error = 0, unused = 0;
  const double q_scale = quantize(q, codes.dim, scratch, &q_error, &unused);
  // The codes are stored as u + 128: <w, u> = <u + 128, w> − 128 · Σw.
  std::int32_t w_sum = 0;
  for (std::uint32_t j = 0; j < codes.dim; j++) w_sum += scratch[j];
  // Two passes: the integer dots first, kept in lower[] (an int32 each, as bits), then the
  // bounds, so that the kernel calls run back to back and the float work of each list
  // does not wait on its call.
  for (std::uint32_t c = 0; c < codes.lists; c++) {
    const std::int32_t dot =
        k.dot_u8i8(codes.codes + static_cast<std::size_t>(c) * codes.dim, scratch, codes.dim) -
        128 * w_sum;
    std::memcpy(&lower[c], &dot, sizeof(dot));
  }
  for (std::uint32_t c = 0; c < codes.lists; c++) {
    const double s = codes.scales[c];
    std::int32_t dot;
    std::memcpy(&dot, &lower[c], sizeof(dot));
    const double c_norm_sq = codes.norms_squared[c];
    const double m =
        s * q_scale * dot + s * q_error * codes.code_norms[c] + q_norm * codes.error_norms[c];
    double bound;
    if (inner_product) {
      bound = -m - rounding * q_norm * std::sqrt(c_norm_sq);
    } else {
      bound = q_norm_sq + c_norm_sq - 2 * m - rounding * (q_norm_sq + c_norm_sq);
    }
    lower[c] = float_below(bound);  // so the float still bounds the key
  }
}

}  // namespace ruvector::ivf
