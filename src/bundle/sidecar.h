// The bundle sidecar (table.rulake.json) as a plain struct: the fields the witness
// authenticates, their domains, and the format-version window this reader accepts. Two
// formats share the struct: this extension's own, and the one the Rust RuVector writes
// (rust_bundle.h). JSON lives in sidecar_json.h, the witnesses in witness.h;
// docs/bundle-format.md is the spec.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace ruvector::bundle {

// The native format's versions. Version 1 is the only one: its witness covers every field
// and a digest of the vectors file. There is no version 0 (a 0 is refused as a downgrade).
// The Rust format numbers its versions on its own (kRustFormatVersion, rust_bundle.h); the
// two are told apart by their fields, not by the number.
inline constexpr std::uint32_t kFormatVersion = 1;
inline constexpr std::uint32_t kMinReaderVersion = 1;

// Which construction made rvf_witness, and so what it authenticates.
enum class WitnessScheme {
  // "ruvector.bundle.witness.v1" (witness.h): every field and the data file's digest.
  kNative,
  // "rulake-bundle-witness-v1|" of the Rust RuVector: data_ref, dim, rotation_seed,
  // rerank_factor and generation only. Neither the data bytes nor pii_policy, lineage_id
  // or memory_class are covered; data_digest is computed by this reader at import.
  kRustV1,
};

inline constexpr char kSidecarName[] = "table.rulake.json";

// Same limit as the ruvector type, so every bundle can be loaded into a column.
inline constexpr std::uint32_t kMaxDim = 16000;
// Integers above 2^53 - 1 are rounded by JSON readers that use doubles; a larger
// generation must be written as a string.
inline constexpr std::uint64_t kMaxGenerationNumber = (std::uint64_t{1} << 53) - 1;
// Bounds the sidecar so a hostile file cannot make the reader allocate without limit.
inline constexpr std::size_t kMaxStringBytes = 4096;
inline constexpr std::size_t kMaxDataRefBytes = 255;  // one file name (NAME_MAX)

inline constexpr std::size_t kDigestSize = 32;
using Digest = std::array<std::uint8_t, kDigestSize>;

// A number (file mtime, table version, stream offset) or an opaque string (UUID, hash,
// snapshot id). The witness tags which one it is, so 5 and "5" are different generations.
using Generation = std::variant<std::uint64_t, std::string>;

struct Sidecar {
  WitnessScheme scheme = WitnessScheme::kNative;
  std::uint32_t format_version = kFormatVersion;
  // Native: the vectors file, a plain name inside the bundle directory. Rust: a URI or a
  // plain name (rust_bundle.h, resolve_rust_data_ref).
  std::string data_ref;
  std::uint32_t dim = 0;
  std::uint64_t rotation_seed = 0;
  std::uint32_t rerank_factor = 0;
  Generation generation = std::uint64_t{0};
  // In the Rust format an empty string stands for JSON null.
  std::string pii_policy;
  std::string lineage_id;
  // Rust format only, optional there; never part of a witness.
  std::optional<std::string> memory_class;
  // SHAKE-256 (32 bytes) of the whole vectors file. Native: a sidecar field, under the
  // witness. Rust: not in the sidecar; set by the reader from the bytes it read.
  Digest data_digest{};
  Digest rvf_witness{};  // SHAKE-256 (32 bytes) by `scheme`'s construction

  bool operator==(const Sidecar& other) const;
  bool operator!=(const Sidecar& other) const { return !(*this == other); }
};

// Throws FormatError naming the first field outside its domain (see docs/bundle-format.md,
// "Fields"; the Rust format's domains are in rust_bundle.h). Does not look at
// format_version (from_json checks the window) nor at the witness (verify does).
void validate_fields(const Sidecar& sidecar);

// True when `name` may be a data_ref: one file name, no separators, not "." or "..".
bool is_plain_file_name(std::string_view name);

bool is_valid_utf8(std::string_view text);

}  // namespace ruvector::bundle
