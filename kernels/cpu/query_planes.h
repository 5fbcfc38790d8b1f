// The query side of a RaBitQ scan, once per probed list: the range and norm of the
// residual v, and its 4-bit quantization stored as bit planes (see rabitq/query.h for the
// estimator that uses them). Per ISA because a scalar loop that packs bits one at a time
// cost as much per list as estimating a hundred codes.
#pragma once

#include <cstdint>

namespace ruvector::kernels {

struct QueryRange {
  float low;   // min v[i]
  float high;  // max v[i]
  double norm_squared;
};

// q[i] = min(15, trunc((v[i] - low) * inv + dither[i % dither_period])), with the product
// and the sum rounded separately (no fused multiply-add) on every ISA, so every ISA gives
// the same planes. Writes bit b of q[64 w + j] to planes[b · words + w], bit j; returns
// Σ q[i]. dither_period is a multiple of 64; v has 64 · words floats, none NaN.
struct QueryPlaneKernels {
  QueryRange (*range)(const float* v, std::uint32_t n);
  std::uint32_t (*quantize)(const float* v, std::uint32_t words, float low, float inv,
                            const float* dither, std::uint32_t dither_period,
                            std::uint64_t* planes);
};

// The kernels of the process's ISA (isa.h).
const QueryPlaneKernels& query_plane_kernels();
// One ISA's ("avx512", "avx2", "scalar"), or nullptr where this CPU lacks it.
const QueryPlaneKernels* query_plane_kernels_for(const char* isa);

namespace detail {
// The SIMD range kernels' last step: their per-lane minima, maxima and sums of squares
// combined, then the coordinates after the last whole register, in scalar code.
QueryRange finish_range(const float* low_lanes, const float* high_lanes, int lanes,
                        const double* square_sums, int sums, const float* tail,
                        std::uint32_t tail_n);
extern const QueryPlaneKernels kQueryPlanesScalar;
extern const QueryPlaneKernels kQueryPlanesAvx2;
extern const QueryPlaneKernels kQueryPlanesAvx512;
}  // namespace detail

}  // namespace ruvector::kernels
