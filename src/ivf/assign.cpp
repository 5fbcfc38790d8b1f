// See assign.h. ||x - c||² ranks like ||c||² - 2<x, c>, which needs one inner product per
// pair; the centroid norms are computed once per call.
#include "ivf/assign.h"

#include <limits>
#include <vector>

#include "ivf/parallel.h"
#include "kernels/cpu/distance.h"

namespace ruvector::ivf {

void nearest_centroids_batch(const float* vectors, std::size_t n, const float* centroids,
                             std::uint32_t clusters, std::uint32_t dim, bool inner_product,
                             unsigned threads, std::uint32_t* out) {
  const auto& k = kernels::distance_kernels();
  std::vector<float> norms(clusters, 0.0f);
  if (!inner_product) {
    for (std::uint32_t c = 0; c < clusters; c++) {
      norms[c] = k.norm_squared(centroids + static_cast<std::size_t>(c) * dim, dim);
    }
  }
  constexpr std::size_t kChunk = 64;
  std::size_t tasks = (n + kChunk - 1) / kChunk;
  parallel_for(threads, tasks, [&](std::size_t task) {
    std::size_t end = std::min(n, (task + 1) * kChunk);
    for (std::size_t i = task * kChunk; i < end; i++) {
      const float* x = vectors + i * dim;
      float best = std::numeric_limits<float>::infinity();
      std::uint32_t best_id = 0;
      for (std::uint32_t c = 0; c < clusters; c++) {
        float dot = k.inner_product(x, centroids + static_cast<std::size_t>(c) * dim, dim);
        float score = inner_product ? -dot : norms[c] - 2 * dot;
        if (score < best) {
          best = score;
          best_id = c;
        }
      }
      out[i] = best_id;
    }
  });
}

}  // namespace ruvector::ivf
