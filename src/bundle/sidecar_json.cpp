// See sidecar_json.h. nlohmann::json parses; every rule about which values are allowed is
// checked here by hand so each error names its field.
#include "bundle/sidecar_json.h"

#include <limits>

#include <nlohmann/json.hpp>

#include "bundle/errors.h"
#include "bundle/hex.h"
#include "bundle/rust_bundle.h"
#include "util/json_parse.h"

namespace ruvector::bundle {
namespace {

using json = nlohmann::json;

constexpr const char* kFieldOrder[] = {
    "format_version", "data_ref",   "dim",        "rotation_seed", "rerank_factor",
    "generation",     "pii_policy", "lineage_id", "data_digest",   "rvf_witness"};

[[noreturn]] void bad_field(const std::string& field, const std::string& what) {
  throw FormatError("bundle sidecar field \"" + field + "\" " + what, field);
}

// nlohmann keeps the last of duplicate keys; other readers keep the first. Refusing
// duplicates means every reader sees the same sidecar. parse_json's errors (syntax, a
// number beyond double, nesting) become FormatErrors naming the field.
json parse_sidecar_text(std::string_view text) {
  JsonBounds bounds;
  bounds.duplicates = DuplicateKeys::kRefuse;
  try {
    return parse_json(text, "bundle sidecar", bounds);
  } catch (const JsonError& e) {
    throw FormatError(e.what(), e.path());
  }
}

const json& member(const json& doc, const char* field) {
  auto it = doc.find(field);
  if (it == doc.end())
    throw FormatError(std::string("bundle sidecar is missing field \"") + field + "\"", field);
  return *it;
}

std::uint32_t get_u32(const json& doc, const char* field) {
  const json& v = member(doc, field);
  if (!v.is_number_unsigned() || v.get<std::uint64_t>() > std::numeric_limits<std::uint32_t>::max())
    bad_field(field, "must be an integer between 0 and 4294967295");
  return static_cast<std::uint32_t>(v.get<std::uint64_t>());
}

std::string get_string(const json& doc, const char* field) {
  const json& v = member(doc, field);
  if (!v.is_string()) bad_field(field, "must be a string");
  return v.get<std::string>();
}

Digest get_digest(const json& doc, const char* field) {
  const json& v = member(doc, field);
  std::optional<Digest> digest;
  if (v.is_string()) digest = digest_from_hex(v.get<std::string>());
  if (!digest) bad_field(field, "must be a string of 64 lowercase hex digits");
  return *digest;
}

std::uint64_t get_seed(const json& doc) {
  const json& v = member(doc, "rotation_seed");
  std::uint64_t seed = 0;
  if (!v.is_string() || !parse_u64_decimal(v.get<std::string>(), &seed))
    bad_field("rotation_seed",
              "must be a string of decimal digits between \"0\" and \"18446744073709551615\" "
              "(64-bit values do not survive JSON numbers in many readers)");
  return seed;
}

Generation get_generation(const json& doc) {
  const json& v = member(doc, "generation");
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  bad_field("generation", "must be a non-negative integer or a string");
}

void check_version_window(const json& doc) {
  const json& v = member(doc, "format_version");
  if (!v.is_number_unsigned()) bad_field("format_version", "must be a non-negative integer");
  std::uint64_t version = v.get<std::uint64_t>();
  if (version < kMinReaderVersion)
    throw DowngradeError("bundle format_version " + std::to_string(version) +
                         " is older than this reader's minimum " +
                         std::to_string(kMinReaderVersion) + ": downgrade refused");
  if (version > kFormatVersion)
    throw UnsupportedVersionError("bundle format_version " + std::to_string(version) +
                                      " is newer than this reader supports (" +
                                      std::to_string(kFormatVersion) + ")",
                                  "format_version");
}

}  // namespace

bool parse_u64_decimal(std::string_view text, std::uint64_t* out) {
  if (text.empty() || text.size() > 20 || (text.size() > 1 && text[0] == '0')) return false;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return false;
    value = value * 10 + digit;
  }
  *out = value;
  return true;
}

std::string sidecar_to_json(const Sidecar& s) {
  if (s.scheme == WitnessScheme::kRustV1) return rust_sidecar_to_json(s);
  validate_fields(s);
  nlohmann::ordered_json doc;
  doc["format_version"] = s.format_version;
  doc["data_ref"] = s.data_ref;
  doc["dim"] = s.dim;
  doc["rotation_seed"] = std::to_string(s.rotation_seed);
  doc["rerank_factor"] = s.rerank_factor;
  if (const auto* number = std::get_if<std::uint64_t>(&s.generation)) {
    doc["generation"] = *number;
  } else {
    doc["generation"] = std::get<std::string>(s.generation);
  }
  doc["pii_policy"] = s.pii_policy;
  doc["lineage_id"] = s.lineage_id;
  doc["data_digest"] = to_hex(s.data_digest);
  doc["rvf_witness"] = to_hex(s.rvf_witness);
  return doc.dump(2) + "\n";
}

Sidecar sidecar_from_json(std::string_view text) {
  if (text.size() > kMaxSidecarBytes)
    throw FormatError("bundle sidecar is larger than " + std::to_string(kMaxSidecarBytes) +
                      " bytes");
  json doc = parse_sidecar_text(text);
  if (!doc.is_object()) throw FormatError("bundle sidecar must be a JSON object");
  // The native format requires data_digest and writes rotation_seed as a string; the Rust
  // one has no data_digest and a numeric seed. Either native sign picks the native reader
  // (and its witness), so a native sidecar missing a field is told so.
  auto seed = doc.find("rotation_seed");
  bool native = doc.contains("data_digest") || (seed != doc.end() && seed->is_string());
  if (!native) return rust_sidecar_from_json(text);
  // The version decides how the rest is read, so it is checked first: a downgraded
  // sidecar is reported as a downgrade, not as a list of field differences.
  check_version_window(doc);
  for (const auto& item : doc.items()) {
    bool known = false;
    for (const char* name : kFieldOrder) known = known || item.key() == name;
    if (!known)
      bad_field(item.key(), "is not part of format version " + std::to_string(kFormatVersion));
  }
  Sidecar s;
  s.format_version = get_u32(doc, "format_version");
  s.data_ref = get_string(doc, "data_ref");
  s.dim = get_u32(doc, "dim");
  s.rotation_seed = get_seed(doc);
  s.rerank_factor = get_u32(doc, "rerank_factor");
  s.generation = get_generation(doc);
  s.pii_policy = get_string(doc, "pii_policy");
  s.lineage_id = get_string(doc, "lineage_id");
  s.data_digest = get_digest(doc, "data_digest");
  s.rvf_witness = get_digest(doc, "rvf_witness");
  validate_fields(s);
  return s;
}

}  // namespace ruvector::bundle
