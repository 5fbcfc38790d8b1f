// Run-time entry points of the prime helpers: the checked table lookup, the shard router
// and decimal conversions. The arithmetic itself is constexpr in the headers.
#include <string>

#include "prime/prime_search.h"
#include "prime/shard_router.h"
#include "prime/u64_text.h"
#include "util/error.h"

namespace ruvector::prime {

u64 prime_below_pow2(int k) {
  if (k < 2 || k > 64) {
    fail(ErrorKind::kInvalidParameter,
         "prime_near_pow2: k must be between 2 and 64, not " + std::to_string(k));
  }
  return kPrimeBelowPow2.value[k];
}

std::uint64_t shard_modulus(int shards) {
  if (shards < 1) {
    fail(ErrorKind::kInvalidParameter,
         "shard count must be at least 1, not " + std::to_string(shards));
  }
  return shards <= 2 ? 2 : *next_prime(static_cast<u64>(shards) - 1);  // smallest prime >= shards
}

int shard_of(std::int64_t key, int shards) {
  u64 p = shard_modulus(shards);
  u64 h = static_cast<u64>(key);
  for (;;) {
    h = splitmix64(h);
    u64 r = h % p;
    if (r < static_cast<u64>(shards)) return static_cast<int>(r);
  }
}

std::uint64_t parse_u64(const std::string& text, const char* what) {
  auto bad = [&](const std::string& why) {
    fail(ErrorKind::kOutOfRange, std::string(what) + ": " + why);
  };
  if (text == "NaN" || text == "Infinity" || text == "-Infinity") bad("not a finite integer: " + text);
  std::size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) negative = text[i++] == '-';
  std::size_t digits_start = i;
  u128 value = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; i++) {
    value = value * 10 + static_cast<unsigned>(text[i] - '0');
    if (value > ~u64{0}) bad(text + " is outside the unsigned 64-bit range [0, 2^64)");
  }
  if (i == digits_start) bad("not an integer: " + text);
  if (i < text.size() && text[i] == '.') {
    for (i++; i < text.size(); i++) {
      if (text[i] != '0') bad("not an integer: " + text);
    }
  }
  if (i != text.size()) bad("not an integer: " + text);
  if (negative && value != 0) bad(text + " is outside the unsigned 64-bit range [0, 2^64)");
  return static_cast<u64>(value);
}

std::string format_u64(std::uint64_t value) { return std::to_string(value); }

}  // namespace ruvector::prime
