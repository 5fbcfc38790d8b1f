// See overlay.h.
#include "rulake/overlay.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <string>
#include <new>
#include <stdexcept>
#include <tuple>

#include "rulake/batch_search.h"
#include "util/error.h"

namespace ruvector::rulake {

namespace {

constexpr char kMagic[8] = {'R', 'L', 'K', 'D', 'E', 'L', 'T', 'A'};
constexpr std::uint32_t kVersion = 1;
constexpr std::size_t kAlign = 64;

struct Header {
  char magic[8];
  std::uint32_t version;
  std::uint32_t reserved;
  std::uint64_t tombstone_count;
  std::uint64_t tombstones;  // offsets from the start of the overlay
  std::uint64_t delta;
  std::uint64_t delta_size;
  std::uint64_t total;
};

std::size_t align(std::size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

// Queries planned at once by search_layers: their rotations and probe orders take a few kB
// each.
constexpr std::size_t kPlanBlock = 4096;

}  // namespace

bool is_overlay(const void* bytes, std::size_t size) {
  return bytes != nullptr && size >= sizeof(kMagic) &&
         std::memcmp(bytes, kMagic, sizeof(kMagic)) == 0;
}

namespace {

void check_sorted(const std::int64_t* ids, std::size_t n, const char* what) {
  for (std::size_t i = 1; i < n; i++) {
    if (ids[i - 1] >= ids[i])
      throw std::invalid_argument(std::string(what) + " must be sorted and distinct");
  }
}

// The overlay of placed rows whose ids are all among the tombstones.
Image assemble(const void* base, std::size_t base_size, const std::vector<std::int64_t>& tombstones,
               const PlacedRows& rows) {
  for (std::int64_t id : rows.ids) {
    if (!std::binary_search(tombstones.begin(), tombstones.end(), id))
      throw std::invalid_argument("overlay row " + std::to_string(id) +
                                  " is not among its tombstones");
  }
  Image delta = image_on_centroids(base, base_size, rows);
  Header h{};
  std::memcpy(h.magic, kMagic, sizeof(kMagic));
  h.version = kVersion;
  h.tombstone_count = tombstones.size();
  h.tombstones = align(sizeof(Header));
  h.delta = align(h.tombstones + tombstones.size() * sizeof(std::int64_t));
  h.delta_size = delta.size();
  h.total = align(h.delta + delta.size());
  auto* bytes = static_cast<unsigned char*>(std::calloc(1, h.total));
  if (bytes == nullptr) throw std::bad_alloc();
  Image out(bytes, h.total);
  std::memcpy(bytes, &h, sizeof(h));
  if (!tombstones.empty())
    std::memcpy(bytes + h.tombstones, tombstones.data(), tombstones.size() * sizeof(std::int64_t));
  std::memcpy(bytes + h.delta, delta.data(), delta.size());
  return out;
}

}  // namespace

Image build_overlay(const void* base, std::size_t base_size, const std::int64_t* tombstones,
                    std::size_t tombstone_count, const std::int64_t* ids, const float* vectors,
                    std::size_t count) {
  check_sorted(tombstones, tombstone_count, "overlay tombstones");
  PlacedRows rows;
  place_on_centroids(base, base_size, ids, vectors, count, &rows);
  return assemble(base, base_size,
                  std::vector<std::int64_t>(tombstones, tombstones + tombstone_count), rows);
}

OverlayView overlay_view(const void* overlay, std::size_t size) {
  Header h;
  if (!is_overlay(overlay, size) || size < sizeof(Header))
    fail(ErrorKind::kIntegrity, "not a rulake overlay");
  std::memcpy(&h, overlay, sizeof(h));
  if (h.version != kVersion)
    fail(ErrorKind::kIntegrity,
         "rulake overlay version " + std::to_string(h.version) + " is not supported");
  if (h.tombstones != align(sizeof(Header)) || h.tombstone_count > size / sizeof(std::int64_t) ||
      h.delta != align(h.tombstones + h.tombstone_count * sizeof(std::int64_t)) ||
      h.delta_size > size || h.total != align(h.delta + h.delta_size) || h.total > size)
    fail(ErrorKind::kIntegrity, "rulake overlay header is corrupt");
  const auto* base = static_cast<const unsigned char*>(overlay);
  OverlayView v;
  v.tombstones = reinterpret_cast<const std::int64_t*>(base + h.tombstones);
  v.tombstone_count = h.tombstone_count;
  v.delta = base + h.delta;
  v.delta_size = h.delta_size;
  image_info(v.delta, v.delta_size);  // throws for a corrupt delta
  return v;
}

namespace {

std::vector<std::int64_t> union_sorted(const std::int64_t* a, std::size_t na, const std::int64_t* b,
                                       std::size_t nb) {
  std::vector<std::int64_t> out;
  out.reserve(na + nb);
  std::set_union(a, a + na, b, b + nb, std::back_inserter(out));
  return out;
}

}  // namespace

std::size_t next_tombstone_count(const void* previous, std::size_t previous_size,
                                 const std::int64_t* changed, std::size_t changed_count) {
  if (previous == nullptr) return changed_count;
  OverlayView p = overlay_view(previous, previous_size);
  return union_sorted(p.tombstones, p.tombstone_count, changed, changed_count).size();
}

Image next_overlay(const void* base, std::size_t base_size, const void* previous,
                   std::size_t previous_size, const std::int64_t* changed,
                   std::size_t changed_count, const std::int64_t* fetched_ids, const float* fetched,
                   std::size_t count) {
  check_sorted(changed, changed_count, "changed ids");
  std::vector<std::int64_t> tombstones(changed, changed + changed_count);
  PlacedRows rows;
  if (previous != nullptr) {
    // The previous rows of ids not changed since keep their lists and codes.
    OverlayView p = overlay_view(previous, previous_size);
    tombstones = union_sorted(p.tombstones, p.tombstone_count, changed, changed_count);
    ImageView d = image_view(p.delta, p.delta_size);
    const ImageInfo b = image_info(base, base_size);
    if (d.info.dim != b.dim || d.info.lists != b.lists)
      fail(ErrorKind::kIntegrity, "rulake overlay does not belong to its base image");
    const std::size_t words = d.info.padded_dim / 64;
    for (std::uint32_t list = 0; list < d.info.lists; list++) {
      for (std::uint64_t r = d.list_start[list]; r < d.list_start[list + 1]; r++) {
        if (std::binary_search(changed, changed + changed_count, d.ids[r])) continue;
        rows.ids.push_back(d.ids[r]);
        rows.vectors.insert(rows.vectors.end(), d.vectors + r * d.info.dim,
                            d.vectors + (r + 1) * d.info.dim);
        rows.lists.push_back(list);
        rows.codes.insert(rows.codes.end(), d.codes + r * words, d.codes + (r + 1) * words);
        rows.factors.push_back(d.factors[r]);
      }
    }
  }
  place_on_centroids(base, base_size, fetched_ids, fetched, count, &rows);
  return assemble(base, base_size, tombstones, rows);
}

std::size_t folded_tombstones(const void* l1, std::size_t l1_size, const void* l0,
                              std::size_t l0_size, const std::int64_t* changed,
                              std::size_t changed_count) {
  std::vector<std::int64_t> all(changed, changed + changed_count);
  for (auto [bytes, size] : {std::pair{l1, l1_size}, std::pair{l0, l0_size}}) {
    if (bytes == nullptr) continue;
    OverlayView v = overlay_view(bytes, size);
    all = union_sorted(all.data(), all.size(), v.tombstones, v.tombstone_count);
  }
  return all.size();
}

Folded fold_layers(const void* image, std::size_t image_size, const void* l1, std::size_t l1_size,
                   const void* l0, std::size_t l0_size, const std::int64_t* changed,
                   std::size_t changed_count, const std::int64_t* fetched_ids, const float* fetched,
                   std::size_t count, std::size_t l0_rows) {
  if (l1 == nullptr) {
    return Folded{next_overlay(image, image_size, nullptr, 0, changed, changed_count, fetched_ids,
                               fetched, count),
                  false};
  }
  Image top = next_overlay(image, image_size, l0, l0_size, changed, changed_count, fetched_ids,
                           fetched, count);
  OverlayView t = overlay_view(top.data(), top.size());
  if (image_info(t.delta, t.delta_size).rows <= l0_rows) return Folded{std::move(top), true};
  // Too large for l0: one overlay of the image holds l1, with the ids l0 and this fold
  // changed replaced by their rows now (those in `top`).
  ImageView d = image_view(t.delta, t.delta_size);
  std::vector<std::int64_t> ids(d.ids, d.ids + d.info.rows);
  std::vector<float> rows(d.vectors, d.vectors + d.info.rows * d.info.dim);
  return Folded{next_overlay(image, image_size, l1, l1_size, t.tombstones, t.tombstone_count,
                             ids.data(), rows.data(), ids.size()),
                false};
}

void search_layers(const Layers& layers, const float* queries, std::size_t nqueries,
                   const SearchParams& params, const RvScanKernel& kernel, std::uint64_t image_key,
                   std::vector<std::vector<Hit>>* out, InterruptCheck interrupt) {
  if (layers.overlays < 0 || layers.overlays > 2)
    throw std::invalid_argument("a collection has at most two overlays");
  const ImageView root = image_view(layers.image, layers.image_size);
  OverlayView ov[2];
  ImageView delta[2];
  for (int i = 0; i < layers.overlays; i++) {
    ov[i] = overlay_view(layers.overlay[i], layers.overlay_size[i]);
    delta[i] = image_view(ov[i].delta, ov[i].delta_size);
    const ImageInfo& d = delta[i].info;
    if (d.dim != root.info.dim || d.lists != root.info.lists || d.metric != root.info.metric ||
        d.seed != root.info.seed)
      fail(ErrorKind::kIntegrity, "rulake overlay does not belong to its base image");
    delta[i].centroids = root.centroids;  // a delta is placed on the image's lists
  }
  // Layer l (0: the image, l: overlay l - 1's delta) leaves out the tombstones of the
  // overlays above it, l and up.
  auto params_below = [&](int layer) {
    SearchParams p = params;
    p.skip = p.skip2 = nullptr;
    p.skip_count = p.skip2_count = 0;
    for (int j = layer; j < layers.overlays; j++) {
      const std::int64_t*& skip = j == layer ? p.skip : p.skip2;
      std::size_t& count = j == layer ? p.skip_count : p.skip2_count;
      skip = ov[j].tombstones;
      count = ov[j].tombstone_count;
    }
    return p;
  };
  // Every layer is placed on the image's centroids: each query is rotated and ranks them
  // once, and every layer probes the lists of that one order. The plan is made for a block
  // of queries at a time, so that its memory stays bounded whatever the batch; the queries
  // are checked first as a whole, so that an error names a query by its place in the batch.
  bool any_rows = root.info.rows > 0;
  for (int i = 0; i < layers.overlays; i++) any_rows = any_rows || delta[i].info.rows > 0;
  check_queries(root.info.metric, root.info.dim, queries, nqueries, params.k > 0 && any_rows);
  out->assign(nqueries, {});
  if (params.k == 0 || !any_rows) return;
  ProbePlan plan;
  std::vector<std::vector<Hit>> hits;
  for (std::size_t begin = 0; begin < nqueries; begin += kPlanBlock) {
    const std::size_t n = std::min(kPlanBlock, nqueries - begin);
    const float* block = queries + begin * root.info.dim;
    plan_probes(root, block, n, params, &plan, interrupt);
    for (int layer = 0; layer <= layers.overlays; layer++) {
      const ImageView& v = layer == 0 ? root : delta[layer - 1];
      search_view(v, block, n, params_below(layer), kernel, layer == 0 ? image_key : 0, &hits,
                  interrupt, &plan);
      for (std::size_t q = 0; q < n; q++)
        (*out)[begin + q].insert((*out)[begin + q].end(), hits[q].begin(), hits[q].end());
    }
  }
  if (layers.overlays == 0) return;
  auto earlier = [](const Hit& a, const Hit& c) {
    return std::tie(a.distance, a.id) < std::tie(c.distance, c.id);
  };
  for (auto& hits : *out) {
    std::size_t k = std::min<std::size_t>(params.k, hits.size());
    std::partial_sort(hits.begin(), hits.begin() + k, hits.end(), earlier);
    hits.resize(k);
  }
}

void search_overlay_batch(const void* base, std::size_t base_size, const void* overlay,
                          std::size_t overlay_size, const float* queries, std::size_t nqueries,
                          const SearchParams& params, const RvScanKernel& kernel,
                          std::uint64_t base_key, std::vector<std::vector<Hit>>* out,
                          InterruptCheck interrupt) {
  Layers layers{base, base_size, 1, {overlay, nullptr}, {overlay_size, 0}};
  search_layers(layers, queries, nqueries, params, kernel, base_key, out, interrupt);
}

}  // namespace ruvector::rulake
