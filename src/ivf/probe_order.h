// The order in which an IVF scan probes its lists: by increasing key (distance of the
// query to the list's centroid), ties by list number, exactly as sorting every exact key
// would give, but computing the exact key only of lists whose lower bound (from
// centroid_codes.h) could place them next. Storage is the caller's, so a Postgres scan
// keeps it in its own memory context across calls.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace ruvector::ivf {

// A float no larger than x, for the lower bounds of keys, computed once a list every query
// (nextafter there, a libm call, showed in a query's profile: docs/benchmarks.md). The
// conversion rounds by at most half an ulp (2^-24 of the value, or 2^-150 below the normal
// range); the margin, 2^-23 of the value plus 2^-126, is larger, so the result never
// exceeds x.
inline float float_below(double x) {
  return static_cast<float>(x - std::fabs(x) * 0x1p-23 - 0x1p-126);
}

struct ListKey {
  float key;
  std::uint32_t list;
};

// Strict weak order of the probe sequence: key, then list.
inline bool key_earlier(const ListKey& a, const ListKey& b) {
  if (a.key != b.key) return a.key < b.key;
  return a.list < b.list;
}

// key_earlier as a function object for the std algorithms: given the function's pointer,
// GCC called it for every comparison instead of inlining it (a query's profile).
struct KeyEarlier {
  bool operator()(const ListKey& a, const ListKey& b) const { return key_earlier(a, b); }
};

struct ProbeOrder {
  ListKey* pending;  // lists not yet exact, by lower bound: [pos, sorted) sorted
  ListKey* ready;    // exact keys not yet taken: a heap, earliest on top
  std::uint32_t lists;
  std::uint32_t pos;
  std::uint32_t sorted;
  std::uint32_t nready;
  std::uint32_t exact;  // exact keys computed so far

  // storage: 2 × lists entries; lower: per list, a lower bound of its exact key.
  void init(ListKey* storage, const float* lower, std::uint32_t n) {
    pending = storage;
    ready = storage + n;
    lists = n;
    pos = sorted = nready = exact = 0;
    for (std::uint32_t i = 0; i < n; i++) pending[i] = ListKey{lower[i], i};
  }

  // The next list of the sequence into *out; false when every list was taken. exact_key
  // (list) returns the list's exact key, which must be >= its lower bound.
  template <class ExactKey>
  bool next(ExactKey&& exact_key, ListKey* out) {
    auto later = [](const ListKey& a, const ListKey& b) { return key_earlier(b, a); };
    for (;;) {
      if (pos < lists && pos == sorted) {
        // Sort the next stretch of bounds: twice what was sorted, at least 16.
        std::uint32_t want = std::min(lists, std::max(sorted * 2, sorted + 16));
        std::partial_sort(pending + pos, pending + want, pending + lists, KeyEarlier());
        sorted = want;
      }
      // A pending list could still come first unless its bound is above the best exact key.
      if (pos < lists && (nready == 0 || pending[pos].key <= ready[0].key)) {
        std::uint32_t list = pending[pos++].list;
        ready[nready++] = ListKey{exact_key(list), list};
        std::push_heap(ready, ready + nready, later);
        exact++;
        continue;
      }
      if (nready == 0) return false;
      std::pop_heap(ready, ready + nready, later);
      *out = ready[--nready];
      return true;
    }
  }
};

}  // namespace ruvector::ivf
