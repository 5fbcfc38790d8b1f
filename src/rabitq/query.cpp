// See query.h; the estimate's formula is kernels/scan/estimate.h, shared with the batch
// scan kernels. Rounding is randomized (floor(x + u), u uniform) so that the quantized
// query is unbiased; u comes from a fixed hash of the coordinate, so the same query always
// gives the same estimates.
#include "rabitq/query.h"

#include <cmath>
#include <cstring>

#include "kernels/cpu/distance.h"
#include "kernels/cpu/query_planes.h"
#include "kernels/scan/estimate.h"
#include "util/splitmix64.h"

namespace ruvector::rabitq {

namespace {

constexpr std::uint64_t kQuerySeed = 0x52614269745121ULL;
constexpr std::uint32_t kDitherPeriod = 1024;

struct DitherTable {
  float u[kDitherPeriod];
};

// The rounding offsets u_i in [0, 1), fixed: a hash of the coordinate (mod 1024), computed
// by the compiler.
constexpr DitherTable make_dither() {
  DitherTable t{};
  for (std::uint32_t i = 0; i < kDitherPeriod; i++) {
    std::uint64_t z = splitmix64(kQuerySeed ^ (static_cast<std::uint64_t>(i) * kSplitMixGamma));
    t.u[i] = static_cast<float>(z >> 40) * (1.0f / 16777216.0f);
  }
  return t;
}
constexpr DitherTable kDither = make_dither();

}  // namespace

void quantize_query(const float* v, std::uint32_t padded_dim, QueryCode* out,
                    std::uint64_t* planes) {
  const auto& k = kernels::query_plane_kernels();
  const kernels::QueryRange range = k.range(v, padded_dim);
  const float delta = (range.high - range.low) / 15.0f;
  const float inv = delta > 0 ? 1.0f / delta : 0.0f;
  const std::uint32_t sum =
      k.quantize(v, padded_dim / 64, range.low, inv, kDither.u, kDitherPeriod, planes);
  out->padded_dim = padded_dim;
  out->low = range.low;
  out->delta = delta;
  out->sum = static_cast<float>(sum);
  out->norm = static_cast<float>(std::sqrt(range.norm_squared));
  out->sqrt_d = std::sqrt(static_cast<float>(padded_dim));
}

float estimate_ip(const QueryCode& query, const std::uint64_t* planes, const std::uint64_t* code,
                  const CodeFactors& factors) {
  if (factors.inv_x0 == 0) return 0;
  const std::uint32_t words = query.padded_dim / 64;
  const std::uint32_t dot = kernels::distance_kernels().bitplane_dot4(code, planes, words);
  return kernels::rabitq_estimate_ip(dot, factors.popcount, factors.inv_x0, query.low, query.delta,
                                     query.sum, query.sqrt_d);
}

void estimate_ip_rows(const QueryCode& query, const std::uint64_t* planes,
                      const std::uint8_t* const* rows, std::size_t code_offset,
                      std::size_t factors_offset, std::uint32_t n, float* out) {
  const auto bitplane_dot4 = kernels::distance_kernels().bitplane_dot4;
  const std::uint32_t words = query.padded_dim / 64;
  // The kernel calls back to back, their results kept in out[] (a uint32 each, as bits);
  // then the float work, which no longer waits on each call.
  for (std::uint32_t i = 0; i < n; i++) {
    const std::uint32_t dot =
        bitplane_dot4(reinterpret_cast<const std::uint64_t*>(rows[i] + code_offset), planes, words);
    std::memcpy(&out[i], &dot, sizeof(dot));
  }
  for (std::uint32_t i = 0; i < n; i++) {
    CodeFactors f;
    std::memcpy(&f, rows[i] + factors_offset, sizeof(f));
    std::uint32_t dot;
    std::memcpy(&dot, &out[i], sizeof(dot));
    out[i] = f.inv_x0 == 0 ? 0
                           : kernels::rabitq_estimate_ip(dot, f.popcount, f.inv_x0, query.low,
                                                         query.delta, query.sum, query.sqrt_d);
  }
}

}  // namespace ruvector::rabitq
