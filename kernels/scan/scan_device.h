// The per-code and per-candidate work of the batch scan kernels, written once for the host
// and the device: the CUDA kernel (kernels/cuda) runs these functions one thread per code or
// one block per candidate, and the host reference kernel (tests/unit/reference_kernel)
// runs the same functions in loops, so that the unit tests exercise the GPU's arithmetic on
// machines without a GPU.
#ifndef RUVECTOR_KERNELS_SCAN_DEVICE_H
#define RUVECTOR_KERNELS_SCAN_DEVICE_H

#include <math.h>
#include <stdint.h>

#include "kernels/scan/estimate.h"
#include "kernels/scan/scan_kernel.h"

namespace ruvector::kernels {

RV_HOST_DEVICE uint32_t popcount64(uint64_t x) {
#if defined(__CUDA_ARCH__)
  return static_cast<uint32_t>(__popcll(x));
#else
  return static_cast<uint32_t>(__builtin_popcountll(x));
#endif
}

// sum_j 2^j popcount(code AND plane_j): an integer, so every implementation agrees.
RV_HOST_DEVICE uint32_t bitplane_dot4_portable(const uint64_t* code, const uint64_t* planes,
                                               uint32_t words) {
  uint32_t p0 = 0, p1 = 0, p2 = 0, p3 = 0;
  for (uint32_t i = 0; i < words; i++) {
    const uint64_t c = code[i];
    p0 += popcount64(c & planes[i]);
    p1 += popcount64(c & planes[words + i]);
    p2 += popcount64(c & planes[2 * words + i]);
    p3 += popcount64(c & planes[3 * words + i]);
  }
  return p0 + 2 * p1 + 4 * p2 + 8 * p3;
}

// The estimated distance of a code whose bit-plane product with the job's query is `dot`:
// the value every scan kernel writes.
RV_HOST_DEVICE float estimate_from_dot(uint32_t dot, const RvCodeFactors& f, const RvScanJob& job,
                                       bool inner_product) {
  const float est =
      rabitq_estimate_ip(dot, f.popcount, f.inv_x0, job.low, job.delta, job.sum, job.sqrt_d);
  return rabitq_estimate_distance(inner_product, est, f.residual_norm, job.norm, job.centroid_dot);
}

// Partial sums of one exact distance, accumulated in double: a thread adds its share of
// the coordinates, the shares are added, then exact_from_parts finishes.
struct ExactParts {
  double a;  // L2: sum of squares; inner product and cosine: the dot product
  double b;  // cosine: ||row||²
  double c;  // cosine: ||query||²
};

RV_HOST_DEVICE void exact_accumulate(int metric, float row, float query, ExactParts* p) {
  const double r = row, q = query;
  if (metric == RV_METRIC_L2) {
    p->a += (r - q) * (r - q);
  } else {
    p->a += r * q;
    if (metric == RV_METRIC_COSINE) {
      p->b += r * r;
      p->c += q * q;
    }
  }
}

RV_HOST_DEVICE void exact_combine(ExactParts* into, const ExactParts& other) {
  into->a += other.a;
  into->b += other.b;
  into->c += other.c;
}

// As rabitq::exact_distance: L2 distance, negative inner product, or cosine distance
// clamped to [0, 2] (NaN for a zero-norm side).
RV_HOST_DEVICE double exact_from_parts(int metric, const ExactParts& p) {
  if (metric == RV_METRIC_L2) return sqrt(p.a);
  if (metric == RV_METRIC_IP) return -p.a;
  double similarity = p.a / sqrt(p.b * p.c);
  if (isnan(similarity)) return similarity;
  if (similarity > 1) similarity = 1;
  if (similarity < -1) similarity = -1;
  return 1 - similarity;
}

}  // namespace ruvector::kernels

#endif  // RUVECTOR_KERNELS_SCAN_DEVICE_H
