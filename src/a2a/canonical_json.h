// JSON Canonicalization Scheme (RFC 8785): the byte string that A2A AgentCard signatures
// are computed over. Object keys sorted by UTF-16 code units, no insignificant
// whitespace, numbers as ECMAScript prints doubles, strings with minimal escapes.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace ruvector::a2a {

// Canonical form of `value`. Throws ruvector::Error(kDataException) for strings that are
// not valid UTF-8 and for numbers JSON cannot hold, JsonError(kProgramLimit) for nesting
// deeper than kMaxJsonDepth.
std::string canonical_json(const nlohmann::json& value);

// ECMAScript Number.prototype.toString for a finite double (RFC 8785 section 3.2.2.3).
std::string ecmascript_number(double value);

}  // namespace ruvector::a2a
