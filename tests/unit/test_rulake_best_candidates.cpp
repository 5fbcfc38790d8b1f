// BestCandidates keeps exactly the `keep` smallest (estimate, id, slot) triples of a stream,
// whatever their order and however many estimates tie: the set a sort of them all gives.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "rulake/best_candidates.h"

using ruvector::rulake::BestCandidates;
using Candidate = BestCandidates::Candidate;

namespace {

std::vector<Candidate> sorted_best(std::vector<Candidate> all, std::size_t keep) {
  std::sort(all.begin(), all.end());
  all.resize(std::min(keep, all.size()));
  return all;
}

}  // namespace

TEST(BestCandidates, KeepsTheSmallestOfAStream) {
  std::mt19937_64 rng(17);
  BestCandidates best;
  for (int round = 0; round < 300; round++) {
    const std::size_t n = rng() % 3000;
    // Few distinct estimates in some rounds, so that the bound ties and ids decide.
    const unsigned distinct = round % 3 == 0 ? 5 : 100000;
    std::vector<Candidate> all;
    for (std::size_t i = 0; i < n; i++) {
      all.emplace_back(static_cast<float>(rng() % distinct) * 0.25f,
                       static_cast<std::int64_t>(rng() % 50000), i);
    }
    for (std::size_t keep : {std::size_t{1}, std::size_t{7}, std::size_t{100}, n + 5}) {
      best.reset(keep);
      for (const Candidate& c : all) best.offer(std::get<0>(c), std::get<1>(c), std::get<2>(c));
      std::vector<Candidate> got = best.finish();
      std::sort(got.begin(), got.end());
      ASSERT_EQ(got, sorted_best(all, keep)) << "round " << round << " keep " << keep;
      // Rows that may_keep turns away, as offer_rows does before reading their ids, are
      // rows offer() would refuse: estimates level with the largest kept still go in.
      best.reset(keep);
      for (const Candidate& c : all) {
        if (best.may_keep(std::get<0>(c)))
          best.offer(std::get<0>(c), std::get<1>(c), std::get<2>(c));
      }
      got = best.finish();
      std::sort(got.begin(), got.end());
      ASSERT_EQ(got, sorted_best(all, keep)) << "gated, round " << round << " keep " << keep;
    }
  }
}

TEST(BestCandidates, AscendingAndDescendingStreams) {
  // Descending input beats the bound at every row: the buffer is cut again and again.
  for (bool descending : {false, true}) {
    std::vector<Candidate> all;
    for (std::uint64_t i = 0; i < 1000; i++) {
      const float e = descending ? 1000.0f - static_cast<float>(i) : static_cast<float>(i);
      all.emplace_back(e, static_cast<std::int64_t>(i), i);
    }
    BestCandidates best;
    best.reset(10);
    for (const Candidate& c : all) best.offer(std::get<0>(c), std::get<1>(c), std::get<2>(c));
    std::vector<Candidate> got = best.finish();
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, sorted_best(all, 10)) << (descending ? "descending" : "ascending");
  }
}
