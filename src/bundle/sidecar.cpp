// See sidecar.h. The domains here are the single source of the rules the JSON reader,
// the publisher and the docs state.
#include "bundle/sidecar.h"

#include "bundle/errors.h"
#include "bundle/rust_bundle.h"

namespace ruvector::bundle {
namespace {

enum class Empty { kRefused, kAllowed };

void check_string(const std::string& value, const char* field, Empty empty) {
  if (empty == Empty::kRefused && value.empty())
    throw FormatError(std::string("bundle sidecar field \"") + field + "\" must not be empty",
                      field);
  if (value.size() > kMaxStringBytes)
    throw FormatError(std::string("bundle sidecar field \"") + field + "\" is longer than " +
                          std::to_string(kMaxStringBytes) + " bytes",
                      field);
  if (!is_valid_utf8(value))
    throw FormatError(std::string("bundle sidecar field \"") + field + "\" is not valid UTF-8",
                      field);
}

}  // namespace

bool Sidecar::operator==(const Sidecar& o) const {
  return scheme == o.scheme && format_version == o.format_version && data_ref == o.data_ref &&
         memory_class == o.memory_class && dim == o.dim && rotation_seed == o.rotation_seed &&
         rerank_factor == o.rerank_factor && generation == o.generation &&
         pii_policy == o.pii_policy && lineage_id == o.lineage_id && data_digest == o.data_digest &&
         rvf_witness == o.rvf_witness;
}

bool is_plain_file_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxDataRefBytes || name == "." || name == "..") return false;
  for (char c : name) {
    if (c == '/' || c == '\0') return false;
  }
  return true;
}

// RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF.
bool is_valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    std::size_t extra;
    std::uint32_t cp;
    if (c < 0x80) {
      i++;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= text.size()) return false;  // sequence cut off at the end
    for (std::size_t k = 1; k <= extra; k++) {
      unsigned char cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((extra == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (extra == 3 && (cp < 0x10000 || cp > 0x10FFFF))) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

void validate_fields(const Sidecar& s) {
  if (s.scheme == WitnessScheme::kRustV1) return validate_rust_fields(s);
  if (!is_plain_file_name(s.data_ref) || s.data_ref == kSidecarName)
    throw FormatError(
        "bundle sidecar field \"data_ref\" must name a file inside the bundle directory "
        "(one path component, not \".\", \"..\" or the sidecar itself, at most 255 bytes)",
        "data_ref");
  check_string(s.data_ref, "data_ref", Empty::kRefused);
  if (s.dim < 1 || s.dim > kMaxDim)
    throw FormatError(
        "bundle sidecar field \"dim\" must be between 1 and " + std::to_string(kMaxDim), "dim");
  if (s.rerank_factor < 1)
    throw FormatError("bundle sidecar field \"rerank_factor\" must be at least 1", "rerank_factor");
  if (const auto* number = std::get_if<std::uint64_t>(&s.generation)) {
    if (*number > kMaxGenerationNumber)
      throw FormatError(
          "bundle sidecar field \"generation\" is a number above 2^53 - 1; write it as a "
          "string",
          "generation");
  } else {
    check_string(std::get<std::string>(s.generation), "generation", Empty::kRefused);
  }
  check_string(s.pii_policy, "pii_policy", Empty::kAllowed);
  check_string(s.lineage_id, "lineage_id", Empty::kAllowed);
}

}  // namespace ruvector::bundle
