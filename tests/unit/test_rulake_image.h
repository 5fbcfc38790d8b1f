// A ruLake image of clustered rows with random queries, shared by the tests that search one
// (batch search, the scan core against ruLake's list setup).
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "rabitq/metric.h"
#include "rulake/collection_index.h"

namespace rulake_test {

struct TestImage {
  std::uint32_t dim;
  std::vector<unsigned char> bytes;
  std::vector<float> queries;  // nqueries × dim, each coordinate normal with sd 2
};

// How the rows lie: row i is centre (i % clusters) plus unit normal noise, the centres'
// coordinates normal with sd `spread`; ids count from first_id.
struct Clusters {
  std::uint32_t clusters;
  float spread;
  std::int64_t first_id;
};

inline TestImage make_test_image(ruvector::rabitq::Metric metric, std::uint32_t dim,
                                 std::size_t rows, std::uint32_t lists, std::size_t nqueries,
                                 std::uint64_t seed, Clusters shape) {
  namespace rl = ruvector::rulake;
  std::mt19937_64 gen(seed);
  std::normal_distribution<float> noise(0.0f, 1.0f);
  std::vector<float> centres(shape.clusters * dim);
  for (float& c : centres) c = shape.spread * noise(gen);
  std::vector<float> data(rows * dim);
  std::vector<std::int64_t> ids(rows);
  for (std::size_t i = 0; i < rows; i++) {
    ids[i] = shape.first_id + static_cast<std::int64_t>(i);
    for (std::uint32_t j = 0; j < dim; j++)
      data[i * dim + j] = centres[(i % shape.clusters) * dim + j] + noise(gen);
  }
  rl::IndexParams p;
  p.dim = dim;
  p.metric = metric;
  p.seed = seed;
  p.lists = lists;
  TestImage image{dim, rl::build_index(p, ids.data(), data.data(), rows), {}};
  image.queries.resize(nqueries * dim);
  for (float& x : image.queries) x = 2 * noise(gen);
  return image;
}

}  // namespace rulake_test
