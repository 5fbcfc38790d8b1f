// Which scan kernel serves a batch: the policy of the ruvector.gpu setting, apart from how
// the GPU library is found (the extension loads it) so that it can be tested without one.
#pragma once

#include <cstddef>
#include <string>

#include "kernels/scan/scan_kernel.h"

namespace ruvector::rulake {

enum class GpuMode { kOff, kAuto, kOn };

struct KernelChoice {
  const RvScanKernel* kernel;  // nullptr when the mode cannot be honoured
  std::string error;           // why, when kernel is nullptr
};

// gpu: the loaded GPU kernel, or nullptr with gpu_error saying why there is none.
// needs_determinism: the collection is fresh or frozen, whose answers must not depend on
// the hardware; a kernel that does not promise bit-identical estimates never serves it.
//   off   the CPU kernel
//   auto  the GPU kernel when there is one, it may serve this collection and the batch has
//         at least its min_batch queries; the CPU kernel otherwise
//   on    the GPU kernel, or an error saying why it cannot be used
KernelChoice choose_scan_kernel(GpuMode mode, const RvScanKernel* gpu, const char* gpu_error,
                                std::size_t batch, bool needs_determinism);

// Loads a kernel library (kernels/cuda) and asks its entry point for the kernel; false with
// the reason in *error when the file is missing, lacks the entry point, speaks another
// ABI version or has no usable device. The library stays loaded for the process's life.
bool load_scan_kernel(const char* path, RvScanKernel* out, std::string* error);

}  // namespace ruvector::rulake
