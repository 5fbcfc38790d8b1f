// The clustered Gaussian data of the benchmarks (tools/gen_clustered, bench/gpu_scan),
// deterministic from a seed with the same standard library.
//
// Real embeddings have a low intrinsic dimension: each row is its cluster's centre plus a
// 32-dimensional Gaussian spread through one shared random basis, plus a little isotropic
// noise. (Pure isotropic noise in 768 dimensions makes every distance within a cluster
// nearly equal, which no real data set does.) Centres lie ~78 apart, rows ~20 from their
// centre: the clusters are separate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace ruvector::tools {

class ClusteredData {
 public:
  ClusteredData(int dim, int clusters, std::uint64_t seed)
      : dim_(dim), clusters_(clusters), rng_(seed) {
    centres_.resize(static_cast<std::size_t>(clusters) * dim);
    for (float& c : centres_) c = normal_(rng_) * 2.0f;
    basis_.resize(static_cast<std::size_t>(kLatent) * dim);
    for (float& b : basis_) b = normal_(rng_) / 8.0f;
  }

  // The next row, dim floats into v.
  void draw(float* v) {
    const float* c = &centres_[(rng_() % clusters_) * dim_];
    float z[kLatent];
    for (float& x : z) x = normal_(rng_);
    for (int i = 0; i < dim_; i++) v[i] = c[i] + 0.1f * normal_(rng_);
    for (int l = 0; l < kLatent; l++) {
      const float* b = &basis_[static_cast<std::size_t>(l) * dim_];
      for (int i = 0; i < dim_; i++) v[i] += z[l] * b[i];
    }
  }

 private:
  static constexpr int kLatent = 32;
  int dim_;
  int clusters_;
  std::mt19937_64 rng_;
  std::normal_distribution<float> normal_{0.0f, 1.0f};
  std::vector<float> centres_;
  std::vector<float> basis_;
};

}  // namespace ruvector::tools
