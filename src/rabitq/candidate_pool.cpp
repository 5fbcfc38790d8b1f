// See candidate_pool.h. std heaps are max-heaps: their comparator says "comes out later".
#include "rabitq/candidate_pool.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
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
// The most refill_few moves, a 64th of its largest pool (16384; its buffer is 32 KB of
// stack). At 64 (pools to 4096) the ~1M near-duplicate set's pools of 6000-8000 at probes
// 10 went to nth_element over whole candidates: refill 8.7% of a query's samples, 3.7%
// through refill_few (session 28, docs/benchmarks.md).
constexpr std::uint32_t kMaxWant = 256;

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
  c.lower = bound_or_none(lower);
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

// Moves the `want` earliest candidates (at most kMaxWant) to the heap. First the want-th
// earliest (bound, TID), from the keys alone: keys that beat the running threshold collect
// in a buffer, cut back to the `want` earliest whenever it holds 8 × want, so most
// candidates leave after one comparison of their bound. Then one pass moves every
// candidate up to that key, swapping the pool's last into each hole, and finds the pool's
// new earliest. On the scan's pools (candidates come list by list, nearest list first)
// this beat both a bounded heap of whole candidates with the pool rewritten (8 µs of a
// 60 µs query over a pool of 1000, now 4) and nth_element over whole candidates
// (scan_floor's queue phase at probes 16, a pool of 2645: 34 -> 28 µs). A random pool
// favours nth_element (bench: 2.5 against 4.3 µs at 1034); the scan's does not.
void CandidateQueue::refill_few(std::uint32_t want) {
  struct Key {
    float lower;
    std::uint64_t tid;
    bool operator<(const Key& b) const { return lower != b.lower ? lower < b.lower : tid < b.tid; }
  };
  constexpr std::uint32_t kBuffer = 8 * kMaxWant;
  Key buffer[kBuffer];
  const std::uint32_t limit = 8 * want;
  std::uint32_t nbuffer = 0;
  Key threshold{std::numeric_limits<float>::infinity(), ~std::uint64_t{0}};
  for (std::uint32_t i = 0; i < npool_; i++) {
    const float x = pool_[i].lower;
    if (x > threshold.lower) continue;
    const Key k{x, tid_order(pool_[i].tid)};
    if (!(k < threshold)) continue;
    buffer[nbuffer++] = k;
    if (nbuffer == limit) {
      std::nth_element(buffer, buffer + want - 1, buffer + limit);
      threshold = buffer[want - 1];
      nbuffer = want;
    }
  }
  if (nbuffer > want) {
    std::nth_element(buffer, buffer + want - 1, buffer + nbuffer);
    nbuffer = want;
  }
  const Key last = *std::max_element(buffer, buffer + nbuffer);  // the latest that moves

  std::uint32_t n = npool_, i = 0;
  bool have_min = false;
  while (i < n) {
    const float x = pool_[i].lower;
    if (x < last.lower || (x == last.lower && tid_order(pool_[i].tid) <= last.tid)) {
      move_to_heap(&pool_[i], 1);
      if (i != --n) copy_fields(pool_[n], &pool_[i]);
      continue;
    }
    if (!have_min || earlier(pool_[i], pool_min_)) {
      copy_fields(pool_[i], &pool_min_);
      have_min = true;
    }
    i++;
  }
  npool_ = n;
}

// A large pool (a long iterative scan) gives up a 64th of itself at a time, selected in
// linear time, so draining it costs O(64 n) rather than O(n² / kRefill); an unordered
// queue (every bound 0) moves it all at once.
void CandidateQueue::refill() {
  const bool unordered = order_ == Order::kUnordered;
  const std::uint32_t n = npool_;
  if (!unordered && n <= 64 * kMaxWant) {  // a 64th of it is at most kMaxWant
    refill_few(std::max(kRefill, n / 64));
    return;
  }
  const std::uint32_t m = unordered ? n : n / 64;
  if (m < n) {
    std::nth_element(pool_, pool_ + m, pool_ + n, Earlier());
    pool_min_ = pool_[m];  // the earliest of what stays
  }
  move_to_heap(pool_, m);
  // The pool's order does not matter: its last rows fill the holes (no shift of the rest).
  const std::uint32_t fill = std::min(m, n - m);
  std::memcpy(pool_, pool_ + n - fill, sizeof(Candidate) * fill);
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
