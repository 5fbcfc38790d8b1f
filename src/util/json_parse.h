// Parsing JSON that comes from outside (peers, files, SQL arguments) within fixed bounds.
// Nesting is refused past a depth limit before anything deeper is built, so nothing that
// recurses over the result (nlohmann's copy and dump, our walkers) can exhaust the stack,
// and every failure is a typed ruvector::Error naming what was parsed and the field.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "util/error.h"

namespace ruvector {

// Deeper than any document we read has reason to be (AgentCards nest about 5 levels), far
// below what recursion over nlohmann values survives on a Postgres backend's stack.
inline constexpr int kMaxJsonDepth = 64;

enum class NulStrings { kAllow, kRefuse };  // kRefuse: jsonb cannot store \u0000
enum class DuplicateKeys { kLastWins, kRefuse };

struct JsonBounds {
  int max_depth = kMaxJsonDepth;  // containers inside containers; a scalar is depth 0
  NulStrings nul = NulStrings::kAllow;
  DuplicateKeys duplicates = DuplicateKeys::kLastWins;
};

// For JSON that ends up in a jsonb column, which cannot hold \u0000: refused on arrival
// rather than when it is stored.
inline constexpr JsonBounds kJsonbBounds = {kMaxJsonDepth, NulStrings::kRefuse,
                                            DuplicateKeys::kLastWins};

// What parse_json refuses, with where: path() is the field as "a.b[2].c", or empty for
// the whole document.
class JsonError : public Error {
 public:
  JsonError(ErrorKind kind, const std::string& message, std::string path)
      : Error(kind, message), path_(std::move(path)) {}
  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

// Parses `text` as one JSON value; `what` names it in messages ("AgentCard", "bundle
// sidecar"). Throws JsonError:
//   kDataException  "<what> is not valid JSON: <cause>" (syntax, invalid UTF-8, trailing
//                   bytes); "<what> field "<path>": number out of range" (1e400);
//                   "... NUL character (\u0000), which cannot be stored" (NulStrings::kRefuse);
//                   "... key appears more than once" (DuplicateKeys::kRefuse)
//   kProgramLimit   "<what> field "<path>": JSON nested deeper than 64 levels"
// Never throws a nlohmann exception.
nlohmann::json parse_json(std::string_view text, std::string_view what,
                          const JsonBounds& bounds = {});

// Whether `value` holds containers nested deeper than `max_depth`. Iterative: for values
// that did not come from parse_json, before anything recursive touches them.
bool json_deeper_than(const nlohmann::json& value, int max_depth);

// Refuses nesting past `max_depth`, with the message parse_json uses.
[[noreturn]] void fail_json_too_deep(std::string_view what, const std::string& path,
                                     int max_depth = kMaxJsonDepth);

}  // namespace ruvector
