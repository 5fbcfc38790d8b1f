// ruLake's choice of the lists to probe (src/rulake/search_steps.cpp, rank_query), against
// the way it chose them before its images kept int8 copies of their centroids: every
// centroid's floats read until their partial sum passes the farthest of the probes kept.
// Fashion-MNIST shards of ROWS training images (4 shards; 60000 gives one collection of all
// of them), the first 200 test images as queries, each query ranked against every shard as
// a federated search does; the two ways alternated ROUNDS times in one process, medians of
// µs a query. The lists chosen are compared, and must be the same.
//   cmake --build BUILD --target bench_rank_lists
//   BUILD/bench_rank_lists [FASHION_DIR] [ROUNDS]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "../tools/idx_file.h"
#include "median.h"
#include "kernels/cpu/distance.h"
#include "rabitq/metric.h"
#include "rabitq/rotator.h"
#include "rulake/collection_index.h"
#include "rulake/search_steps.h"

namespace rl = ruvector::rulake;

namespace {

// rank_query before the centroid codes (L2 keys, more than 256 padded dimensions).
void rank_by_floats(const rl::ImageView& v, const ruvector::rabitq::Rotator& rotator,
                    const float* query, std::uint32_t probes, float* prepared, float* rotated,
                    std::vector<std::pair<float, std::uint32_t>>* order, std::uint32_t* lists) {
  ruvector::rabitq::prepare_vector(v.info.metric, query, static_cast<int>(v.info.dim), prepared);
  rotator.rotate(prepared, rotated);
  const auto& k = ruvector::kernels::distance_kernels();
  const std::uint32_t padded = v.info.padded_dim;
  order->clear();
  for (std::uint32_t c = 0; c < v.info.lists; c++) {
    const float* centroid = v.centroids + std::size_t{c} * padded;
    if (order->size() < probes) {
      order->emplace_back(k.l2_squared(rotated, centroid, padded), c);
      std::push_heap(order->begin(), order->end());
      continue;
    }
    const float limit = order->front().first;
    const float key = k.l2_squared_until(rotated, centroid, padded, limit);
    if (key > limit) continue;
    if (std::make_pair(key, c) < order->front()) {
      std::pop_heap(order->begin(), order->end());
      order->back() = {key, c};
      std::push_heap(order->begin(), order->end());
    }
  }
  std::sort_heap(order->begin(), order->end());
  for (std::uint32_t p = 0; p < probes; p++) lists[p] = (*order)[p].second;
}

struct Case {
  std::size_t rows;
  std::uint32_t probes;
};

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist";
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 15;
  std::size_t dim = 0, qdim = 0;
  const std::vector<float> base = read_idx_images(dir + "/train-images-idx3-ubyte.gz", 60000, &dim);
  const std::vector<float> tests = read_idx_images(dir + "/t10k-images-idx3-ubyte.gz", 200, &qdim);
  const std::size_t nq = tests.size() / qdim;
  const Case cases[] = {{15000, 8}, {15000, 32}, {60000, 10}};

  std::printf(
      "| shards × rows × dim | lists | probes | floats read until past the farthest "
      "kept, µs | int8 bounds first (now), µs | ratio |\n");
  std::printf("|---|---|---|---|---|---|\n");
  for (const Case& c : cases) {
    const std::size_t shards = 60000 / c.rows;
    std::vector<rl::Image> images;
    std::vector<rl::ImageView> views;
    for (std::size_t s = 0; s < shards; s++) {
      rl::IndexParams params;
      params.dim = static_cast<std::uint32_t>(dim);
      params.threads = 2;
      rl::IndexBuilder builder(params);
      std::vector<std::int64_t> ids(c.rows);
      for (std::size_t i = 0; i < c.rows; i++) ids[i] = static_cast<std::int64_t>(s * c.rows + i);
      builder.add(ids.data(), base.data() + s * c.rows * dim, c.rows);
      images.push_back(builder.finish());
    }
    for (const rl::Image& image : images)
      views.push_back(rl::image_view(image.data(), image.size()));
    const ruvector::rabitq::Rotator rotator(static_cast<std::uint32_t>(dim), 0);
    std::vector<float> prepared(dim), rotated(views[0].info.padded_dim);
    std::vector<std::pair<float, std::uint32_t>> order;
    rl::RankScratch scratch;
    std::vector<std::uint32_t> old_lists(c.probes), new_lists(c.probes);
    std::vector<double> before, now;
    long mismatches = 0;
    for (int r = 0; r < rounds; r++) {
      for (int way = 0; way < 2; way++) {
        const auto t0 = std::chrono::steady_clock::now();
        for (std::size_t q = 0; q < nq; q++) {
          for (const rl::ImageView& v : views) {
            const float* query = tests.data() + q * dim;
            if (way == 0) {
              rank_by_floats(v, rotator, query, c.probes, prepared.data(), rotated.data(), &order,
                             old_lists.data());
            } else {
              rl::rank_query(v, rotator, query, c.probes, prepared.data(), rotated.data(), &scratch,
                             new_lists.data());
            }
          }
        }
        const double us =
            std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0)
                .count() /
            static_cast<double>(nq);
        (way == 0 ? before : now).push_back(us);
      }
    }
    // The same lists in the same order.
    for (std::size_t q = 0; q < nq; q++) {
      for (const rl::ImageView& v : views) {
        const float* query = tests.data() + q * dim;
        rank_by_floats(v, rotator, query, c.probes, prepared.data(), rotated.data(), &order,
                       old_lists.data());
        rl::rank_query(v, rotator, query, c.probes, prepared.data(), rotated.data(), &scratch,
                       new_lists.data());
        mismatches += old_lists != new_lists;
      }
    }
    if (mismatches != 0) {
      std::fprintf(stderr, "%ld rankings differ between the two ways\n", mismatches);
      return 1;
    }
    std::printf("| %zu × %zu × %zu | %u | %u | %.1f | %.1f | %.2f× |\n", shards, c.rows, dim,
                views[0].info.lists, c.probes, median(before), median(now),
                median(before) / median(now));
  }
  return 0;
}
