// Defaults for IVF sizing.
#pragma once

#include <cmath>
#include <cstdint>

namespace ruvector::ivf {

// Lists for a table of `rows` rows: 2·sqrt(rows), between 1 and 65536. RaBitQ codes make a
// list cheap to scan, so we use fewer, larger lists than faiss's 4·sqrt(n): the centroid
// scan, which every query pays in full, stays small, and lists fill whole code pages.
inline std::uint32_t default_lists(std::uint64_t rows) {
  double lists = std::round(2.0 * std::sqrt(static_cast<double>(rows)));
  if (lists < 1) return 1;
  if (lists > 65536) return 65536;
  return static_cast<std::uint32_t>(lists);
}

}  // namespace ruvector::ivf
