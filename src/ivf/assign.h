// Nearest-centroid search for IVF: by L2 distance, or by largest inner product for
// spherical (inner product) indexes. Ties go to the lowest centroid id, so results are
// deterministic.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ruvector::ivf {

// For each of n row-major vectors, the id of its nearest centroid. norms_squared: the
// centroids' ||c||² as kernels::norm_squared gives them, when the caller keeps them (a
// single-row call otherwise spends as long on them as on the row); null computes them.
void nearest_centroids_batch(const float* vectors, std::size_t n, const float* centroids,
                             std::uint32_t clusters, std::uint32_t dim, bool inner_product,
                             unsigned threads, std::uint32_t* out,
                             const float* norms_squared = nullptr);

// L2 only: the same ids, and every row's score for every centroid in scores (n × clusters,
// row-major): ||c||² − 2<x, c>, to which ||x||² adds up to the squared distance.
void nearest_centroids_scores(const float* vectors, std::size_t n, const float* centroids,
                              std::uint32_t clusters, std::uint32_t dim, unsigned threads,
                              std::uint32_t* out, float* scores);

}  // namespace ruvector::ivf
