// See nearest_projected.h. The lower bounds of a chunk of rows against every list are one
// blocked product in the subspace (nearest_centroids_scores at rank dimensions); the exact
// scores are then computed only for lists whose bound could beat the best so far.
#include "ivf/nearest_projected.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "ivf/assign.h"
#include "ivf/parallel.h"
#include "ivf/probe_order.h"
#include "kernels/cpu/distance.h"
#include "util/splitmix64.h"

namespace ruvector::ivf {

namespace {

// Subspace iterations: the bound only needs a good subspace, not converged eigenvectors;
// more rounds changed the exact distances a row needs by under 5% on Fashion-MNIST.
constexpr int kIterations = 5;
constexpr std::uint64_t kBasisSeed = 0x5eed0f5ab5ace5ULL;
constexpr std::size_t kRowChunk = 64;
// Rounding of the bound and of the exact scores, relative to ||x||² + ||c||²: float sums of a
// few thousand terms stay far inside it, and it widens the bound by a negligible amount.
const double kSlack = std::ldexp(1.0, -14);

// Takes rows 0..i-1 (orthonormal) out of row i; returns what is left of its norm.
double take_out(std::vector<double>* rows, std::uint32_t i, std::uint32_t dim) {
  double* bi = rows->data() + std::size_t{i} * dim;
  for (std::uint32_t j = 0; j < i; j++) {
    const double* bj = rows->data() + std::size_t{j} * dim;
    double dot = 0;
    for (std::uint32_t t = 0; t < dim; t++) dot += bi[t] * bj[t];
    for (std::uint32_t t = 0; t < dim; t++) bi[t] -= dot * bj[t];
  }
  double norm = 0;
  for (std::uint32_t t = 0; t < dim; t++) norm += bi[t] * bi[t];
  return std::sqrt(norm);
}

// Modified Gram-Schmidt on rank rows of dim doubles. A row lost to the others (centroids
// spanning fewer than rank dimensions) is replaced by a unit axis outside their span: any
// orthonormal basis keeps the bound valid.
void orthonormalize(std::vector<double>* rows, std::uint32_t rank, std::uint32_t dim) {
  for (std::uint32_t i = 0; i < rank; i++) {
    double* bi = rows->data() + std::size_t{i} * dim;
    double norm = take_out(rows, i, dim);
    for (std::uint32_t axis = i; norm < 1e-9; axis++) {
      std::fill(bi, bi + dim, 0.0);
      bi[axis % dim] = 1;
      norm = take_out(rows, i, dim);
    }
    for (std::uint32_t t = 0; t < dim; t++) bi[t] /= norm;
  }
}

// Coordinates of v in the basis (rank a multiple of 4).
void project(const float* v, const float* basis, std::uint32_t rank, std::uint32_t dim,
             float* coords) {
  const auto& k = kernels::distance_kernels();
  for (std::uint32_t i = 0; i < rank; i += 4) {
    k.inner_product_1x4(v, basis + std::size_t{i} * dim, dim, dim, coords + i);
  }
}

}  // namespace

std::uint32_t projection_rank(std::uint32_t lists, std::uint32_t dim) {
  if (lists < 256 || dim < 128) return 0;
  return std::min<std::uint32_t>(64, (dim / 8) & ~3u);
}

std::size_t projection_floats(std::uint32_t lists, std::uint32_t dim, std::uint32_t rank) {
  return std::size_t{rank} * dim + std::size_t{lists} * rank + 4 * std::size_t{lists};
}

void attach_projection(const float* centroids, std::uint32_t lists, std::uint32_t dim,
                       std::uint32_t rank, const float* basis, const float* projected, float* norms,
                       CentroidProjection* out) {
  const auto& k = kernels::distance_kernels();
  CentroidProjection p;
  p.lists = lists;
  p.dim = dim;
  p.rank = rank;
  p.centroids = centroids;
  p.basis = const_cast<float*>(basis);
  p.projected = const_cast<float*>(projected);
  p.norms_squared = norms;
  p.slack = norms + lists;
  p.residual_norms = norms + 2 * std::size_t{lists};
  p.projected_norms = norms + 3 * std::size_t{lists};
  for (std::uint32_t c = 0; c < lists; c++) {
    const float* x = centroids + std::size_t{c} * dim;
    p.norms_squared[c] = k.norm_squared(x, dim);
    p.slack[c] = static_cast<float>(kSlack * p.norms_squared[c]);
    p.projected_norms[c] = k.norm_squared(projected + std::size_t{c} * rank, rank);
    p.residual_norms[c] = static_cast<float>(
        std::sqrt(std::max(0.0, static_cast<double>(p.norms_squared[c]) - p.projected_norms[c])));
  }
  *out = p;
}

void projected_lower_bounds(const float* q, const CentroidProjection& p, bool inner_product,
                            float* scratch, float* lower) {
  const auto& k = kernels::distance_kernels();
  const std::uint32_t rank = p.rank;
  project(q, p.basis, rank, p.dim, scratch);
  const double q_norm_sq = k.norm_squared(q, p.dim);
  const double q_norm = std::sqrt(q_norm_sq);
  const double q_projected = k.norm_squared(scratch, rank);  // ||P q||²
  const double q_residual = std::sqrt(std::max(0.0, q_norm_sq - q_projected));
  // The keys' float sums (dim terms) and the bound's own (the projections, rank terms of
  // dim each), in proportion to ||q||² + ||c||² as in key_lower_bounds, plus the basis's
  // distance from orthonormal (kSlack, as the build's assignment allows for it).
  const double rounding = (p.dim + rank + 16.0) * std::ldexp(1.0, -22) + kSlack;
  // A residual norm is the root of a difference of float sums, off by up to the root of
  // their rounding (|√a − √b| ≤ √|a − b|): each is taken as an interval of that radius.
  const double q_spread = std::sqrt(rounding * q_norm_sq);
  auto bound = [&](std::uint32_t c, float dot) {
    const double c_norm_sq = p.norms_squared[c];
    const double spread = q_spread + std::sqrt(rounding * c_norm_sq);
    double b;
    if (inner_product) {
      b = -static_cast<double>(dot) -
          (q_residual + q_spread) * (p.residual_norms[c] + spread - q_spread) -
          rounding * q_norm * std::sqrt(c_norm_sq);
    } else {
      // ||P q − P c||² from the inner product: its cancellation is a few ulps of ||q||² +
      // ||c||², far inside the allowance.
      const double gap = std::max(0.0, std::fabs(q_residual - p.residual_norms[c]) - spread);
      b = q_projected + p.projected_norms[c] - 2.0 * dot + gap * gap -
          rounding * (q_norm_sq + c_norm_sq);
    }
    lower[c] = float_below(b);
  };
  // Four lists a call (a kernel call each was a third of the bounds' time).
  std::uint32_t c = 0;
  for (; c + 4 <= p.lists; c += 4) {
    float dots[4];
    k.inner_product_1x4(scratch, p.projected + std::size_t{c} * rank, rank, rank, dots);
    for (std::uint32_t j = 0; j < 4; j++) bound(c + j, dots[j]);
  }
  for (; c < p.lists; c++) {
    bound(c, k.inner_product(scratch, p.projected + std::size_t{c} * rank, rank));
  }
}

void build_projection(const float* centroids, std::uint32_t lists, std::uint32_t dim,
                      std::uint32_t rank, unsigned threads, float* buffer,
                      CentroidProjection* out) {
  if (rank == 0 || rank % 4 != 0 || rank > dim || lists == 0) {
    throw std::invalid_argument("build_projection: rank must be a positive multiple of 4");
  }
  const auto& k = kernels::distance_kernels();
  float* const basis_out = buffer;
  float* const projected = buffer + std::size_t{rank} * dim;
  float* const norms = projected + std::size_t{lists} * rank;

  // The centred centroids: their principal directions are where lists differ.
  std::vector<double> mean(dim, 0.0);
  for (std::uint32_t c = 0; c < lists; c++) {
    const float* x = centroids + std::size_t{c} * dim;
    for (std::uint32_t t = 0; t < dim; t++) mean[t] += x[t];
  }
  // Both ways round: rows for Y = X Bᵀ, columns for Bᵀ = Xᵀ Y, so that each step is
  // inner products the SIMD kernels compute.
  std::vector<float> centred(std::size_t{lists} * dim);
  std::vector<float> columns(std::size_t{dim} * lists);
  for (std::uint32_t c = 0; c < lists; c++) {
    const float* x = centroids + std::size_t{c} * dim;
    float* y = centred.data() + std::size_t{c} * dim;
    for (std::uint32_t t = 0; t < dim; t++) {
      y[t] = static_cast<float>(x[t] - mean[t] / lists);
      columns[std::size_t{t} * lists + c] = y[t];
    }
  }

  std::vector<double> basis(std::size_t{rank} * dim);
  std::uint64_t state = kBasisSeed;
  for (double& v : basis) {
    v = static_cast<double>(splitmix64_next(&state) >> 11) * std::ldexp(1.0, -52) - 1.0;
  }
  orthonormalize(&basis, rank, dim);
  std::vector<float> basis_f(basis.size());
  std::vector<float> coords(std::size_t{lists} * rank);
  std::vector<float> coords_t(std::size_t{rank} * lists);
  for (int it = 0; it < kIterations; it++) {
    std::copy(basis.begin(), basis.end(), basis_f.begin());
    // Y = X Bᵀ, then B = Yᵀ X: one step of the power method on XᵀX for every row of B.
    parallel_for(threads, lists, [&](std::size_t c) {
      project(centred.data() + c * dim, basis_f.data(), rank, dim, coords.data() + c * rank);
    });
    for (std::uint32_t c = 0; c < lists; c++) {
      for (std::uint32_t i = 0; i < rank; i++) {
        coords_t[std::size_t{i} * lists + c] = coords[std::size_t{c} * rank + i];
      }
    }
    parallel_for(threads, rank, [&](std::size_t i) {
      for (std::uint32_t t = 0; t < dim; t++) {
        basis[i * dim + t] = k.inner_product(coords_t.data() + i * lists,
                                             columns.data() + std::size_t{t} * lists, lists);
      }
    });
    orthonormalize(&basis, rank, dim);
  }
  std::copy(basis.begin(), basis.end(), basis_out);

  parallel_for(threads, lists, [&](std::size_t c) {
    project(centroids + c * dim, basis_out, rank, dim, projected + c * rank);
  });
  attach_projection(centroids, lists, dim, rank, basis_out, projected, norms, out);
}

void nearest_centroids_projected(const float* vectors, std::size_t n, const CentroidProjection& p,
                                 unsigned threads, std::uint32_t* out) {
  const std::uint32_t lists = p.lists;
  const std::uint32_t dim = p.dim;
  const std::uint32_t rank = p.rank;
  const std::size_t tasks = (n + kRowChunk - 1) / kRowChunk;
  parallel_for(threads, tasks, [&](std::size_t task) {
    const auto& k = kernels::distance_kernels();
    const std::size_t begin = task * kRowChunk;
    const std::size_t rows = std::min(n, begin + kRowChunk) - begin;
    std::vector<float> coords(rows * rank);
    for (std::size_t r = 0; r < rows; r++) {
      project(vectors + (begin + r) * dim, p.basis, rank, dim, coords.data() + r * rank);
    }
    // scores[r][c] = ||Pc||² − 2<Px, Pc>: the bound's first term less ||Px||².
    std::vector<float> scores(rows * lists);
    std::vector<std::uint32_t> unused(rows);
    nearest_centroids_scores(coords.data(), rows, p.projected, lists, rank, 1, unused.data(),
                             scores.data());
    for (std::size_t r = 0; r < rows; r++) {
      const float* x = vectors + (begin + r) * dim;
      const float* s = scores.data() + r * lists;
      const float* xp = coords.data() + r * rank;
      const float x_norm = k.norm_squared(x, dim);
      // ||x − c||² ≥ ||Px − Pc||² = s[c] + ||Px||², so a list whose s[c] exceeds the best
      // exact score so far by more than ||x||² − ||Px||² (and the rounding) cannot win.
      const float offset = x_norm - k.norm_squared(xp, rank) + static_cast<float>(kSlack) * x_norm;
      std::uint32_t first = 0;
      for (std::uint32_t c = 1; c < lists; c++) {
        if (s[c] < s[first]) first = c;
      }
      // The list nearest in the subspace is most likely the nearest; then only lists whose
      // bound could beat it get their exact score, ties to the lower id as in the full scan.
      auto score = [&](std::uint32_t c) {
        return p.norms_squared[c] - 2 * k.inner_product(x, p.centroids + std::size_t{c} * dim, dim);
      };
      std::uint32_t best_id = first;
      float best = score(first);
      for (std::uint32_t c = 0; c < lists; c++) {
        if (s[c] - p.slack[c] > best + offset || c == first) continue;
        const float sc = score(c);
        if (sc < best || (sc == best && c < best_id)) {
          best = sc;
          best_id = c;
        }
      }
      out[begin + r] = best_id;
    }
  });
}

}  // namespace ruvector::ivf
