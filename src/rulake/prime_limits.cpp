// See prime_limits.h.
#include "rulake/prime_limits.h"

#include "util/error.h"

namespace ruvector::rulake {

namespace {

std::string megabytes(std::uint64_t bytes) {
  return std::to_string((bytes + (1u << 20) - 1) >> 20) + " MB";
}

}  // namespace

void check_prime_limits(const std::string& collection, const PrimeLimits& limits,
                        const IndexParams& params, std::uint64_t rows, const std::string& basis) {
  const std::string shape = std::to_string(rows) + (rows == 1 ? " row of " : " rows of ") +
                            std::to_string(params.dim) + " dimensions, " + basis + ".";
  const std::uint64_t image = image_bytes(params, rows);
  // The cache first: no priming bound makes an image fit a cache smaller than it.
  if (image > limits.cache_bytes) {
    fail(ErrorKind::kProgramLimit,
         "rulake collection \"" + collection + "\" needs an index image of about " +
             megabytes(image) + ", more than rulake.cache_size (" + megabytes(limits.cache_bytes) +
             ") can hold",
         shape + " Raise rulake.cache_size (a restart) or register fewer rows.");
  }
  const std::uint64_t memory = build_memory_bytes(params, rows);
  if (memory > limits.memory_bytes) {
    fail(ErrorKind::kProgramLimit,
         "rulake collection \"" + collection + "\" needs about " + megabytes(memory) +
             " of memory to prime, more than rulake.max_prime_memory (" +
             megabytes(limits.memory_bytes) + ")",
         shape + " Raise rulake.max_prime_memory (superuser) or register fewer rows.");
  }
}

IndexBuilder::Budget prime_budget(const std::string& collection, const PrimeLimits& limits,
                                  const IndexParams& params) {
  return [collection, limits, params](std::uint64_t rows) {
    check_prime_limits(collection, limits, params, rows, "read so far");
  };
}

}  // namespace ruvector::rulake
