// SQL wrappers of the prime helpers (src/prime): is_prime, next_prime, prev_prime,
// prime_near_pow2 and shard_of. bigint overloads for the signed range, numeric overloads
// for the whole unsigned 64-bit range [0, 2^64).
#include "extension/boundary.h"

#include <cinttypes>
#include <cstdio>
#include <string>

#include "prime/prime_search.h"
#include "prime/shard_router.h"
#include "prime/u64_text.h"
#include "util/error.h"

extern "C" {
#include "utils/numeric.h"
}

using ruvector::ErrorKind;
using ruvector::fail;
namespace prime = ruvector::prime;

namespace {

constexpr std::uint64_t kBigintMax = INT64_MAX;

// numeric -> u64; raises unless the value is an integer in [0, 2^64).
std::uint64_t numeric_to_u64(Datum value, const char* what) {
  char* text = DatumGetCString(
      ruvector::pg::pg_call([&] { return DirectFunctionCall1(numeric_out, value); }));
  return prime::parse_u64(text, what);
}

Datum u64_to_numeric(std::uint64_t value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%" PRIu64, value);
  return ruvector::pg::pg_call([&] {
    return DirectFunctionCall3(numeric_in, CStringGetDatum(text), ObjectIdGetDatum(InvalidOid),
                               Int32GetDatum(-1));
  });
}

std::uint64_t next_prime_or_fail(std::uint64_t x, std::uint64_t limit, const char* limit_name) {
  auto p = prime::next_prime(x);
  if (!p || *p > limit) {
    fail(ErrorKind::kOutOfRange,
         "next_prime: no prime greater than " + std::to_string(x) + " fits in " + limit_name,
         limit == kBigintMax ? "next_prime(numeric) covers the unsigned 64-bit range." : "");
  }
  return *p;
}

std::uint64_t prev_prime_or_fail(std::uint64_t x) {
  auto p = prime::prev_prime(x);
  if (!p)
    fail(ErrorKind::kInvalidParameter, "prev_prime: no prime is less than " + std::to_string(x));
  return *p;
}

}  // namespace

RUVECTOR_FUNCTION(ruvector_is_prime_bigint) {
  int64 x = PG_GETARG_INT64(0);
  PG_RETURN_BOOL(x >= 0 && prime::is_prime_u64(static_cast<std::uint64_t>(x)));
}

RUVECTOR_FUNCTION(ruvector_is_prime_numeric) {
  PG_RETURN_BOOL(prime::is_prime_u64(numeric_to_u64(PG_GETARG_DATUM(0), "is_prime")));
}

RUVECTOR_FUNCTION(ruvector_next_prime_bigint) {
  int64 x = PG_GETARG_INT64(0);
  std::uint64_t from = x < 0 ? 0 : static_cast<std::uint64_t>(x);
  PG_RETURN_INT64(static_cast<int64>(next_prime_or_fail(from, kBigintMax, "bigint")));
}

RUVECTOR_FUNCTION(ruvector_next_prime_numeric) {
  std::uint64_t x = numeric_to_u64(PG_GETARG_DATUM(0), "next_prime");
  return u64_to_numeric(next_prime_or_fail(x, ~std::uint64_t{0}, "64 bits"));
}

RUVECTOR_FUNCTION(ruvector_prev_prime_bigint) {
  int64 x = PG_GETARG_INT64(0);
  if (x < 3) {
    fail(ErrorKind::kInvalidParameter, "prev_prime: no prime is less than " + std::to_string(x));
  }
  PG_RETURN_INT64(static_cast<int64>(prev_prime_or_fail(static_cast<std::uint64_t>(x))));
}

RUVECTOR_FUNCTION(ruvector_prev_prime_numeric) {
  std::uint64_t x = numeric_to_u64(PG_GETARG_DATUM(0), "prev_prime");
  return u64_to_numeric(prev_prime_or_fail(x));
}

RUVECTOR_FUNCTION(ruvector_prime_near_pow2) {
  return u64_to_numeric(prime::prime_below_pow2(PG_GETARG_INT32(0)));
}

RUVECTOR_FUNCTION(ruvector_shard_of) {
  PG_RETURN_INT32(prime::shard_of(PG_GETARG_INT64(0), PG_GETARG_INT32(1)));
}
