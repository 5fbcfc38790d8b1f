// The ruvector.gpu setting and the GPU kernel library behind it: loaded on first use in
// each backend from ruvector.gpu_library, never linked into ruvector.so (gpu.cpp).
#pragma once

#include "extension/pg_wrapper.h"

#include "kernels/scan/scan_kernel.h"

namespace ruvector::pg::gpu {

void init_gucs();

// The kernel that serves a batch of `batch` queries under ruvector.gpu; raises an error
// when ruvector.gpu = on and no usable GPU kernel can serve it. needs_determinism: the
// collection is fresh or frozen.
const RvScanKernel& scan_kernel(Size batch, bool needs_determinism);

// Whether a failing GPU kernel may be replaced by the CPU for the same search (auto), or
// its failure is the search's error (on).
bool may_fall_back();

}  // namespace ruvector::pg::gpu
