// See query.h; the estimate's formula is kernels/scan/estimate.h, shared with the batch
// scan kernels. Rounding is randomized (floor(x + u), u uniform) so that the quantized
// query is unbiased; u comes from a fixed hash of the coordinate, so the same query always
// gives the same estimates.
#include "rabitq/query.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/cpu/distance.h"
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
  const std::uint32_t words = padded_dim / 64;
  float low = v[0], high = v[0];
  double norm = 0;
  for (std::uint32_t i = 0; i < padded_dim; i++) {
    low = std::min(low, v[i]);
    high = std::max(high, v[i]);
    norm += static_cast<double>(v[i]) * v[i];
  }
  const float delta = (high - low) / 15.0f;
  const float inv = delta > 0 ? 1.0f / delta : 0.0f;
  std::uint32_t sum = 0;
  for (std::uint32_t w = 0; w < words; w++) {
    std::uint64_t p0 = 0, p1 = 0, p2 = 0, p3 = 0;
    for (std::uint32_t b = 0; b < 64; b++) {
      std::uint32_t i = w * 64 + b;
      // Non-negative, so truncation is floor.
      int q = static_cast<int>((v[i] - low) * inv + kDither.u[i % kDitherPeriod]);
      q = std::min(q, 15);
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
  out->padded_dim = padded_dim;
  out->low = low;
  out->delta = delta;
  out->sum = static_cast<float>(sum);
  out->norm = static_cast<float>(std::sqrt(norm));
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

}  // namespace ruvector::rabitq
