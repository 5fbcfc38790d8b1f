// The bounded JSON reader against nlohmann's own parser: whatever it accepts, nlohmann
// accepts too and builds the same value, within the depth asked for; a syntax or range
// error it reports, nlohmann reports too.
#include "fuzz.h"
#include "util/json_parse.h"

namespace {

using nlohmann::json;

std::vector<std::string> seeds() {
  return {R"({"a": [1, -2, 3.5e10, true, null, "s\u00e9\ud83d\ude00"], "b": {"c": {"d": [[]]}}})",
          R"([18446744073709551615, -9223372036854775808, 0.1, "", {}])", R"("just a string")",
          "7"};
}

bool has(const std::string& text, const char* part) { return text.find(part) != std::string::npos; }

void run(const std::string& input, fuzz::Rng& rng) {
  ruvector::JsonBounds bounds;
  // At least the seeds' depth (4), so that they are accepted.
  bounds.max_depth = rng.chance(50) ? ruvector::kMaxJsonDepth : 4 + static_cast<int>(rng.below(76));
  if (rng.chance(50)) bounds.nul = ruvector::NulStrings::kRefuse;
  if (rng.chance(50)) bounds.duplicates = ruvector::DuplicateKeys::kRefuse;
  // nlohmann's verdict, taken only where it is cheap: it builds whatever depth it reads.
  auto reference = [&] { return json::parse(input, nullptr, false); };
  json value;
  try {
    value = ruvector::parse_json(input, "fuzz input", bounds);
  } catch (const ruvector::JsonError& e) {
    std::string what = e.what();
    bool syntax =
        has(what.c_str(), "is not valid JSON") || has(what.c_str(), "number out of range");
    if (syntax && !reference().is_discarded())
      throw fuzz::Mismatch("refused what nlohmann accepts: " + what);
    throw;
  }
  if (value != reference()) throw fuzz::Mismatch("built another value than nlohmann");
  if (ruvector::json_deeper_than(value, bounds.max_depth))
    throw fuzz::Mismatch("built a value deeper than the bound");
  std::string text = value.dump();
  if (bounds.nul == ruvector::NulStrings::kRefuse && has(text.c_str(), "\\u0000"))
    throw fuzz::Mismatch("a NUL got through");
}

const bool registered = fuzz::register_driver({"json_parse", seeds, nullptr, run, nullptr});

}  // namespace
