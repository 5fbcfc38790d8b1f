// The candidates of an ordered scan, earliest lower bound first, and its reranked results,
// nearest first; ties go to the smaller heap TID so that the order is total.
//
// Candidates wait in an unordered pool; the earliest few at a time move to a small heap
// whose top the scan works on. Most rows of a probed list are never reranked, so sorting
// them all (one heap over every estimate) cost more (docs/benchmarks.md).
//
// The arrays are the caller's and grow through its Growth: the index scan keeps them in a
// memory context (and one cached array per backend), so nothing here owns memory and every
// type is trivially destructible: a Postgres error may unwind past them.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

namespace ruvector::rabitq {

// A heap TID in ItemPointerData's layout (block number high and low halves, offset), so
// the extension converts without knowing the core and the core orders without Postgres.
struct HeapTid {
  std::uint16_t block_hi;
  std::uint16_t block_lo;
  std::uint16_t offset;
};
static_assert(sizeof(HeapTid) == 6);

// ItemPointerCompare's order: block, then offset.
inline std::uint64_t tid_order(HeapTid t) {
  return (std::uint64_t{t.block_hi} << 32) | (std::uint64_t{t.block_lo} << 16) | t.offset;
}

// Candidate::probe once the candidate has its final bound (always, with 1-bit codes).
constexpr std::uint32_t kRefined = 0xFFFFFFFF;

struct Candidate {
  float lower;  // lower bound of its distance, in operator units
  HeapTid tid;
  // Where its vector and ex item are in the index: opaque here, the scan reads them.
  std::uint32_t vector_block;
  std::uint16_t vector_offset;
  std::uint16_t ex_offset;
  std::uint32_t ex_block;
  std::uint32_t probe;  // the scan's index of its list, for refining; or kRefined
};
static_assert(std::is_trivially_copyable_v<Candidate> && sizeof(Candidate) == 28);

struct Result {
  double distance;
  HeapTid tid;
};

// A NaN bound (factors read from a damaged index) is no bound at all: -infinity, so that
// the row is reranked first and the order stays total (the queue's sorts rely on it).
inline float bound_or_none(float lower) {
  return std::isnan(lower) ? -std::numeric_limits<float>::infinity() : lower;
}

// Whether a comes out before b: smaller bound, then smaller TID.
inline bool earlier(const Candidate& a, const Candidate& b) {
  if (a.lower != b.lower) return a.lower < b.lower;
  return tid_order(a.tid) < tid_order(b.tid);
}
inline bool earlier(const Result& a, const Result& b) {
  if (a.distance != b.distance) return a.distance < b.distance;
  return tid_order(a.tid) < tid_order(b.tid);
}

// Resizes one of the caller's arrays to `bytes`, keeping its contents; throws (never
// returns null) when it cannot.
struct Growth {
  void* (*resize)(void* ctx, void* array, std::size_t bytes);
  void* ctx;
};

// A Growth over std::realloc (throws std::bad_alloc), for callers that free with std::free.
Growth malloc_growth();

namespace detail {
template <typename T>
void grow(const Growth& g, T** array, std::uint32_t* capacity) {
  *array = static_cast<T*>(g.resize(g.ctx, *array, sizeof(T) * std::size_t{*capacity} * 2));
  *capacity *= 2;
}
}  // namespace detail

class CandidateQueue {
 public:
  enum class Order {
    kByBound,    // bounds are lower bounds of distances
    kUnordered,  // every bound is 0 (no distances): nothing to sort
  };

  // pool and heap: caller's arrays of at least one element each.
  void init(Candidate* pool, std::uint32_t pool_capacity, Candidate* heap,
            std::uint32_t heap_capacity, Order order, Growth growth);

  // Copies field by field: a whole-struct copy made the compiler build c on the stack
  // with narrow stores and read it back as two 16-byte loads, a failed store-to-load
  // forward on every estimated row (a third of the per-row loop's time; perf annotate).
  void add(const Candidate& c) {
    if (npool_ == pool_capacity_) detail::grow(growth_, &pool_, &pool_capacity_);
    Candidate* slot = &pool_[npool_];
    copy_fields(c, slot);
    slot->lower = bound_or_none(c.lower);
    if (npool_ == 0 || earlier(*slot, pool_min_)) copy_fields(*slot, &pool_min_);
    npool_++;
  }

  // Makes top() the earliest candidate of all; false when there is none.
  bool settle() {
    if (npool_ > 0 && (nheap_ == 0 || earlier(pool_min_, heap_[0]))) refill();
    return nheap_ > 0;
  }
  // Valid after settle() returned true, until the next add/pop/requeue.
  const Candidate& top() const { return heap_[0]; }
  Candidate pop();
  // Gives the top candidate its final, tighter bound; it goes back in order.
  void requeue_top(float lower);

  std::uint32_t size() const { return npool_ + nheap_; }
  // The arrays as grown, for their owner (the pool may be kept for later scans).
  Candidate* pool_array() const { return pool_; }
  std::uint32_t pool_capacity() const { return pool_capacity_; }
  Candidate* heap_array() const { return heap_; }

 private:
  static void copy_fields(const Candidate& c, Candidate* to) {
    to->lower = c.lower;
    to->tid.block_hi = c.tid.block_hi;
    to->tid.block_lo = c.tid.block_lo;
    to->tid.offset = c.tid.offset;
    to->vector_block = c.vector_block;
    to->vector_offset = c.vector_offset;
    to->ex_offset = c.ex_offset;
    to->ex_block = c.ex_block;
    to->probe = c.probe;
  }
  void refill();
  void refill_few(std::uint32_t want);
  void move_to_heap(const Candidate* from, std::uint32_t n);

  Candidate* pool_;
  std::uint32_t npool_;
  std::uint32_t pool_capacity_;
  Candidate pool_min_;  // the pool's earliest, when it is not empty
  Candidate* heap_;     // earliest on top
  std::uint32_t nheap_;
  std::uint32_t heap_capacity_;
  Order order_;
  Growth growth_;
};

// Reranked rows, nearest first.
class ResultQueue {
 public:
  void init(Result* array, std::uint32_t capacity, Growth growth);
  void push(const Result& r);
  bool empty() const { return n_ == 0; }
  const Result& top() const { return array_[0]; }
  Result pop();
  Result* array() const { return array_; }  // as grown, for its owner

 private:
  Result* array_;
  std::uint32_t n_;
  std::uint32_t capacity_;
  Growth growth_;
};

// A Postgres error may unwind a scan past these.
static_assert(std::is_trivially_destructible_v<CandidateQueue>);
static_assert(std::is_trivially_destructible_v<ResultQueue>);

}  // namespace ruvector::rabitq
