// See calibration.h. The pairs are those a scan meets: each query's nearest lists by the
// scan's centroid key, the list's query vector quantized as the scan quantizes it, and each
// row's code and factors as the build encodes them.
#include "rabitq/calibration.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "ivf/assign.h"
#include "kernels/cpu/distance.h"
#include "rabitq/code.h"
#include "rabitq/list_query.h"
#include "rabitq/query.h"

namespace ruvector::rabitq {

std::vector<float> normalized_errors(const CalibrationSample& s, std::uint32_t queries,
                                     std::uint32_t probes, unsigned threads) {
  std::vector<float> z;
  if (s.n <= queries || s.lists == 0) return z;
  const std::uint32_t padded = s.padded_dim;
  const std::size_t words = padded / 64;
  const std::size_t m = s.n - queries;
  const float* data = s.rows + static_cast<std::size_t>(queries) * padded;
  const auto& k = kernels::distance_kernels();

  std::vector<std::uint32_t> list_of(m);
  ivf::nearest_centroids_batch(data, m, s.centroids, s.lists, padded, /*inner_product=*/false,
                               threads, list_of.data());
  // Rows grouped by list (a counting sort), each encoded against its centroid.
  std::vector<std::size_t> first(s.lists + 1, 0);
  for (std::uint32_t l : list_of) first[l + 1]++;
  std::partial_sum(first.begin(), first.end(), first.begin());
  std::vector<std::size_t> by_list(m), fill(first.begin(), first.end() - 1);
  for (std::size_t i = 0; i < m; i++) by_list[fill[list_of[i]]++] = i;
  std::vector<std::uint64_t> codes(m * words);
  std::vector<CodeFactors> factors(m);
  std::vector<float> residual(padded);
  for (std::size_t i = 0; i < m; i++) {
    const float* c = s.centroids + static_cast<std::size_t>(list_of[i]) * padded;
    for (std::uint32_t j = 0; j < padded; j++) residual[j] = data[i * padded + j] - c[j];
    encode(residual.data(), padded, codes.data() + i * words, &factors[i]);
  }

  probes = std::min(probes, s.lists);
  std::vector<std::pair<float, std::uint32_t>> keys(s.lists);
  std::vector<float> v(padded);
  std::vector<std::uint64_t> planes(query_code_words(padded));
  for (std::uint32_t q = 0; q < queries; q++) {
    const float* query = s.rows + static_cast<std::size_t>(q) * padded;
    for (std::uint32_t l = 0; l < s.lists; l++) {
      keys[l] = {
          centroid_key(s.metric, query, s.centroids + static_cast<std::size_t>(l) * padded, padded),
          l};
    }
    std::partial_sort(keys.begin(), keys.begin() + probes, keys.end());
    for (std::uint32_t p = 0; p < probes; p++) {
      const std::uint32_t l = keys[p].second;
      const float* c = s.centroids + static_cast<std::size_t>(l) * padded;
      ListQuery lq;
      prepare_list_query(s.metric, query, c, padded, v.data(), planes.data(), &lq);
      const float v_norm = lq.code.norm;
      if (v_norm == 0) continue;
      const float cv = k.inner_product(c, v.data(), padded);
      for (std::size_t at = first[l]; at < first[l + 1]; at++) {
        const std::size_t i = by_list[at];
        const CodeFactors& f = factors[i];
        if (f.error_unit == 0) continue;
        const float est = estimate_ip(lq.code, planes.data(), codes.data() + i * words, f);
        // <r, v> = <x, v> - <c, v>: the residual is not kept.
        const float truth =
            (k.inner_product(data + i * padded, v.data(), padded) - cv) / f.residual_norm;
        z.push_back((truth - est) / (f.error_unit * v_norm));
      }
    }
  }
  return z;
}

float epsilon_for_miss_rate(std::vector<float> z, double miss_rate) {
  if (z.empty()) return 0;
  // The largest z that more than miss_rate of the pairs reach: epsilon at or above it
  // leaves at most miss_rate · n pairs above.
  const auto above =
      static_cast<std::size_t>(std::floor(miss_rate * static_cast<double>(z.size())));
  const std::size_t at = z.size() - 1 - std::min(above, z.size() - 1);
  std::nth_element(z.begin(), z.begin() + static_cast<std::ptrdiff_t>(at), z.end());
  return std::max(0.0f, z[at]);
}

float full_probe_epsilon(const std::vector<float>& z) {
  constexpr double kCoarseRate = 1e-3;
  constexpr double kNormalRatio = 3.719 / 3.090;  // normal quantiles at 1e-4 and 1e-3
  if (z.size() < 1000) return 0;
  float full = static_cast<float>(epsilon_for_miss_rate(z, kCoarseRate) * kNormalRatio);
  if (static_cast<double>(z.size()) >= 10 / kFullMissRate) {
    full = std::max(full, epsilon_for_miss_rate(z, kFullMissRate));
  }
  return full;
}

}  // namespace ruvector::rabitq
