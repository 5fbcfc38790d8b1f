// The rerank candidates of one query: the `keep` smallest of the (estimate, id, slot)
// triples its scan yields, a total order, so the set does not depend on how it is chosen.
// Collecting every scanned row and cutting with nth_element cost a search of small lists
// more than its estimates did (a partition pass over ~2000 rows per query and shard to keep
// 100). Here a row is first compared with the largest kept so far; the few that beat it
// collect in a buffer of twice `keep`, which nth_element cuts back to `keep` when full.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <tuple>
#include <vector>

namespace ruvector::rulake {

class BestCandidates {
 public:
  using Candidate = std::tuple<float, std::int64_t, std::uint64_t>;  // estimate, id, slot

  // Starts a query's selection of `keep` (at least 1) candidates.
  void reset(std::size_t keep) {
    keep_ = std::max<std::size_t>(keep, 1);
    pool_.clear();
    pool_.reserve(2 * keep_);
    full_ = false;
  }

  // False when offer() would refuse any row of this estimate: it is above the largest kept.
  // Cheaper than offer(), whose comparison needs the row's id.
  bool may_keep(float estimate) const { return !full_ || !(estimate > std::get<0>(bound_)); }

  void offer(float estimate, std::int64_t id, std::uint64_t slot) {
    if (full_ && !(std::tie(estimate, id, slot) < bound_)) return;
    pool_.emplace_back(estimate, id, slot);
    if (pool_.size() == 2 * keep_) cut();
  }

  // The kept candidates, at most `keep`, in no particular order.
  const std::vector<Candidate>& finish() {
    if (pool_.size() > keep_) cut();
    return pool_;
  }

  // The kept candidates, nearest estimate first.
  const std::vector<Candidate>& finish_sorted() {
    finish();
    std::sort(pool_.begin(), pool_.end());
    return pool_;
  }

 private:
  void cut() {
    std::nth_element(pool_.begin(), pool_.begin() + static_cast<std::ptrdiff_t>(keep_ - 1),
                     pool_.end());
    pool_.resize(keep_);
    bound_ = pool_[keep_ - 1];  // the largest kept: nth_element leaves none above it before
    full_ = true;
  }

  std::size_t keep_ = 1;
  std::vector<Candidate> pool_;
  Candidate bound_{};
  bool full_ = false;
};

}  // namespace ruvector::rulake
