// Overlays sharing the image's probe order (src/rulake/overlay.h, search_layers), against
// each layer ranking the centroids itself as search_layers did before, in one process on
// the same layers, alternated: Fashion-MNIST 60k x 784 (lists 490, probes 8, k 10,
// rerank 10, one query per call as rulake.search asks), with WRITES single-row updates
// folded in as ruLake folds them (an image, an overlay l1 and a small top overlay l0).
//   cmake --build BUILD --target bench_overlay_probe_order
//   BUILD/bench_overlay_probe_order [FASHION_DIR] [WRITES] [ROUNDS]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "../tools/idx_file.h"
#include "median.h"
#include "rulake/batch_search.h"
#include "rulake/collection_index.h"
#include "rulake/cpu_scan_kernel.h"
#include "rulake/overlay.h"

namespace rl = ruvector::rulake;

namespace {

// search_layers as it was before the layers shared one plan: every layer's search_view
// rotates each query and ranks the image's centroids again.
void search_layers_ranked_each(const rl::Layers& layers, const float* queries, std::size_t n,
                               const rl::SearchParams& params,
                               std::vector<std::vector<rl::Hit>>* out) {
  const rl::ImageView root = rl::image_view(layers.image, layers.image_size);
  rl::OverlayView ov[2];
  rl::ImageView delta[2];
  for (int i = 0; i < layers.overlays; i++) {
    ov[i] = rl::overlay_view(layers.overlay[i], layers.overlay_size[i]);
    delta[i] = rl::image_view(ov[i].delta, ov[i].delta_size);
    delta[i].centroids = root.centroids;
  }
  auto params_below = [&](int layer) {
    rl::SearchParams p = params;
    p.skip = p.skip2 = nullptr;
    p.skip_count = p.skip2_count = 0;
    for (int j = layer; j < layers.overlays; j++) {
      (j == layer ? p.skip : p.skip2) = ov[j].tombstones;
      (j == layer ? p.skip_count : p.skip2_count) = ov[j].tombstone_count;
    }
    return p;
  };
  rl::search_view(root, queries, n, params_below(0), rl::cpu_scan_kernel(), 0, out);
  for (int i = 0; i < layers.overlays; i++) {
    std::vector<std::vector<rl::Hit>> hits;
    rl::search_view(delta[i], queries, n, params_below(i + 1), rl::cpu_scan_kernel(), 0, &hits);
    for (std::size_t q = 0; q < n; q++)
      (*out)[q].insert((*out)[q].end(), hits[q].begin(), hits[q].end());
  }
  for (auto& hits : *out) {
    std::size_t k = std::min<std::size_t>(params.k, hits.size());
    std::partial_sort(hits.begin(), hits.begin() + k, hits.end(),
                      [](const rl::Hit& a, const rl::Hit& b) {
                        return std::tie(a.distance, a.id) < std::tie(b.distance, b.id);
                      });
    hits.resize(k);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist";
  const int writes = argc > 2 ? std::atoi(argv[2]) : 300;
  const int rounds = argc > 3 ? std::atoi(argv[3]) : 7;
  std::size_t dim = 0, qdim = 0;
  std::vector<float> base = read_idx_images(dir + "/train-images-idx3-ubyte.gz", 60000, &dim);
  std::vector<float> queries = read_idx_images(dir + "/t10k-images-idx3-ubyte.gz", 200, &qdim);
  const std::size_t rows = base.size() / dim, nq = queries.size() / dim;
  std::vector<std::int64_t> ids(rows);
  for (std::size_t i = 0; i < rows; i++) ids[i] = static_cast<std::int64_t>(i);
  rl::IndexParams ip;
  ip.dim = static_cast<std::uint32_t>(dim);
  ip.lists = 490;
  ip.seed = 1;
  ip.threads = 2;
  rl::IndexBuilder builder(ip);
  builder.add(ids.data(), base.data(), rows);
  rl::Image image = builder.finish();

  // Single-row updates, each folded into the layers as ruLake folds a write (top overlay
  // of at most 128 rows over l1).
  std::mt19937_64 gen(7);
  rl::Image l1, l0;
  for (int w = 0; w < writes; w++) {
    std::int64_t id = static_cast<std::int64_t>(gen() % rows);
    const float* row = base.data() + (gen() % rows) * dim;
    rl::Folded f =
        rl::fold_layers(image.data(), image.size(), l1.size() ? l1.data() : nullptr, l1.size(),
                        l0.size() ? l0.data() : nullptr, l0.size(), &id, 1, &id, row, 1, 128);
    if (f.over_l1) {
      l0 = std::move(f.overlay);
    } else {
      l1 = std::move(f.overlay);
      l0 = rl::Image();
    }
  }
  rl::Layers layers{image.data(), image.size(), 0, {nullptr, nullptr}, {0, 0}};
  for (const rl::Image* o : {&l1, &l0}) {
    if (o->size() == 0) continue;
    layers.overlay[layers.overlays] = o->data();
    layers.overlay_size[layers.overlays++] = o->size();
  }
  rl::SearchParams sp;
  sp.k = 10;
  sp.probes = 8;
  sp.rerank_factor = 10;

  auto time_per_query = [&](auto&& search) {
    std::vector<std::vector<rl::Hit>> hits;
    auto t0 = std::chrono::steady_clock::now();
    for (std::size_t q = 0; q < nq; q++) search(queries.data() + q * dim, &hits);
    std::chrono::duration<double, std::micro> us = std::chrono::steady_clock::now() - t0;
    return us.count() / static_cast<double>(nq);
  };
  auto shared = [&](const float* q, std::vector<std::vector<rl::Hit>>* out) {
    rl::search_layers(layers, q, 1, sp, rl::cpu_scan_kernel(), 0, out);
  };
  auto each = [&](const float* q, std::vector<std::vector<rl::Hit>>* out) {
    search_layers_ranked_each(layers, q, 1, sp, out);
  };
  auto image_only = [&](const float* q, std::vector<std::vector<rl::Hit>>* out) {
    rl::search_batch(image.data(), image.size(), q, 1, sp, rl::cpu_scan_kernel(), 0, out);
  };

  // The same answers, distances included.
  std::size_t differ = 0;
  for (std::size_t q = 0; q < nq; q++) {
    std::vector<std::vector<rl::Hit>> a, b;
    shared(queries.data() + q * dim, &a);
    each(queries.data() + q * dim, &b);
    for (std::size_t i = 0; i < std::max(a[0].size(), b[0].size()); i++)
      if (i >= a[0].size() || i >= b[0].size() || a[0][i].id != b[0][i].id ||
          a[0][i].distance != b[0][i].distance)
        differ++;
  }
  std::vector<double> t_each, t_shared, t_image;
  for (int r = 0; r < rounds; r++) {
    t_each.push_back(time_per_query(each));
    t_shared.push_back(time_per_query(shared));
    t_image.push_back(time_per_query(image_only));
  }
  std::printf(
      "Fashion-MNIST %zu x %zu, lists 490, probes 8, k 10, rerank 10, %zu queries, "
      "%d writes: %d overlays (%zu + %zu bytes), hits that differ: %zu\n",
      rows, dim, nq, writes, layers.overlays, l1.size(), l0.size(), differ);
  std::printf("| search | µs per query (median of %d rounds) |\n|---|---|\n", rounds);
  std::printf("| image alone, no overlays | %.0f |\n", median(t_image));
  std::printf("| image + overlays, each layer ranks the centroids | %.0f |\n", median(t_each));
  std::printf("| image + overlays, one shared probe order | %.0f |\n", median(t_shared));
  return differ == 0 ? 0 : 1;
}
