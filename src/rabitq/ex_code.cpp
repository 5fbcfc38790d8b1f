// See ex_code.h. The encoder's search: as t grows, each y_i = floor(t a_i) steps up by one
// at t = (y_i + 1) / a_i; between steps the cosine <y + 1/2, a> / ||y + 1/2|| is constant,
// so visiting the steps in order with a min-heap finds the best t exactly. Like the RaBitQ
// library we scan only [tight(B) · t_end, t_end] with t_end = (2^(B-1) - 1 + 10) / max a_i:
// beyond t_end the largest coordinates lose 10 levels to clipping, which no optimum does;
// below the start too few levels are in use to compete (the start factors per B are the
// library's).
#include "rabitq/ex_code.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <queue>
#include <utility>
#include <vector>

#include "kernels/cpu/bitplane_sum.h"

namespace ruvector::rabitq {

namespace {

constexpr double kTightStart[kMaxExBits + 1] = {0, 0, 0.15, 0.20, 0.52, 0.59, 0.71, 0.75, 0.77};
constexpr int kClippedLevels = 10;
// floor(t a_i) where t a_i lands a hair under an integer by rounding must still step.
constexpr double kStepSlack = 1e-5;

int max_level(int bits) { return (1 << (bits - 1)) - 1; }

}  // namespace

double best_rescale(const float* a, std::uint32_t padded_dim, int bits) {
  const int top = max_level(bits);
  double max_a = 0;
  for (std::uint32_t i = 0; i < padded_dim; i++) max_a = std::max(max_a, static_cast<double>(a[i]));
  if (max_a == 0) return 0;
  const double t_end = (top + kClippedLevels) / max_a;
  const double t_start = t_end * kTightStart[bits];

  std::vector<int> y(padded_dim);
  double numerator = 0;               // <y + 1/2, a>
  double square = 0.25 * padded_dim;  // ||y + 1/2||²
  using Step = std::pair<double, std::uint32_t>;
  std::vector<Step> steps;
  steps.reserve(padded_dim);
  for (std::uint32_t i = 0; i < padded_dim; i++) {
    int level = std::min(static_cast<int>(t_start * a[i] + kStepSlack), top);
    y[i] = level;
    numerator += (level + 0.5) * a[i];
    square += static_cast<double>(level) * level + level;
    if (level < top && a[i] > 0) steps.emplace_back((level + 1) / static_cast<double>(a[i]), i);
  }
  std::priority_queue<Step, std::vector<Step>, std::greater<Step>> next(std::greater<Step>(),
                                                                        std::move(steps));
  double best_cos = numerator / std::sqrt(square);
  double best_t = t_start;
  while (!next.empty()) {
    auto [t, i] = next.top();
    next.pop();
    if (t >= t_end) break;
    int level = ++y[i];
    numerator += a[i];
    square += 2.0 * level;  // (l + 1/2)² - (l - 1/2)²
    double cos = numerator / std::sqrt(square);
    if (cos > best_cos) {
      best_cos = cos;
      best_t = t;
    }
    if (level < top) next.emplace((level + 1) / static_cast<double>(a[i]), i);
  }
  return best_t;
}

void encode_ex(const float* residual, std::uint32_t padded_dim, int bits, std::uint64_t* planes,
               ExFactors* factors) {
  const std::uint32_t words = padded_dim / 64;
  const int ex_bits = bits - 1;
  const int top = max_level(bits);
  std::memset(planes, 0, sizeof(std::uint64_t) * ex_code_words(padded_dim, bits));
  double l2 = 0;
  for (std::uint32_t i = 0; i < padded_dim; i++)
    l2 += static_cast<double>(residual[i]) * residual[i];
  const double norm = std::sqrt(l2);
  factors->rescale = 0;
  factors->error_unit = 0;
  if (norm == 0) return;  // r = 0: exact without a code, as in the 1-bit code

  std::vector<float> a(padded_dim);
  for (std::uint32_t i = 0; i < padded_dim; i++) {
    a[i] = static_cast<float>(std::fabs(residual[i]) / norm);
  }
  const double t = best_rescale(a.data(), padded_dim, bits);
  double ip = 0, square = 0;  // <y + 1/2, a>, ||y + 1/2||²
  for (std::uint32_t i = 0; i < padded_dim; i++) {
    int y = std::min(static_cast<int>(t * a[i] + kStepSlack), top);
    ip += (y + 0.5) * a[i];
    square += (y + 0.5) * (y + 0.5);
    int ex = residual[i] > 0 ? y : top - y;
    for (int b = 0; b < ex_bits; b++) {
      // Plane 0 is the most significant ex bit.
      if ((ex >> (ex_bits - 1 - b)) & 1) planes[b * words + i / 64] |= std::uint64_t{1} << (i % 64);
    }
  }
  const double x0 = std::min(1.0, ip / std::sqrt(square));
  const double d = padded_dim;
  factors->rescale = static_cast<float>(1 / ip);
  factors->error_unit =
      static_cast<float>(std::sqrt(std::max(0.0, 1 - x0 * x0)) / x0 / std::sqrt(d - 1));
}

float estimate_ip_ex(const float* v, float v_sum, std::uint32_t padded_dim, int bits,
                     const std::uint64_t* sign_code, const std::uint64_t* ex_planes,
                     const ExFactors& factors) {
  if (factors.rescale == 0) return 0;
  // <x, v> = Σ u_i v_i - c_B Σ v_i with c_B = (2^B - 1)/2: the codeword is centred. The
  // sign bit is u_i's top bit.
  const std::uint32_t words = padded_dim / 64;
  const kernels::BitplaneSumFn sum = kernels::bitplane_sum();
  const float weighted = static_cast<float>(1 << (bits - 1)) * sum(sign_code, 1, v, words) +
                         sum(ex_planes, bits - 1, v, words);
  const float centre = 0.5f * static_cast<float>((1 << bits) - 1);
  return (weighted - centre * v_sum) * factors.rescale;
}

}  // namespace ruvector::rabitq
