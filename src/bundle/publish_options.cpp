// See publish_options.h.
#include "bundle/publish_options.h"

#include <nlohmann/json.hpp>

#include "bundle/sidecar.h"
#include "util/error.h"
#include "util/json_parse.h"

namespace ruvector::bundle {
namespace {

using json = nlohmann::json;

[[noreturn]] void bad_option(const std::string& key, const std::string& what) {
  fail(ErrorKind::kInvalidParameter, "publish_bundle option \"" + key + "\" " + what);
}

// Control characters are legal in JSON strings but not in a tag that logs, catalogs and
// terminals show: a newline or an escape sequence there could forge what a reader sees.
bool has_control_character(std::string_view text) {
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) return true;
  }
  return false;
}

std::string checked_string(const std::string& key, const json& value, bool allow_empty) {
  std::string s = value.get<std::string>();
  if (!allow_empty && s.empty()) bad_option(key, "must not be empty");
  if (s.size() > kMaxOptionBytes)
    bad_option(key, "is longer than " + std::to_string(kMaxOptionBytes) + " bytes");
  if (!is_valid_utf8(s)) bad_option(key, "is not valid UTF-8");
  if (has_control_character(s)) bad_option(key, "must not contain control characters");
  return s;
}

Generation checked_generation(const json& value) {
  if (value.is_string()) return checked_string("generation", value, false);
  if (value.is_number_unsigned() && value.get<std::uint64_t>() <= kMaxGenerationNumber)
    return value.get<std::uint64_t>();
  // Beyond 2^53 - 1 a JSON reader that uses doubles would round the number; the sidecar
  // refuses it, so say how to write it instead.
  if (value.is_number_unsigned() || value.is_number_float())
    bad_option("generation",
               "must be an integer between 0 and 2^53 - 1; write a larger or fractional one "
               "as a string");
  bad_option("generation", "must be a non-negative integer or a string");
}

}  // namespace

void apply_publish_options(std::string_view options_json, BundleMeta* meta) {
  json doc;
  try {
    doc = parse_json(options_json, "publish_bundle options", JsonBounds{});
  } catch (const JsonError& e) {
    fail(ErrorKind::kInvalidParameter, e.what());
  }
  if (!doc.is_object())
    fail(ErrorKind::kInvalidParameter, "publish_bundle options must be a JSON object");
  BundleMeta out = *meta;
  for (const auto& [key, value] : doc.items()) {
    if (key == "pii_policy" || key == "lineage_id") {
      if (!value.is_string()) bad_option(key, "must be a string");
      (key == "pii_policy" ? out.pii_policy : out.lineage_id) = checked_string(key, value, true);
    } else if (key == "generation") {
      out.generation = checked_generation(value);
    } else if (key == "format") {
      if (value == "native") {
        out.format = BundleFormat::kNative;
      } else if (value == "ruvector-rust") {
        out.format = BundleFormat::kRust;
      } else {
        bad_option(key, "must be \"native\" or \"ruvector-rust\"");
      }
    } else {
      // The key is the caller's text: bound what goes back into the message, cut it on a
      // character boundary and show control characters as '?', so the message stays
      // valid UTF-8 that a terminal shows as it is.
      std::size_t cut = key.size() > 64 ? 64 : key.size();
      while (cut > 0 && cut < key.size() && (static_cast<unsigned char>(key[cut]) & 0xC0) == 0x80)
        cut--;
      std::string shown = key.substr(0, cut);
      for (char& c : shown) {
        if (has_control_character(std::string_view(&c, 1))) c = '?';
      }
      if (cut < key.size()) shown += "...";
      fail(ErrorKind::kInvalidParameter, "publish_bundle: unknown option \"" + shown +
                                             "\"; options are pii_policy, lineage_id, "
                                             "generation and format");
    }
  }
  *meta = std::move(out);
}

}  // namespace ruvector::bundle
