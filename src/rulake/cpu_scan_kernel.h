// The CPU implementation of the batch scan kernel interface (kernels/scan/scan_kernel.h):
// the reference every other kernel is compared with, and the one used whenever no GPU is.
#pragma once

#include "kernels/scan/scan_kernel.h"

namespace ruvector::rulake {

// Deterministic, min_batch 1, any dimension; uses the best SIMD distance kernels.
const RvScanKernel& cpu_scan_kernel();

}  // namespace ruvector::rulake
