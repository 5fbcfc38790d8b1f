// An overlay: the rows written to a collection since its base image was built, searched
// together with that base instead of rebuilding it (docs/rulake.md#writes). It holds
//   tombstones  sorted ids whose rows in the base are stale: updated or deleted since
//   delta       an index image (collection_index.h) of the current rows of those ids that
//               still exist, built on the base's centroids, so it is probed as the base is
// A search asks the base for its best rows that are not tombstones and the delta for its
// best, and merges them by (distance, id). With every list probed and every candidate
// reranked, that is exactly the answer a full rebuild would give.
//
// Layout, one contiguous buffer of offsets like the image: header, tombstones (int64),
// then the delta image, each 64-byte aligned.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/scan/scan_kernel.h"
#include "rulake/collection_index.h"
#include "util/interrupt.h"

namespace ruvector::rulake {

// Whether the bytes begin as an overlay (a cached entry is either an image or an overlay).
bool is_overlay(const void* bytes, std::size_t size);

// The overlay of `base` (a checked image) that replaces the rows of `tombstones` (sorted,
// distinct; they need not all be in the base) by `count` rows: ids[i] with the dim floats
// at vectors + i * dim, whose ids are all among the tombstones. Throws
// std::invalid_argument for unsorted tombstones, a row outside them or a bad value.
Image build_overlay(const void* base, std::size_t base_size, const std::int64_t* tombstones,
                    std::size_t tombstone_count, const std::int64_t* ids, const float* vectors,
                    std::size_t count);

// The overlay after more writes: `previous` (an overlay of `base`, or nullptr for none)
// with the ids in `changed` (sorted, distinct) replaced by their current rows, `count`
// rows: fetched_ids[i] with the dim floats at fetched + i * dim, all among `changed` (an id
// changed and then deleted has none). Tombstones are the union of the previous ones and
// `changed`; the previous rows of unchanged ids are carried over as they were.
Image next_overlay(const void* base, std::size_t base_size, const void* previous,
                   std::size_t previous_size, const std::int64_t* changed,
                   std::size_t changed_count, const std::int64_t* fetched_ids, const float* fetched,
                   std::size_t count);

// The number of tombstones an overlay would have after next_overlay: what a caller checks
// against its rebuild threshold before fetching any row.
std::size_t next_tombstone_count(const void* previous, std::size_t previous_size,
                                 const std::int64_t* changed, std::size_t changed_count);

// Folding writes into a collection's layers: `l1` (an overlay of `image`, or nullptr) and
// `l0` (an overlay over l1, or nullptr; only with l1), with `changed` and their current
// rows as next_overlay takes them. The result is a new top overlay: over l1, as the new l0,
// while its rows stay within `l0_rows` (the copy a write costs is that small overlay);
// otherwise over the image, as a new l1 that takes in l0 (a copy of everything since the
// image, once every l0_rows rows or so).
struct Folded {
  Image overlay;
  bool over_l1;
};
Folded fold_layers(const void* image, std::size_t image_size, const void* l1, std::size_t l1_size,
                   const void* l0, std::size_t l0_size, const std::int64_t* changed,
                   std::size_t changed_count, const std::int64_t* fetched_ids, const float* fetched,
                   std::size_t count, std::size_t l0_rows);
// The ids the image's rows are replaced for after that fold: what a caller checks against
// its rebuild threshold before fetching any row.
std::size_t folded_tombstones(const void* l1, std::size_t l1_size, const void* l0,
                              std::size_t l0_size, const std::int64_t* changed,
                              std::size_t changed_count);

struct OverlayView {
  const std::int64_t* tombstones;
  std::size_t tombstone_count;
  const void* delta;  // an image: image_view() gives its rows
  std::size_t delta_size;
};
// Checks the header, the sections and the delta image; throws ruvector::Error kIntegrity.
OverlayView overlay_view(const void* overlay, std::size_t size);

// A collection in layers: an image, and up to two overlays, each over everything below it
// (ruLake keeps a larger, older overlay and a small recent one over it, so that folding a
// write in copies the small one only).
struct Layers {
  const void* image;
  std::size_t image_size;
  int overlays;  // 0, 1 or 2
  const void* overlay[2];
  std::size_t overlay_size[2];
};

// search_batch (batch_search.h) over the layers together: out[q] is query q's k best rows
// of the collection as the top layer sees it, ordered by (distance, id). Each layer leaves
// out the rows the layers above it replaced. `image_key` names the image for kernels that
// keep device copies; the deltas are not kept.
void search_layers(const Layers& layers, const float* queries, std::size_t nqueries,
                   const SearchParams& params, const RvScanKernel& kernel, std::uint64_t image_key,
                   std::vector<std::vector<Hit>>* out, InterruptCheck interrupt = nullptr);

// search_layers of `base` and one overlay.
void search_overlay_batch(const void* base, std::size_t base_size, const void* overlay,
                          std::size_t overlay_size, const float* queries, std::size_t nqueries,
                          const SearchParams& params, const RvScanKernel& kernel,
                          std::uint64_t base_key, std::vector<std::vector<Hit>>* out,
                          InterruptCheck interrupt = nullptr);

}  // namespace ruvector::rulake
