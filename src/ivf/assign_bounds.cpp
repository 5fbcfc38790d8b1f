// See assign_bounds.h. The first assignment is the blocked kernel of assign.cpp, which
// gives every row-centroid distance at once; later ones go row by row.
#include "ivf/assign_bounds.h"

#include <algorithm>
#include <cmath>

#include "ivf/assign.h"
#include "ivf/parallel.h"
#include "kernels/cpu/distance.h"

namespace ruvector::ivf {

namespace {
constexpr std::size_t kRowChunk = 256;  // rows per task
}  // namespace

std::size_t AssignmentBounds::bytes(std::size_t n, std::uint32_t clusters) {
  return sizeof(float) * n * (std::size_t{clusters} + 1) + sizeof(float) * clusters;
}

AssignmentBounds::AssignmentBounds(const float* data, std::size_t n, std::uint32_t dim,
                                   std::uint32_t clusters, unsigned threads)
    : data_(data),
      n_(n),
      dim_(dim),
      clusters_(clusters),
      threads_(threads),
      upper_(n),
      lower_(n * clusters),
      drift_(clusters, 0.0f) {}

void AssignmentBounds::assign(const float* centroids, std::uint32_t* assign) {
  const auto& kern = kernels::distance_kernels();
  const std::size_t k = clusters_;
  const std::size_t tasks = (n_ + kRowChunk - 1) / kRowChunk;
  if (first_) {
    first_ = false;
    nearest_centroids_scores(data_, n_, centroids, clusters_, dim_, threads_, assign,
                             lower_.data());
    parallel_for(threads_, tasks, [&](std::size_t task) {
      const std::size_t end = std::min(n_, (task + 1) * kRowChunk);
      for (std::size_t i = task * kRowChunk; i < end; i++) {
        const float norm = kern.norm_squared(data_ + i * dim_, dim_);
        float* l = &lower_[i * k];
        for (std::size_t c = 0; c < k; c++) l[c] = std::sqrt(std::max(l[c] + norm, 0.0f));
        upper_[i] = l[assign[i]];
      }
    });
    last_distances_ = n_ * k;
    return;
  }
  std::vector<std::size_t> computed(tasks, 0);
  parallel_for(threads_, tasks, [&](std::size_t task) {
    const std::size_t end = std::min(n_, (task + 1) * kRowChunk);
    std::size_t count = 0;
    for (std::size_t i = task * kRowChunk; i < end; i++) {
      const float* x = data_ + i * dim_;
      float* l = &lower_[i * k];
      for (std::size_t c = 0; c < k; c++) l[c] -= drift_[c];
      std::uint32_t a = assign[i];
      float u = upper_[i] + drift_[a];
      bool tight = false;  // u is the exact distance to centroid a
      for (std::uint32_t c = 0; c < k; c++) {
        if (c == a || u < l[c]) continue;
        if (!tight) {
          u = std::sqrt(kern.l2_squared(x, centroids + std::size_t{a} * dim_, dim_));
          l[a] = u;
          tight = true;
          count++;
          if (u < l[c]) continue;
        }
        const float d = std::sqrt(kern.l2_squared(x, centroids + std::size_t{c} * dim_, dim_));
        l[c] = d;
        count++;
        // Ties go to the lower id, as in a full scan.
        if (d < u || (d == u && c < a)) {
          a = c;
          u = d;
        }
      }
      assign[i] = a;
      upper_[i] = u;
    }
    computed[task] = count;
  });
  last_distances_ = 0;
  for (std::size_t c : computed) last_distances_ += c;
}

void AssignmentBounds::moved(const float* before, const float* after) {
  const auto& kern = kernels::distance_kernels();
  for (std::uint32_t c = 0; c < clusters_; c++) {
    const std::size_t at = std::size_t{c} * dim_;
    // Rounded up a little: a bound must never move by less than its centroid did.
    drift_[c] = std::sqrt(kern.l2_squared(before + at, after + at, dim_)) * (1 + 1e-6f);
  }
}

}  // namespace ruvector::ivf
