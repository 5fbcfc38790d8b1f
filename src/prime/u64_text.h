// Decimal text <-> unsigned 64-bit integers, for the SQL numeric overloads that cover the
// whole unsigned range (bigint stops at 2^63 - 1).
#pragma once

#include <cstdint>
#include <string>

namespace ruvector::prime {

// Parses a numeric's text form ("123", "123.000", "-0") into [0, 2^64). Throws
// ruvector::Error naming `what` for negatives, fractions, NaN, infinities and values >= 2^64.
std::uint64_t parse_u64(const std::string& text, const char* what);

std::string format_u64(std::uint64_t value);

}  // namespace ruvector::prime
