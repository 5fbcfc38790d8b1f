// How much memory priming a collection may take: the image must fit in the cache
// (rulake.cache_size) and the build in the priming bound (rulake.max_prime_memory). Checked
// once on an estimate of the rows before any is read, and again as rows arrive, so a
// source larger than it claimed, or growing while it is read, is refused as soon as it
// passes a limit rather than when the memory is gone.
#pragma once

#include <cstdint>
#include <string>

#include "rulake/collection_index.h"

namespace ruvector::rulake {

struct PrimeLimits {
  std::uint64_t cache_bytes = 0;   // rulake.cache_size
  std::uint64_t memory_bytes = 0;  // rulake.max_prime_memory
};

// Throws Error(kProgramLimit) when `rows` rows of params.dim dimensions cannot be primed
// under `limits`, naming the collection, the bytes needed, the limit, and the setting to
// raise. `basis` says where the row count came from ("estimated by the planner").
void check_prime_limits(const std::string& collection, const PrimeLimits& limits,
                        const IndexParams& params, std::uint64_t rows, const std::string& basis);

// A budget for IndexBuilder that applies check_prime_limits to the rows read so far.
IndexBuilder::Budget prime_budget(const std::string& collection, const PrimeLimits& limits,
                                  const IndexParams& params);

}  // namespace ruvector::rulake
