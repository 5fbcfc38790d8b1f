// query_planes.h in portable code: the reference the SIMD versions must match.
#include <algorithm>

#include "kernels/cpu/query_planes.h"

namespace ruvector::kernels::detail {

namespace {

QueryRange extend_range(QueryRange r, const float* v, std::uint32_t n) {
  for (std::uint32_t i = 0; i < n; i++) {
    r.low = std::min(r.low, v[i]);
    r.high = std::max(r.high, v[i]);
    r.norm_squared += static_cast<double>(v[i]) * v[i];
  }
  return r;
}

QueryRange range(const float* v, std::uint32_t n) { return extend_range({v[0], v[0], 0.0}, v, n); }

std::uint32_t quantize(const float* v, std::uint32_t words, float low, float inv,
                       const float* dither, std::uint32_t dither_period, std::uint64_t* planes) {
  std::uint32_t sum = 0;
  for (std::uint32_t w = 0; w < words; w++) {
    std::uint64_t p0 = 0, p1 = 0, p2 = 0, p3 = 0;
    const float* u = dither + (static_cast<std::uint64_t>(w) * 64) % dither_period;
    for (std::uint32_t b = 0; b < 64; b++) {
      // Non-negative, so truncation is floor.
      float scaled = (v[w * 64 + b] - low) * inv;
      int q = std::min(static_cast<int>(scaled + u[b]), 15);
      sum += static_cast<std::uint32_t>(q);
      p0 |= static_cast<std::uint64_t>(q & 1) << b;
      p1 |= static_cast<std::uint64_t>((q >> 1) & 1) << b;
      p2 |= static_cast<std::uint64_t>((q >> 2) & 1) << b;
      p3 |= static_cast<std::uint64_t>((q >> 3) & 1) << b;
    }
    planes[w] = p0;
    planes[words + w] = p1;
    planes[2 * words + w] = p2;
    planes[3 * words + w] = p3;
  }
  return sum;
}

}  // namespace

QueryRange finish_range(const float* low_lanes, const float* high_lanes, int lanes,
                        const double* square_sums, int sums, const float* tail,
                        std::uint32_t tail_n) {
  QueryRange r{low_lanes[0], high_lanes[0], 0.0};
  for (int j = 0; j < lanes; j++) {
    r.low = std::min(r.low, low_lanes[j]);
    r.high = std::max(r.high, high_lanes[j]);
  }
  for (int j = 0; j < sums; j++) r.norm_squared += square_sums[j];
  return extend_range(r, tail, tail_n);
}

const QueryPlaneKernels kQueryPlanesScalar{&range, &quantize};

}  // namespace ruvector::kernels::detail
