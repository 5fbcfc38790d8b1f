// See code.h. x0 = <ō, o> is the cosine between the residual's direction and its
// quantized codeword; it concentrates near 0.8 and scales both the estimate and its bound.
#include "rabitq/code.h"

#include <cmath>
#include <cstring>

namespace ruvector::rabitq {

void encode(const float* residual, std::uint32_t padded_dim, std::uint64_t* code,
            CodeFactors* factors) {
  std::uint32_t words = padded_dim / 64;
  std::memset(code, 0, sizeof(std::uint64_t) * words);
  double l1 = 0, l2 = 0;
  std::uint32_t ones = 0;
  for (std::uint32_t i = 0; i < padded_dim; i++) {
    float v = residual[i];
    if (v > 0) {
      code[i / 64] |= std::uint64_t{1} << (i % 64);
      ones++;
    }
    l1 += std::fabs(static_cast<double>(v));
    l2 += static_cast<double>(v) * v;
  }
  double norm = std::sqrt(l2);
  factors->residual_norm = static_cast<float>(norm);
  factors->popcount = ones;
  if (norm == 0 || l1 == 0) {
    // r = 0: the row sits on the centroid and its distance is exact without the code.
    factors->inv_x0 = 0;
    factors->error_unit = 0;
    return;
  }
  double d = padded_dim;
  double x0 = l1 / (std::sqrt(d) * norm);
  if (x0 > 1) x0 = 1;
  factors->inv_x0 = static_cast<float>(1 / x0);
  factors->error_unit = static_cast<float>(std::sqrt(1 - x0 * x0) / x0 / std::sqrt(d - 1));
}

}  // namespace ruvector::rabitq
