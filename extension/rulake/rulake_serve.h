// Serving a search from the cache: pick the key the consistency mode asks for, pin the
// entry or prime it, and search the image (rulake_serve.cpp).
#pragma once

#include <type_traits>

#include "extension/rulake/rulake_source.h"

namespace ruvector::pg::rulake {

// An image ready to search: a pinned cache entry, or a private copy when the rows could
// not be shared (this transaction's own writes, or a cache too small to hold it).
struct Served {
  Pinned pin;
  PrivateImage* private_image;
  uint32 rerank_factor;  // the source's default
  uint64 image_key;      // names a cached image's content for GPU kernels; 0 when private
};
// It lives in frames that an ereport may longjmp over.
static_assert(std::is_trivially_destructible_v<Served>);

// Counts a hit or a miss in the collection's statistics.
Served serve(const Collection& c);
void release(const Served& served);

struct Hit {
  int64 id;
  float distance;
};

// Searches the served image; `out` has room for k hits. Returns how many it wrote.
int search_served(const Collection& c, const Served& served, const float* query, int dim, int k,
                  uint32 rerank_factor, Hit* out);

// The same for nqueries queries of dim floats each, through the scan kernel ruvector.gpu
// picks: query q's hits go to out + q * k, their number to counts[q].
void search_served_batch(const Collection& c, const Served& served, const float* queries,
                         int nqueries, int dim, int k, uint32 rerank_factor, Hit* out, int* counts);

// Says that search_served_each on `threads` threads comes soon: its helper threads wake now
// and wait for it awake, so the wake-up (tens of µs) overlaps the work before it.
void prepare_search_each(int threads);

// One query against n served images at once, on up to `threads` threads (the calling one
// included): image i's hits go to out + i * k, their number to counts[i], exactly as n
// calls of search_served would write them.
void search_served_each(const Collection* const* collections, const Served* served, int n,
                        const float* query, int dim, int k, const uint32* rerank_factors, Hit* out,
                        int* counts, int threads);

}  // namespace ruvector::pg::rulake
