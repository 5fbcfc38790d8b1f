// The one-pass sample of a build (ivf/priority_sample.h): the threshold never rises, the
// rows kept while reading always include the final sample, and that sample is the same
// whatever the room the caller gave it (so only speed depends on the row estimate).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "ivf/defaults.h"
#include "ivf/priority_sample.h"

namespace ivf = ruvector::ivf;

namespace {

// Reads `rows` rows of one float each (the row's ordinal) as a build does, holding at most
// `room` rows, dropping rows above the threshold when full and doubling the room when that
// frees too little. Returns the sampled ordinals.
std::vector<float> one_pass(std::uint64_t rows, std::uint32_t factor, std::uint32_t fixed_lists,
                            std::size_t room, std::uint64_t seed,
                            std::uint64_t limit = ivf::kNoSampleLimit) {
  std::vector<float> vectors(room);
  std::vector<std::uint64_t> priorities(room);
  std::size_t held = 0;
  for (std::uint64_t r = 0; r < rows; r++) {
    const std::uint64_t p = ivf::row_priority(seed, r);
    if (p >= ivf::sample_threshold(r + 1, factor, fixed_lists, limit)) continue;
    if (held == vectors.size()) {
      held = ivf::drop_rows_from(ivf::sample_threshold(r + 1, factor, fixed_lists, limit),
                                 vectors.data(), priorities.data(), held, 1);
      if (held == vectors.size()) {
        vectors.resize(2 * held);
        priorities.resize(2 * held);
      }
    }
    vectors[held] = static_cast<float>(r);
    priorities[held++] = p;
  }
  const std::uint64_t lists = fixed_lists > 0 ? fixed_lists : ivf::default_lists(rows);
  const std::size_t target = std::min<std::uint64_t>({factor * lists, rows, limit});
  held = ivf::keep_smallest(target, vectors.data(), priorities.data(), held, 1);
  return std::vector<float>(vectors.begin(), vectors.begin() + held);
}

// The reference: every row's priority, the target smallest, in order.
std::vector<float> smallest(std::uint64_t rows, std::size_t target, std::uint64_t seed) {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> all;
  for (std::uint64_t r = 0; r < rows; r++) all.emplace_back(ivf::row_priority(seed, r), r);
  std::sort(all.begin(), all.end());
  all.resize(std::min<std::size_t>(target, all.size()));
  std::vector<float> out;
  for (auto& [p, r] : all) out.push_back(static_cast<float>(r));
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST(PrioritySample, ThresholdNeverRises) {
  for (std::uint32_t fixed : {0u, 100u}) {
    std::uint64_t last = UINT64_MAX;
    for (std::uint64_t rows = 1; rows < 2000000; rows += 1 + rows / 50) {
      std::uint64_t t = ivf::sample_threshold(rows, 64, fixed);
      EXPECT_LE(t, last) << rows;
      last = t;
      // Above the final target's share by the slack.
      const double lists = fixed > 0 ? fixed : ivf::default_lists(rows);
      const double share = 64.0 * lists / static_cast<double>(rows);
      if (share * ivf::kSampleSlack < 1) {
        EXPECT_GE(static_cast<double>(t), share * 18446744073709551616.0);
      } else {
        EXPECT_EQ(t, UINT64_MAX);
      }
    }
  }
}

TEST(PrioritySample, OnePassGivesTheSmallestPriorities) {
  // Small tables keep every row; larger ones the target smallest priorities, whatever the
  // room the pass started with.
  for (std::uint64_t rows : {10ull, 5000ull, 200000ull}) {
    const std::size_t target = std::min<std::uint64_t>(8 * ivf::default_lists(rows), rows);
    const auto want = smallest(rows, target, 7);
    EXPECT_EQ(one_pass(rows, 8, 0, 16, 7), want) << rows;
    EXPECT_EQ(one_pass(rows, 8, 0, 100000, 7), want) << rows;
  }
  EXPECT_EQ(one_pass(100000, 4, 50, 64, 3), smallest(100000, 200, 3));
  EXPECT_NE(one_pass(100000, 4, 50, 64, 3), one_pass(100000, 4, 50, 64, 4));
}

TEST(PrioritySample, ALimitCapsTheSampleAndKeepsItUniform) {
  // A memory limit (a build under a small maintenance_work_mem) caps the target: the pass
  // then gives the `limit` smallest priorities, whatever the room it started with, and
  // holds about kSampleSlack × limit rows while reading.
  for (std::uint64_t limit : {300ull, 1000ull}) {
    const auto want = smallest(200000, limit, 11);
    EXPECT_EQ(one_pass(200000, 64, 0, 16, 11, limit), want) << limit;
    EXPECT_EQ(one_pass(200000, 64, 0, 100000, 11, limit), want) << limit;
  }
  // A limit above the target changes nothing.
  EXPECT_EQ(one_pass(200000, 8, 0, 16, 7, 1000000), one_pass(200000, 8, 0, 16, 7));
  // The limited threshold never rises either, and keeps the slack over the limit's share.
  std::uint64_t last = UINT64_MAX;
  for (std::uint64_t rows = 1; rows < 2000000; rows += 1 + rows / 50) {
    const std::uint64_t t = ivf::sample_threshold(rows, 64, 0, 500);
    EXPECT_LE(t, last) << rows;
    EXPECT_LE(t, ivf::sample_threshold(rows, 64, 0)) << rows;
    if (500.0 * ivf::kSampleSlack < static_cast<double>(rows)) {
      // About kSampleSlack × 500 rows are held, however many rows the factor asks for.
      const double share = 500.0 / static_cast<double>(rows) * 18446744073709551616.0;
      EXPECT_GE(static_cast<double>(t), share) << rows;
      EXPECT_LE(static_cast<double>(t), share * ivf::kSampleSlack * 1.0001) << rows;
    }
    last = t;
  }
}

TEST(PrioritySample, KeepSmallestBreaksTiesByOrder) {
  std::vector<float> v = {0, 1, 2, 3, 4, 5};
  std::vector<std::uint64_t> p = {9, 3, 5, 3, 5, 1};
  EXPECT_EQ(ivf::keep_smallest(4, v.data(), p.data(), 6, 1), 4u);
  EXPECT_EQ(std::vector<float>(v.begin(), v.begin() + 4), (std::vector<float>{1, 2, 3, 5}));
  EXPECT_EQ(std::vector<std::uint64_t>(p.begin(), p.begin() + 4),
            (std::vector<std::uint64_t>{3, 5, 3, 1}));
  EXPECT_EQ(ivf::keep_smallest(9, v.data(), p.data(), 4, 1), 4u);
  EXPECT_EQ(ivf::keep_smallest(0, v.data(), p.data(), 4, 1), 0u);
  // Rows of two floats move together.
  std::vector<float> w = {0, 0, 1, 1, 2, 2};
  std::vector<std::uint64_t> q = {5, 9, 1};
  EXPECT_EQ(ivf::drop_rows_from(9, w.data(), q.data(), 3, 2), 2u);
  EXPECT_EQ(std::vector<float>(w.begin(), w.begin() + 4), (std::vector<float>{0, 0, 2, 2}));
}
