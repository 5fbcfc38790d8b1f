// estimate_rows.h in portable code: estimate_from_dot itself, the reference of the others.
#include "kernels/cpu/estimate_rows.h"
#include "kernels/scan/scan_device.h"

namespace ruvector::kernels::detail {

namespace {

void distances(const std::uint32_t* dots, const RvCodeFactors* factors, std::size_t n,
               const RvScanJob& job, bool inner_product, float* out) {
  for (std::size_t i = 0; i < n; i++) {
    out[i] = estimate_from_dot(dots[i], factors[i], job, inner_product);
  }
}

}  // namespace

const EstimateKernels kEstimatesScalar = {&distances};

}  // namespace ruvector::kernels::detail
