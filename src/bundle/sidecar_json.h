// table.rulake.json <-> Sidecar. Strict both ways: every field is required and of one JSON
// type, unknown and duplicate keys are refused (a field outside the witness would be
// unauthenticated data a consumer might trust), and the format version must lie in
// [kMinReaderVersion, kFormatVersion]. The JSON layout is not hashed; the witness covers
// the typed values, so whitespace or key order never changes it.
#pragma once

#include <string>
#include <string_view>

#include "bundle/sidecar.h"

namespace ruvector::bundle {

// Sidecars are small; a larger file is refused before parsing.
inline constexpr std::size_t kMaxSidecarBytes = 64 * 1024;

// Pretty-printed JSON, fields in the documented order, trailing newline. Throws
// FormatError (via validate_fields) rather than write a sidecar no reader accepts.
std::string sidecar_to_json(const Sidecar& sidecar);

// Throws FormatError for malformed JSON and for a missing, unknown, duplicate or mistyped
// field (naming it), DowngradeError for format_version < kMinReaderVersion and
// UnsupportedVersionError for format_version > kFormatVersion. Does not check the witness.
// A document without "data_digest" is read as a Rust sidecar (rust_sidecar_from_json), and
// sidecar_to_json writes one when sidecar.scheme is kRustV1.
Sidecar sidecar_from_json(std::string_view text);

// rotation_seed's JSON form: decimal digits, no sign, no leading zeros, at most 2^64 - 1.
bool parse_u64_decimal(std::string_view text, std::uint64_t* out);

}  // namespace ruvector::bundle
