// Portable kernels for CPUs without AVX2 (and for cross-checking the SIMD ones). Four
// accumulators, like the SIMD code, so that the loop is not one long dependency chain.
#include <cmath>

#include "kernels/cpu/bitplane_impl.h"
#include "kernels/cpu/dot_u8i8_impl.h"
#include "kernels/cpu/hadamard_impl.h"
#include "kernels/cpu/rotation_impl.h"
#include "kernels/cpu/distance_isa.h"

namespace ruvector::kernels::detail {
namespace {

// l2_squared, or (kBounded) its partial sum once that passes limit; see distance.h.
template <bool kBounded>
float l2_squared_impl(const float* a, const float* b, std::size_t n, float limit) {
  float s[4] = {0, 0, 0, 0};
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    for (int j = 0; j < 4; j++) {
      float d = a[i + j] - b[i + j];
      s[j] += d * d;
    }
    if constexpr (kBounded) {
      if ((i + 4) % kCheckFloats == 0) {
        const float partial = (s[0] + s[1]) + (s[2] + s[3]);
        if (partial > limit) return partial;
      }
    }
  }
  float sum = (s[0] + s[1]) + (s[2] + s[3]);
  for (; i < n; i++) {
    float d = a[i] - b[i];
    sum += d * d;
  }
  return sum;
}

float l2_squared(const float* a, const float* b, std::size_t n) {
  return l2_squared_impl<false>(a, b, n, 0.0f);
}

float l2_squared_until(const float* a, const float* b, std::size_t n, float limit) {
  return l2_squared_impl<true>(a, b, n, limit);
}

float inner_product(const float* a, const float* b, std::size_t n) {
  float s[4] = {0, 0, 0, 0};
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    for (int j = 0; j < 4; j++) s[j] += a[i + j] * b[i + j];
  }
  float sum = (s[0] + s[1]) + (s[2] + s[3]);
  for (; i < n; i++) sum += a[i] * b[i];
  return sum;
}

float l1(const float* a, const float* b, std::size_t n) {
  float s[4] = {0, 0, 0, 0};
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    for (int j = 0; j < 4; j++) s[j] += std::fabs(a[i + j] - b[i + j]);
  }
  float sum = (s[0] + s[1]) + (s[2] + s[3]);
  for (; i < n; i++) sum += std::fabs(a[i] - b[i]);
  return sum;
}

float norm_squared(const float* a, std::size_t n) { return inner_product(a, a, n); }

CosineParts cosine_parts(const float* a, const float* b, std::size_t n) {
  return CosineParts{inner_product(a, b, n), inner_product(a, a, n), inner_product(b, b, n)};
}

void inner_product_1x4(const float* a, const float* b, std::size_t stride, std::size_t n,
                       float* out) {
  for (int j = 0; j < 4; j++) out[j] = inner_product(a, b + j * stride, n);
}

void inner_product_4x4(const float* a, std::size_t a_stride, const float* b, std::size_t b_stride,
                       std::size_t n, float* out) {
  for (std::size_t r = 0; r < 4; r++)
    inner_product_1x4(a + r * a_stride, b, b_stride, n, out + r * 4);
}

}  // namespace

const DistanceKernels& scalar_distance_kernels() {
  static constexpr DistanceKernels kTable{"scalar",
                                          &l2_squared,
                                          &l2_squared_until,
                                          &inner_product,
                                          &l1,
                                          &norm_squared,
                                          &cosine_parts,
                                          &bitplane_dot4,
                                          &inner_product_1x4,
                                          &inner_product_4x4,
                                          &dot_u8i8,
                                          &hadamard,
                                          &flip_signs,
                                          &scale,
                                          &butterfly,
                                          &subtract};
  return kTable;
}

}  // namespace ruvector::kernels::detail
