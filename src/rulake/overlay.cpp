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
                   std::size_t changed_count, const std::int64_t* fetched_ids,
                   const float* fetched, std::size_t count) {
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

void search_overlay_batch(const void* base, std::size_t base_size, const void* overlay,
                          std::size_t overlay_size, const float* queries, std::size_t nqueries,
                          const SearchParams& params, const RvScanKernel& kernel,
                          std::uint64_t base_key, std::vector<std::vector<Hit>>* out,
                          InterruptCheck interrupt) {
  const OverlayView v = overlay_view(overlay, overlay_size);
  const ImageInfo b = image_info(base, base_size);
  const ImageInfo d = image_info(v.delta, v.delta_size);
  if (b.dim != d.dim || b.lists != d.lists || b.metric != d.metric || b.seed != d.seed)
    fail(ErrorKind::kIntegrity, "rulake overlay does not belong to its base image");
  SearchParams base_params = params;
  base_params.skip = v.tombstones;
  base_params.skip_count = v.tombstone_count;
  search_batch(base, base_size, queries, nqueries, base_params, kernel, base_key, out, interrupt);
  std::vector<std::vector<Hit>> delta_hits;
  search_batch(v.delta, v.delta_size, queries, nqueries, params, kernel, 0, &delta_hits, interrupt);
  for (std::size_t q = 0; q < nqueries; q++) {
    std::vector<Hit>& hits = (*out)[q];
    hits.insert(hits.end(), delta_hits[q].begin(), delta_hits[q].end());
    auto earlier = [](const Hit& a, const Hit& c) {
      return std::tie(a.distance, a.id) < std::tie(c.distance, c.id);
    };
    std::size_t k = std::min<std::size_t>(params.k, hits.size());
    std::partial_sort(hits.begin(), hits.begin() + k, hits.end(), earlier);
    hits.resize(k);
  }
}

}  // namespace ruvector::rulake
