// The RaBitQ estimate of one code, written once for the host and the device so that the
// CPU and GPU scan kernels compute it with the same operations in the same order. With
// fused multiply-add disabled on both sides (-ffp-contract=off, nvcc --fmad=false) and
// IEEE division, every step rounds identically and the estimates are bit-identical.
//
// With x̄ = (2b - 1)/sqrt(D) the codeword and v̄ = v_l + Δ·q_u the quantized query:
//   <x̄, v̄> = (2Δ/sqrt(D))<b, q_u> + (2 v_l/sqrt(D))|b| - (Δ/sqrt(D)) Σ q_u - sqrt(D) v_l
// and the estimate of <r/||r||, v> is <x̄, v̄> / x0 (Gao & Long, SIGMOD 2024, Thm 3.3).
#ifndef RUVECTOR_KERNELS_SCAN_ESTIMATE_H
#define RUVECTOR_KERNELS_SCAN_ESTIMATE_H

#include <stdint.h>

#if defined(__CUDACC__)
#define RV_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define RV_HOST_DEVICE inline
#endif

namespace ruvector::kernels {

// dot: sum_j 2^j popcount(code AND plane_j). Returns the estimate of <r/||r||, v>; 0 for
// the code of a zero residual (inv_x0 = 0).
RV_HOST_DEVICE float rabitq_estimate_ip(uint32_t dot, uint32_t popcount, float inv_x0, float low,
                                        float delta, float sum, float sqrt_d) {
  if (inv_x0 == 0) return 0;
  const float fdot = static_cast<float>(dot);
  const float xv =
      (2 * delta * fdot + 2 * low * static_cast<float>(popcount) - delta * sum) / sqrt_d -
      sqrt_d * low;
  return xv * inv_x0;
}

// The estimated distance a search ranks candidates by: squared L2 from the residuals, or
// the negative inner product through the list's centroid.
RV_HOST_DEVICE float rabitq_estimate_distance(bool inner_product, float est, float residual_norm,
                                              float query_norm, float centroid_dot) {
  return inner_product
             ? -(centroid_dot + residual_norm * est)
             : residual_norm * residual_norm + query_norm * query_norm - 2 * residual_norm * est;
}

}  // namespace ruvector::kernels

#endif  // RUVECTOR_KERNELS_SCAN_ESTIMATE_H
