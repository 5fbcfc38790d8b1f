// estimate_rows.h for AVX-512: sixteen rows a step, their factors gathered from the
// 16-byte records. Each lane performs estimate_from_dot's operations in its order:
// ((2 delta) fdot + (2 low) popcount - delta sum) / sqrt_d - sqrt_d low, times inv_x0 (0
// where inv_x0 is 0), then the distance from it. The per-job products are the same floats
// the scalar code computes per row. The masked gathers and conversions (all lanes on)
// because gcc 12's unmasked ones trip -Werror=uninitialized in its own headers.
#include <immintrin.h>

#include "kernels/cpu/estimate_rows.h"
#include "kernels/scan/scan_device.h"

namespace ruvector::kernels::detail {

namespace {

constexpr __mmask16 kAll16 = 0xFFFF;
static_assert(sizeof(RvCodeFactors) == 16);

void distances(const std::uint32_t* dots, const RvCodeFactors* factors, std::size_t n,
               const RvScanJob& job, bool inner_product, float* out) {
  const __m512 two_delta = _mm512_set1_ps(2 * job.delta);
  const __m512 two_low = _mm512_set1_ps(2 * job.low);
  const __m512 delta_sum = _mm512_set1_ps(job.delta * job.sum);
  const __m512 sqrt_d = _mm512_set1_ps(job.sqrt_d);
  const __m512 sqrt_d_low = _mm512_set1_ps(job.sqrt_d * job.low);
  const __m512 two = _mm512_set1_ps(2.0f);
  const __m512 norm_squared = _mm512_set1_ps(job.norm * job.norm);
  const __m512 centroid_dot = _mm512_set1_ps(job.centroid_dot);
  const __m512i sign = _mm512_set1_epi32(static_cast<int>(0x80000000u));
  // Float offsets of the fields of rows 0..15 from the first row's residual_norm.
  const __m512i record =
      _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60);
  const __m512i inv_x0_at = _mm512_add_epi32(record, _mm512_set1_epi32(1));
  const __m512i popcount_at = _mm512_add_epi32(record, _mm512_set1_epi32(3));
  // Sixteen rows a step; the last step's lanes past n are masked off (neither read nor
  // written), so a list of 61 rows takes four steps and no scalar tail.
  for (std::size_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? kAll16 : static_cast<__mmask16>((1u << (n - i)) - 1);
    const float* base = &factors[i].residual_norm;
    const __m512 residual_norm = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, record, base, 4);
    const __m512 inv_x0 = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, inv_x0_at, base, 4);
    const __m512i popcount =
        _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m, popcount_at, base, 4);
    const __m512i dot = _mm512_maskz_loadu_epi32(m, dots + i);
    const __m512 fdot = _mm512_mask_cvtepu32_ps(_mm512_setzero_ps(), kAll16, dot);
    const __m512 fpop = _mm512_mask_cvtepu32_ps(_mm512_setzero_ps(), kAll16, popcount);
    __m512 xv = _mm512_add_ps(_mm512_mul_ps(two_delta, fdot), _mm512_mul_ps(two_low, fpop));
    xv = _mm512_sub_ps(_mm512_div_ps(_mm512_sub_ps(xv, delta_sum), sqrt_d), sqrt_d_low);
    const __mmask16 zero = _mm512_cmp_ps_mask(inv_x0, _mm512_setzero_ps(), _CMP_EQ_OQ);
    const __m512 est = _mm512_mask_blend_ps(zero, _mm512_mul_ps(xv, inv_x0), _mm512_setzero_ps());
    const __m512 scaled = _mm512_mul_ps(residual_norm, est);
    __m512 d;
    if (inner_product) {
      d = _mm512_castsi512_ps(
          _mm512_xor_si512(_mm512_castps_si512(_mm512_add_ps(centroid_dot, scaled)), sign));
    } else {
      d = _mm512_sub_ps(_mm512_add_ps(_mm512_mul_ps(residual_norm, residual_norm), norm_squared),
                        _mm512_mul_ps(_mm512_mul_ps(two, residual_norm), est));
    }
    _mm512_mask_storeu_ps(out + i, m, d);
  }
}

}  // namespace

const EstimateKernels kEstimatesAvx512 = {&distances};

}  // namespace ruvector::kernels::detail
