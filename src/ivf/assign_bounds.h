// Elkan's bounds for the assignment step of Lloyd's k-means (C. Elkan, "Using the triangle
// inequality to accelerate k-means", ICML 2003). Each row keeps an upper bound on the
// distance to its centroid and a lower bound on its distance to every centroid. When the
// centroids move, each bound moves by at most as much as its centroid did, and a centroid
// whose lower bound is above the row's upper bound cannot be the nearest: its distance is
// not computed. In high dimensions the bounds of distant centroids stay valid for many
// iterations, so after the first a Lloyd iteration computes a fraction of the distances.
// (Hamerly's single lower bound a row skipped almost nothing on Fashion-MNIST's 784
// dimensions.) It costs a float per row and centroid.
//
// L2 only. Distances come from float arithmetic, so a row whose nearest two centroids are
// within rounding of each other may keep the one it had where a full scan would pick the
// other; the outcome is still deterministic and independent of the thread count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ruvector::ivf {

class AssignmentBounds {
 public:
  // The memory the bounds take for n rows and `clusters` centroids.
  static std::size_t bytes(std::size_t n, std::uint32_t clusters);

  AssignmentBounds(const float* data, std::size_t n, std::uint32_t dim, std::uint32_t clusters,
                   unsigned threads);

  // Writes each row's centroid into assign (n ids): the first call compares every row with
  // every centroid, later ones only where the bounds do not rule a centroid out. Between two
  // calls, moved() must have been told how the centroids changed.
  void assign(const float* centroids, std::uint32_t* assign);

  // The centroids went from `before` to `after` (clusters × dim each).
  void moved(const float* before, const float* after);

  // Row-centroid distances the last assign() computed: for tests and tuning.
  std::size_t last_distances() const { return last_distances_; }

 private:
  const float* data_;
  std::size_t n_;
  std::uint32_t dim_;
  std::uint32_t clusters_;
  unsigned threads_;
  bool first_ = true;
  std::size_t last_distances_ = 0;
  std::vector<float> upper_;  // n
  std::vector<float> lower_;  // n × clusters
  std::vector<float> drift_;  // clusters
};

}  // namespace ruvector::ivf
