// See assign.h. ||x - c||² ranks like ||c||² - 2<x, c>, which needs one inner product per
// pair; the centroid norms are computed once per call. Rows are taken 64 at a time and
// centroids in blocks that fit in L2 cache, so each block is read from memory once per 64
// rows instead of once per row (a 1M-row build against 2000 centroids of 768 dimensions
// otherwise streams 6 MB of centroids per row), and blocks of four rows by four centroids
// share their loads (inner_product_4x4, which gives the 1x4 kernel's bits: the assignment
// does not depend on how rows fall into blocks).
#include "ivf/assign.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "ivf/parallel.h"
#include "kernels/cpu/distance.h"

namespace ruvector::ivf {

namespace {
constexpr std::size_t kRowChunk = 64;
constexpr std::size_t kBlockBytes = 256 * 1024;

// The blocked scan behind both entry points. With kAll it also writes every row's score for
// every centroid into scores (n × clusters).
template <bool kAll>
void nearest_impl(const float* vectors, std::size_t n, const float* centroids,
                  std::uint32_t clusters, std::uint32_t dim, bool inner_product, unsigned threads,
                  std::uint32_t* out, float* scores, const float* norms_squared) {
  const auto& k = kernels::distance_kernels();
  std::vector<float> computed;
  const float* norms = norms_squared;
  if (!inner_product && norms == nullptr) {
    computed.resize(clusters);
    for (std::uint32_t c = 0; c < clusters; c++) {
      computed[c] = k.norm_squared(centroids + static_cast<std::size_t>(c) * dim, dim);
    }
    norms = computed.data();
  }
  const std::uint32_t block = static_cast<std::uint32_t>(
      std::max<std::size_t>(1, kBlockBytes / (sizeof(float) * std::max<std::uint32_t>(dim, 1))));
  std::size_t tasks = (n + kRowChunk - 1) / kRowChunk;
  parallel_for(threads, tasks, [&](std::size_t task) {
    std::size_t begin = task * kRowChunk;
    std::size_t end = std::min(n, begin + kRowChunk);
    float best[kRowChunk];
    std::uint32_t best_id[kRowChunk];
    std::fill(best, best + kRowChunk, std::numeric_limits<float>::infinity());
    std::fill(best_id, best_id + kRowChunk, 0u);
    // Blocks in increasing centroid order and a strict comparison: ties still go to the
    // lowest id, exactly as a plain scan.
    auto consider = [&](std::size_t row, std::uint32_t c, float dot) {
      float score = inner_product ? -dot : norms[c] - 2 * dot;
      if (kAll) scores[(begin + row) * clusters + c] = score;
      if (score < best[row]) {
        best[row] = score;
        best_id[row] = c;
      }
    };
    for (std::uint32_t c0 = 0; c0 < clusters; c0 += block) {
      std::uint32_t c1 = std::min(clusters, c0 + block);
      std::size_t i = begin;
      // Four rows by four centroids at a time; the dots are those of the 1x4 kernel.
      for (; i + 4 <= end; i += 4) {
        const float* x = vectors + i * dim;
        std::uint32_t c = c0;
        for (; c + 4 <= c1; c += 4) {
          float dots[16];
          k.inner_product_4x4(x, dim, centroids + static_cast<std::size_t>(c) * dim, dim, dim,
                              dots);
          for (std::size_t r = 0; r < 4; r++) {
            for (std::uint32_t j = 0; j < 4; j++) consider(i - begin + r, c + j, dots[r * 4 + j]);
          }
        }
        for (; c < c1; c++) {
          for (std::size_t r = 0; r < 4; r++) {
            consider(
                i - begin + r, c,
                k.inner_product(x + r * dim, centroids + static_cast<std::size_t>(c) * dim, dim));
          }
        }
      }
      for (; i < end; i++) {
        const float* x = vectors + i * dim;
        std::uint32_t c = c0;
        for (; c + 4 <= c1; c += 4) {
          float dots[4];
          k.inner_product_1x4(x, centroids + static_cast<std::size_t>(c) * dim, dim, dim, dots);
          for (std::uint32_t j = 0; j < 4; j++) consider(i - begin, c + j, dots[j]);
        }
        for (; c < c1; c++) {
          consider(i - begin, c,
                   k.inner_product(x, centroids + static_cast<std::size_t>(c) * dim, dim));
        }
      }
    }
    for (std::size_t i = begin; i < end; i++) out[i] = best_id[i - begin];
  });
}

}  // namespace

void nearest_centroids_batch(const float* vectors, std::size_t n, const float* centroids,
                             std::uint32_t clusters, std::uint32_t dim, bool inner_product,
                             unsigned threads, std::uint32_t* out, const float* norms_squared) {
  nearest_impl<false>(vectors, n, centroids, clusters, dim, inner_product, threads, out, nullptr,
                      norms_squared);
}

void nearest_centroids_scores(const float* vectors, std::size_t n, const float* centroids,
                              std::uint32_t clusters, std::uint32_t dim, unsigned threads,
                              std::uint32_t* out, float* scores) {
  nearest_impl<true>(vectors, n, centroids, clusters, dim, false, threads, out, scores, nullptr);
}

}  // namespace ruvector::ivf
