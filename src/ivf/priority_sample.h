// A uniform sample of a table's rows in the one pass that also counts them, for k-means
// training when the number of lists (so the sample's size) depends on that count.
//
// Every row gets a priority, a hash of the seed and a key that names the row (a Postgres
// build uses its TID, which a parallel worker reading part of the table knows too). The
// sample is the `target` rows of smallest priority: a uniform random subset, the same on
// every scan of the same rows in the same order. While reading, a row is kept only if its
// priority is under sample_threshold(rows so far), and rows above the threshold are
// dropped as it falls. The threshold never rises and stays above kSampleSlack × the final
// target's share of the rows, so no row of the final sample is ever dropped, and about
// kSampleSlack × target rows are held at the end. (In the rare case that fewer than target rows are
// under the final threshold, the sample is all of them: a little smaller, still uniform.)
//
// The caller owns the arrays (a Postgres build keeps them in a memory context); these
// functions only compute and move rows within them.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ruvector::ivf {

constexpr double kSampleSlack = 1.2;

// The priority of the row named by `key` (distinct per row) in a scan with `seed`.
std::uint64_t row_priority(std::uint64_t seed, std::uint64_t key);

// No limit on the sample's size but the one sample_factor sets.
constexpr std::uint64_t kNoSampleLimit = UINT64_MAX;

// The largest sample size that `rows` rows can ask for: sample_factor × fixed_lists, or with
// fixed_lists = 0 (lists from the row count) sample_factor × (2·√rows + 1), which bounds
// sample_factor × default_lists(rows); never more than `limit` (a memory bound the caller
// fixes before reading: the final target must then be at most `limit` too).
double sample_target_bound(std::uint64_t rows, std::uint32_t sample_factor,
                           std::uint32_t fixed_lists, std::uint64_t limit = kNoSampleLimit);

// Rows whose priority is below this are kept once `rows` rows have been seen:
// kSampleSlack × sample_target_bound(rows) / rows of the priority range, or every row.
// Never rises as rows grows (the bound over rows falls, and so does the limit over rows).
std::uint64_t sample_threshold(std::uint64_t rows, std::uint32_t sample_factor,
                               std::uint32_t fixed_lists, std::uint64_t limit = kNoSampleLimit);

// Drops the rows whose priority is not below `threshold`, keeping the others in order at
// the front of the arrays (vectors: count × dim). Returns how many are left.
std::size_t drop_rows_from(std::uint64_t threshold, float* vectors, std::uint64_t* priorities,
                           std::size_t count, std::uint32_t dim);

// Keeps the `target` rows of smallest priority (ties to the earlier row), in order at the
// front of the arrays. Returns how many are left: min(target, count).
std::size_t keep_smallest(std::size_t target, float* vectors, std::uint64_t* priorities,
                          std::size_t count, std::uint32_t dim);

}  // namespace ruvector::ivf
