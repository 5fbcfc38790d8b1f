// k-means (Lloyd) for IVF centroids. Deterministic: the same rows, options and seed give
// byte-identical centroids whatever the thread count. Memory that outlives the call is the
// caller's (the centroid buffer); scratch is freed before return.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ruvector::ivf {

// Called between iterations with (done, total); returning false stops training early
// (the centroids then hold the last completed iteration). It must not longjmp or throw.
using KMeansProgress = bool (*)(void* arg, std::uint32_t done, std::uint32_t total);

struct KMeansOptions {
  std::uint32_t clusters = 1;
  std::uint32_t iterations = 10;
  std::uint64_t seed = 0;
  bool spherical = false;  // unit-norm centroids, for inner product
  unsigned threads = 1;
  KMeansProgress progress = nullptr;
  void* progress_arg = nullptr;
};

enum class KMeansStatus { kDone, kCancelled };

// data: n × dim row-major; centroids: clusters × dim, written. Requires n >= clusters >= 1
// (std::invalid_argument otherwise).
KMeansStatus train_kmeans(const float* data, std::size_t n, std::uint32_t dim,
                          const KMeansOptions& options, float* centroids);

}  // namespace ruvector::ivf
