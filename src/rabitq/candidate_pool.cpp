// See candidate_pool.h. std heaps are max-heaps: their comparator says "comes out later".
#include "rabitq/candidate_pool.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

namespace ruvector::rabitq {

namespace {

struct Later {
  template <typename T>
  bool operator()(const T& a, const T& b) const {
    return earlier(b, a);
  }
};
struct Earlier {
  bool operator()(const Candidate& a, const Candidate& b) const { return earlier(a, b); }
};

constexpr std::uint32_t kRefill = 32;  // candidates moved from the pool to the heap at a time

void* realloc_or_throw(void*, void* array, std::size_t bytes) {
  void* grown = std::realloc(array, bytes);
  if (grown == nullptr) throw std::bad_alloc();
  return grown;
}

}  // namespace

Growth malloc_growth() { return Growth{realloc_or_throw, nullptr}; }

void CandidateQueue::init(Candidate* pool, std::uint32_t pool_capacity, Candidate* heap,
                          std::uint32_t heap_capacity, Order order, Growth growth) {
  pool_ = pool;
  npool_ = 0;
  pool_capacity_ = pool_capacity;
  pool_min_ = Candidate{};
  heap_ = heap;
  nheap_ = 0;
  heap_capacity_ = heap_capacity;
  order_ = order;
  growth_ = growth;
}

Candidate CandidateQueue::pop() {
  std::pop_heap(heap_, heap_ + nheap_, Later());
  return heap_[--nheap_];
}

void CandidateQueue::requeue_top(float lower) {
  std::pop_heap(heap_, heap_ + nheap_, Later());
  Candidate& c = heap_[nheap_ - 1];
  c.lower = lower;
  c.probe = kRefined;
  std::push_heap(heap_, heap_ + nheap_, Later());
}

void CandidateQueue::move_to_heap(const Candidate* from, std::uint32_t n) {
  for (std::uint32_t j = 0; j < n; j++) {
    if (nheap_ == heap_capacity_) detail::grow(growth_, &heap_, &heap_capacity_);
    heap_[nheap_++] = from[j];
    std::push_heap(heap_, heap_ + nheap_, Later());
  }
}

// Moves the kRefill earliest candidates of a pool of up to 64 × kRefill to the heap in one
// pass: a bounded heap of the best so far, which most candidates leave after one
// comparison with its latest. The rest stay in the pool, compacted in place, and give the
// pool its new earliest.
void CandidateQueue::refill_few() {
  Candidate chosen[kRefill];
  std::uint32_t nchosen = 0, kept = 0;
  auto keep = [this, &kept](const Candidate& c) {
    if (kept == 0 || earlier(c, pool_min_)) pool_min_ = c;
    pool_[kept++] = c;  // kept <= the index being read: nothing unread is lost
  };
  for (std::uint32_t i = 0; i < npool_; i++) {
    const Candidate c = pool_[i];
    if (nchosen < kRefill) {
      chosen[nchosen++] = c;
      std::push_heap(chosen, chosen + nchosen, Earlier());
    } else if (earlier(c, chosen[0])) {
      const Candidate out = chosen[0];
      std::pop_heap(chosen, chosen + kRefill, Earlier());
      chosen[kRefill - 1] = c;
      std::push_heap(chosen, chosen + kRefill, Earlier());
      keep(out);
    } else {
      keep(c);
    }
  }
  npool_ = kept;
  move_to_heap(chosen, nchosen);
}

// A large pool (a long iterative scan) gives up a 64th of itself at a time, selected in
// linear time, so draining it costs O(64 n) rather than O(n² / kRefill); an unordered
// queue (every bound 0) moves it all at once.
void CandidateQueue::refill() {
  const bool unordered = order_ == Order::kUnordered;
  const std::uint32_t n = npool_;
  if (!unordered && n <= 64 * kRefill) {
    refill_few();
    return;
  }
  const std::uint32_t m = unordered ? n : n / 64;
  if (m < n) {
    std::nth_element(pool_, pool_ + m, pool_ + n, Earlier());
    pool_min_ = pool_[m];  // the earliest of what stays
  }
  move_to_heap(pool_, m);
  std::memmove(pool_, pool_ + m, sizeof(Candidate) * (n - m));
  npool_ = n - m;
}

void ResultQueue::init(Result* array, std::uint32_t capacity, Growth growth) {
  array_ = array;
  n_ = 0;
  capacity_ = capacity;
  growth_ = growth;
}

void ResultQueue::push(const Result& r) {
  if (n_ == capacity_) detail::grow(growth_, &array_, &capacity_);
  array_[n_++] = r;
  std::push_heap(array_, array_ + n_, Later());
}

Result ResultQueue::pop() {
  std::pop_heap(array_, array_ + n_, Later());
  return array_[--n_];
}

}  // namespace ruvector::rabitq
