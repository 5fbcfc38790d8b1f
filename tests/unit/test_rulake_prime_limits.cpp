// Priming limits: the cache and the priming bound refuse a collection by its row count,
// with a message that names the collection, the size, the limit and the setting to raise.
#include <gtest/gtest.h>

#include <string>

#include "rulake/prime_limits.h"
#include "util/error.h"

namespace rl = ruvector::rulake;

namespace {

rl::IndexParams params(std::uint32_t dim) {
  rl::IndexParams p;
  p.dim = dim;
  return p;
}

// The error check_prime_limits raises, or an empty one when the rows fit.
ruvector::Error refusal(const rl::PrimeLimits& limits, std::uint32_t dim, std::uint64_t rows) {
  try {
    rl::check_prime_limits("big", limits, params(dim), rows, "estimated by the planner");
  } catch (const ruvector::Error& e) {
    return e;
  }
  return ruvector::Error(ruvector::ErrorKind::kInternal, "");
}

}  // namespace

TEST(RulakePrimeLimits, RefusesWhatTheCacheCannotHold) {
  rl::PrimeLimits limits{256ull << 20, 1024ull << 20};
  // 960000 × 784 (the table of issue #23): about 3 GB of image.
  ruvector::Error e = refusal(limits, 784, 960000);
  EXPECT_EQ(e.kind(), ruvector::ErrorKind::kProgramLimit);
  EXPECT_EQ(std::string(e.what()),
            "rulake collection \"big\" needs an index image of about " +
                std::to_string((rl::image_bytes(params(784), 960000) + (1 << 20) - 1) >> 20) +
                " MB, more than rulake.cache_size (256 MB) can hold");
  EXPECT_EQ(e.detail(),
            "960000 rows of 784 dimensions, estimated by the planner. Raise rulake.cache_size "
            "(a restart) or register fewer rows.");
}

TEST(RulakePrimeLimits, RefusesWhatThePrimingBoundCannotHold) {
  rl::PrimeLimits limits{4096ull << 20, 64ull << 20};
  ruvector::Error e = refusal(limits, 128, 200000);  // ~110 MB of image
  EXPECT_EQ(e.kind(), ruvector::ErrorKind::kProgramLimit);
  EXPECT_NE(std::string(e.what()).find("more than rulake.max_prime_memory (64 MB)"),
            std::string::npos)
      << e.what();
  EXPECT_NE(e.detail().find("Raise rulake.max_prime_memory"), std::string::npos);
}

TEST(RulakePrimeLimits, AcceptsWhatFitsAndTheBudgetFollowsTheRows) {
  rl::PrimeLimits limits{8ull << 20, 8ull << 20};
  EXPECT_EQ(std::string(refusal(limits, 16, 1000).what()), "");
  // The largest row count that fits both limits, found by bisection: one more is refused.
  std::uint64_t lo = 1, hi = 1 << 24;
  while (lo + 1 < hi) {
    std::uint64_t mid = (lo + hi) / 2;
    (std::string(refusal(limits, 64, mid).what()).empty() ? lo : hi) = mid;
  }
  EXPECT_LE(rl::build_memory_bytes(params(64), lo), limits.memory_bytes);
  EXPECT_GT(rl::build_memory_bytes(params(64), hi), limits.memory_bytes);

  rl::IndexBuilder::Budget budget = rl::prime_budget("big", limits, params(64));
  EXPECT_NO_THROW(budget(lo));
  try {
    budget(hi);
    ADD_FAILURE() << "the budget let " << hi << " rows through";
  } catch (const ruvector::Error& e) {
    EXPECT_NE(e.detail().find(std::to_string(hi) + " rows of 64 dimensions, read so far."),
              std::string::npos)
        << e.detail();
  }
}
