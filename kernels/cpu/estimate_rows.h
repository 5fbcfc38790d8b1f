// RaBitQ estimates of many rows of one probed list from their bit-plane dots: the float
// work of estimate_from_dot (kernels/scan/scan_device.h), which the CPU scan of ruLake's
// images paid one row at a time (a division and a dozen dependent operations per row, 18%
// of a federated search). Per ISA, lane by lane in the scalar function's operations and
// order, built without FMA contraction (kernels/cpu/isa_flags.mk), so every ISA gives the
// scalar function's bits, and so the GPU kernel's.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/scan/scan_kernel.h"

namespace ruvector::kernels {

struct EstimateKernels {
  // out[i] = estimate_from_dot(dots[i], factors[i], job, inner_product) for i < n; every
  // dot below 2^31 (at most 15 × the padded dimensions).
  void (*distances)(const std::uint32_t* dots, const RvCodeFactors* factors, std::size_t n,
                    const RvScanJob& job, bool inner_product, float* out);
};

// The kernels of the process's ISA (isa.h).
const EstimateKernels& estimate_kernels();
// One ISA's ("avx512", "avx2", "scalar"), or nullptr where this CPU lacks it.
const EstimateKernels* estimate_kernels_for(const char* isa);

namespace detail {
extern const EstimateKernels kEstimatesScalar;
extern const EstimateKernels kEstimatesAvx2;
extern const EstimateKernels kEstimatesAvx512;
}  // namespace detail

}  // namespace ruvector::kernels
