// See priority_sample.h.
#include "ivf/priority_sample.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "util/splitmix64.h"

namespace ruvector::ivf {

namespace {

// Moves the rows that `keep` accepts to the front, in order.
template <typename Keep>
std::size_t compact(Keep keep, float* vectors, std::uint64_t* priorities, std::size_t count,
                    std::uint32_t dim) {
  std::size_t out = 0;
  for (std::size_t i = 0; i < count; i++) {
    if (!keep(i)) continue;
    if (out != i) {
      std::memcpy(vectors + out * dim, vectors + i * dim, sizeof(float) * dim);
      priorities[out] = priorities[i];
    }
    out++;
  }
  return out;
}

}  // namespace

std::uint64_t row_priority(std::uint64_t seed, std::uint64_t key) {
  return splitmix64(splitmix64(seed ^ 0x73616d706c65ULL) ^ key);
}

double sample_target_bound(std::uint64_t rows, std::uint32_t sample_factor,
                           std::uint32_t fixed_lists, std::uint64_t limit) {
  const double lists =
      fixed_lists > 0 ? fixed_lists : 2.0 * std::sqrt(static_cast<double>(rows)) + 1.0;
  return std::min(static_cast<double>(sample_factor) * lists, static_cast<double>(limit));
}

std::uint64_t sample_threshold(std::uint64_t rows, std::uint32_t sample_factor,
                               std::uint32_t fixed_lists, std::uint64_t limit) {
  if (rows == 0) return UINT64_MAX;
  const double share =
      kSampleSlack * sample_target_bound(rows, sample_factor, fixed_lists, limit) / rows;
  if (share >= 1.0) return UINT64_MAX;
  return static_cast<std::uint64_t>(std::ldexp(share, 64));
}

std::size_t drop_rows_from(std::uint64_t threshold, float* vectors, std::uint64_t* priorities,
                           std::size_t count, std::uint32_t dim) {
  return compact([&](std::size_t i) { return priorities[i] < threshold; }, vectors, priorities,
                 count, dim);
}

std::size_t keep_smallest(std::size_t target, float* vectors, std::uint64_t* priorities,
                          std::size_t count, std::uint32_t dim) {
  if (count <= target) return count;
  if (target == 0) return 0;
  std::vector<std::uint64_t> sorted(priorities, priorities + count);
  std::nth_element(sorted.begin(), sorted.begin() + (target - 1), sorted.end());
  const std::uint64_t last = sorted[target - 1];  // the target-th smallest
  std::size_t below = 0;
  for (std::size_t i = 0; i < count; i++) below += priorities[i] < last;
  std::size_t ties = target - below;  // rows at exactly `last` still to take, earliest first
  return compact(
      [&](std::size_t i) {
        if (priorities[i] < last) return true;
        if (priorities[i] == last && ties > 0) {
          ties--;
          return true;
        }
        return false;
      },
      vectors, priorities, count, dim);
}

}  // namespace ruvector::ivf
