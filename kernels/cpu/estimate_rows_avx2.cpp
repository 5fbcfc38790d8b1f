// estimate_rows.h for AVX2: eight rows a step, as the AVX-512 version (see there for the
// order of the operations). AVX2 converts only signed integers: dots and popcounts stay
// below 2^31, where the signed conversion gives the unsigned one's float.
#include <immintrin.h>

#include "kernels/cpu/estimate_rows.h"
#include "kernels/scan/scan_device.h"

namespace ruvector::kernels::detail {

namespace {

static_assert(sizeof(RvCodeFactors) == 16);

void distances(const std::uint32_t* dots, const RvCodeFactors* factors, std::size_t n,
               const RvScanJob& job, bool inner_product, float* out) {
  const __m256 two_delta = _mm256_set1_ps(2 * job.delta);
  const __m256 two_low = _mm256_set1_ps(2 * job.low);
  const __m256 delta_sum = _mm256_set1_ps(job.delta * job.sum);
  const __m256 sqrt_d = _mm256_set1_ps(job.sqrt_d);
  const __m256 sqrt_d_low = _mm256_set1_ps(job.sqrt_d * job.low);
  const __m256 two = _mm256_set1_ps(2.0f);
  const __m256 norm_squared = _mm256_set1_ps(job.norm * job.norm);
  const __m256 centroid_dot = _mm256_set1_ps(job.centroid_dot);
  const __m256 sign = _mm256_castsi256_ps(_mm256_set1_epi32(static_cast<int>(0x80000000u)));
  const __m256 zero = _mm256_setzero_ps();
  // Float offsets of the fields of rows 0..7 from the first row's residual_norm.
  const __m256i record = _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28);
  const __m256i inv_x0_at = _mm256_add_epi32(record, _mm256_set1_epi32(1));
  const __m256i popcount_at = _mm256_add_epi32(record, _mm256_set1_epi32(3));
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const float* base = &factors[i].residual_norm;
    const __m256 residual_norm = _mm256_i32gather_ps(base, record, 4);
    const __m256 inv_x0 = _mm256_i32gather_ps(base, inv_x0_at, 4);
    const __m256i popcount =
        _mm256_i32gather_epi32(reinterpret_cast<const int*>(base), popcount_at, 4);
    const __m256 fdot =
        _mm256_cvtepi32_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(dots + i)));
    const __m256 fpop = _mm256_cvtepi32_ps(popcount);
    __m256 xv = _mm256_add_ps(_mm256_mul_ps(two_delta, fdot), _mm256_mul_ps(two_low, fpop));
    xv = _mm256_sub_ps(_mm256_div_ps(_mm256_sub_ps(xv, delta_sum), sqrt_d), sqrt_d_low);
    const __m256 is_zero = _mm256_cmp_ps(inv_x0, zero, _CMP_EQ_OQ);
    const __m256 est = _mm256_blendv_ps(_mm256_mul_ps(xv, inv_x0), zero, is_zero);
    const __m256 scaled = _mm256_mul_ps(residual_norm, est);
    __m256 d;
    if (inner_product) {
      d = _mm256_xor_ps(_mm256_add_ps(centroid_dot, scaled), sign);
    } else {
      d = _mm256_sub_ps(_mm256_add_ps(_mm256_mul_ps(residual_norm, residual_norm), norm_squared),
                        _mm256_mul_ps(_mm256_mul_ps(two, residual_norm), est));
    }
    _mm256_storeu_ps(out + i, d);
  }
  for (; i < n; i++) out[i] = estimate_from_dot(dots[i], factors[i], job, inner_product);
}

}  // namespace

const EstimateKernels kEstimatesAvx2 = {&distances};

}  // namespace ruvector::kernels::detail
