// Nearest centroids for many rows at once, pruned by a low-rank lower bound. A build that
// assigns every row of a large table to one of thousands of lists otherwise computes every
// row's distance to every centroid: at 1M rows × 2000 lists × 832 dimensions that was most of
// CREATE INDEX (docs/benchmarks.md, "~1M near-duplicates").
//
// With P the orthogonal projection onto a rank-r subspace,
//   ||x − c||² = ||P x − P c||² + ||(I − P)(x − c)||² ≥ ||P x − P c||² + (||x − Px|| − ||c −
//   Pc||)²,
// which costs r multiply-adds a centroid instead of dim. The subspace is the centroids' top
// principal directions, where their differences lie, so the bound is tight for the lists
// that matter: on Fashion-MNIST at rank 64, 16 of 1960 lists a row need their exact
// distance. (Adding the bound's second term, (||x − Px|| − ||c − Pc||)², cut that to 12
// but cost more per list than it saved.) The answer is
// the exact nearest centroid, chosen as nearest_centroids_batch chooses (smallest
// ||c||² − 2<x, c>, ties to the lower id), up to rows whose best lists score within float
// rounding of each other. Deterministic for the same centroids, whatever the thread count.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ruvector::ivf {

// A subspace and the centroids seen through it. All arrays are the caller's.
struct CentroidProjection {
  std::uint32_t lists = 0;
  std::uint32_t dim = 0;
  std::uint32_t rank = 0;
  const float* centroids = nullptr;  // lists × dim, the caller's centroids
  float* norms_squared = nullptr;    // lists: ||c||², as kernels::norm_squared gives it
  float* basis = nullptr;            // rank × dim, orthonormal rows
  float* projected = nullptr;        // lists × rank: the coordinates of P c
  float* slack = nullptr;            // lists: the rounding allowed for, in proportion to ||c||²
  float* residual_norms = nullptr;   // lists: ||c − P c||
  float* projected_norms = nullptr;  // lists: ||P c||²
};

// The rank worth projecting to, or 0 where the plain scan is as fast (few lists, or too few
// dimensions for a smaller subspace to save work).
std::uint32_t projection_rank(std::uint32_t lists, std::uint32_t dim);

// Floats of the caller's buffer for build_projection.
std::size_t projection_floats(std::uint32_t lists, std::uint32_t dim, std::uint32_t rank);

// Fills *out from `centroids` (lists × dim, kept by the caller while *out is used) and a
// buffer of projection_floats(lists, dim, rank) floats; rank from projection_rank, > 0. The
// subspace comes from a few rounds of subspace iteration on the centred centroids,
// started from a fixed pseudo-random basis: the same centroids give the same bytes.
void build_projection(const float* centroids, std::uint32_t lists, std::uint32_t dim,
                      std::uint32_t rank, unsigned threads, float* buffer, CentroidProjection* out);

// Fills *out from a basis and coordinates that build_projection made (an index stores
// them) and the centroids they came from: the per-list norms go to `norms`, 4 × lists
// floats. build_projection ends with the same step.
void attach_projection(const float* centroids, std::uint32_t lists, std::uint32_t dim,
                       std::uint32_t rank, const float* basis, const float* projected, float* norms,
                       CentroidProjection* out);

// For every list, a lower bound of its probe key as rabitq::centroid_key computes it in
// float: ||q − c||², or with inner_product −<q, c>, from the subspace alone,
//   ||q − c||² ≥ ||P q − P c||² + (||q − P q|| − ||c − P c||)²,
//   −<q, c> = −<P q, P c> − <q − P q, c − P c> ≥ −<P q, P c> − ||q − P q|| ||c − P c||,
// less an allowance for the rounding of both sides, so lower[i] <= the key. It reads rank
// floats a list where key_lower_bounds (centroid_codes.h) reads dim bytes: at 1960 lists of
// 832 dimensions, 0.5 MB a query instead of 1.6 MB. scratch: rank floats.
void projected_lower_bounds(const float* q, const CentroidProjection& p, bool inner_product,
                            float* scratch, float* lower);

// For each of n row-major vectors (dim floats each), the id of its nearest centroid by L2.
void nearest_centroids_projected(const float* vectors, std::size_t n, const CentroidProjection& p,
                                 unsigned threads, std::uint32_t* out);

}  // namespace ruvector::ivf
