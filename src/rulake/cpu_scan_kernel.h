// The CPU implementation of the batch scan kernel interface (kernels/scan/scan_kernel.h):
// the reference every other kernel is compared with, and the one used whenever no GPU is.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/scan/scan_kernel.h"

namespace ruvector::rulake {

// Deterministic, min_batch 1, any dimension; uses the best SIMD distance kernels.
const RvScanKernel& cpu_scan_kernel();

// The exact L2 distances of one query's rerank candidates (jobs, nearest estimate first) into
// out, as the kernel's rerank gives them, except that a row shown to be farther than the
// k-th nearest before it gets +infinity: append_nearest(k) then keeps the same hits. A
// partial sum of squares bounds the whole one, so such a row is read only in part.
void cpu_rerank_l2_nearest(const RvScanImage& image, const float* query, const RvRerankJob* jobs,
                           std::size_t n, std::uint32_t k, double* out);

}  // namespace ruvector::rulake
