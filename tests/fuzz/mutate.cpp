// See fuzz.h. Hostile values are spliced into the text of a valid document where one of its
// values was, so most cases get past the syntax and reach the parser's own checks.
#include <utility>

#include "fuzz.h"
#include "util/splitmix64.h"

namespace fuzz {

using nlohmann::json;

namespace {

constexpr const char* kPlaceholder = "@@fuzz-placeholder@@";

std::string deep_arrays(std::size_t depth, bool closed) {
  return std::string(depth, '[') + (closed ? std::string(depth, ']') : "");
}

std::string deep_objects(std::size_t depth) {
  std::string text;
  for (std::size_t i = 0; i < depth; i++) text += "{\"k\":";
  return text + "1" + std::string(depth, '}');
}

std::size_t nesting(Rng& rng) {
  static constexpr std::size_t kDepths[] = {63, 64, 65, 200, 1000};
  if (rng.chance(40)) return 100000 + rng.below(200001);
  return kDepths[rng.below(std::size(kDepths))];
}

// Every node of `doc`, the root included.
std::vector<json*> nodes(json& doc) {
  std::vector<json*> out, stack{&doc};
  while (!stack.empty()) {
    json* n = stack.back();
    stack.pop_back();
    out.push_back(n);
    if (n->is_structured()) {
      for (json& child : *n) stack.push_back(&child);
    }
  }
  return out;
}

// Renames a random key of a random object: to one with a NUL, an empty one, a long one.
void mutate_key(json& doc, Rng& rng) {
  std::vector<json*> objects;
  for (json* n : nodes(doc)) {
    if (n->is_object() && !n->empty()) objects.push_back(n);
  }
  if (objects.empty()) return;
  json& obj = *objects[rng.below(objects.size())];
  auto it = obj.begin();
  std::advance(it, rng.below(obj.size()));
  std::string key = it.key();
  json value = std::move(it.value());
  obj.erase(key);
  static const std::string kKeys[] = {std::string("k\0y", 3), "", std::string(70000, 'k')};
  obj[kKeys[rng.below(std::size(kKeys))] + (rng.chance(50) ? key : "")] = std::move(value);
}

// Repeats the first member of the first object of the text (a duplicate key).
std::string duplicate_first_member(std::string text) {
  std::size_t open = text.find('{');
  if (open == std::string::npos || text.compare(open + 1, 1, "\"") != 0) return text;
  std::size_t colon = text.find("\":", open);
  if (colon == std::string::npos) return text;
  return text.insert(open + 1, text.substr(open + 1, colon + 2 - open - 1) + "0,");
}

}  // namespace

std::uint64_t Rng::next() { return ruvector::splitmix64_next(&state_); }

std::string hostile_value(Rng& rng) {
  static const char* const kNumbers[] = {
      "1e400",   "-1e400", "1E+999999999999",        "18446744073709551616",
      "1e-400",  "-0",     "-9223372036854775809",   "4294967296",
      "0.5",     "-1",     "1.7976931348623157e308", "123456789012345678901234567890",
      "4.9e-324"};
  static const char* const kStrings[] = {
      "\"a\\u0000b\"", "\"\\u0000\"",  "\"\xff\xfe\"",     "\"\xc3\"",   "\"\xc0\xaf\"",
      "\"\\ud800\"",   "\"\\udc00x\"", "\"\xed\xa0\x80\"", "\"a\x01b\"", "\"\xf4\x90\x80\x80\""};
  static const char* const kWrongTypes[] = {"null", "true", "false", "0",      "-1",         "[]",
                                            "{}",   "\"\"", "\"x\"", "[null]", "{\"\":null}"};
  switch (rng.below(7)) {
    case 0:
      return deep_arrays(nesting(rng), !rng.chance(10));
    case 1:
      return deep_objects(nesting(rng));
    case 2:
      return kNumbers[rng.below(std::size(kNumbers))];
    case 3:
      return kStrings[rng.below(std::size(kStrings))];
    case 4:
      return "\"" + std::string(1 << 20, 'x') + "\"";
    default:
      return kWrongTypes[rng.below(std::size(kWrongTypes))];
  }
}

std::string mutate_json(const json& seed, Rng& rng) {
  json doc = seed;
  if (rng.chance(20)) mutate_key(doc, rng);
  std::vector<json*> all = nodes(doc);
  *all[rng.below(all.size())] = kPlaceholder;
  std::string text = doc.dump(rng.chance(20) ? 2 : -1);
  const std::string quoted = json(kPlaceholder).dump();
  text.replace(text.find(quoted), quoted.size(), hostile_value(rng));
  if (rng.chance(10)) text = duplicate_first_member(std::move(text));
  if (rng.chance(25)) text = mutate_bytes(std::move(text), rng);
  return text;
}

std::string mutate_bytes(std::string text, Rng& rng) {
  static const char kSpecial[] = {'\0', '"', '\\', '{', '[', ']', '}', ',', ':', '\xff', '\xc3'};
  int ops = 1 + static_cast<int>(rng.below(4));
  for (int i = 0; i < ops; i++) {
    std::size_t at = rng.below(text.size() + 1);
    switch (rng.below(6)) {
      case 0:
        text.resize(at);
        break;
      case 1:
        if (at < text.size()) text[at] = static_cast<char>(text[at] ^ (1 + rng.below(255)));
        break;
      case 2:
        text.insert(at, 1, kSpecial[rng.below(sizeof(kSpecial))]);
        break;
      case 3:
        text.erase(at, rng.below(8));
        break;
      case 4:
        text.insert(at, text.substr(at, rng.below(64)));
        break;
      default:
        text.insert(at, "\\u0000");
        break;
    }
  }
  return text;
}

}  // namespace fuzz
