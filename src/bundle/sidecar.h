// The bundle sidecar (table.rulake.json) as a plain struct: the fields the witness
// authenticates, their domains, and the format-version window this reader accepts.
// JSON lives in sidecar_json.h, the witness in witness.h; docs/bundle-format.md is the spec.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace ruvector::bundle {

// Version 1 is the first format whose witness also covers a digest of the vectors file.
// Version 0 names the source design's format (metadata-only witness), which is refused.
inline constexpr std::uint32_t kFormatVersion = 1;
inline constexpr std::uint32_t kMinReaderVersion = 1;

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
  std::uint32_t format_version = kFormatVersion;
  std::string data_ref;  // the vectors file, a plain name inside the bundle directory
  std::uint32_t dim = 0;
  std::uint64_t rotation_seed = 0;
  std::uint32_t rerank_factor = 0;
  Generation generation = std::uint64_t{0};
  std::string pii_policy;
  std::string lineage_id;
  Digest data_digest{};  // SHAKE-256 (32 bytes) of the whole vectors file
  Digest rvf_witness{};  // SHAKE-256 (32 bytes) over all the fields above

  bool operator==(const Sidecar& other) const;
  bool operator!=(const Sidecar& other) const { return !(*this == other); }
};

// Throws FormatError naming the first field outside its domain (see docs/bundle-format.md,
// "Fields"). Does not look at format_version (from_json checks the window) nor at the
// witness (verify does).
void validate_fields(const Sidecar& sidecar);

// True when `name` may be a data_ref: one file name, no separators, not "." or "..".
bool is_plain_file_name(std::string_view name);

bool is_valid_utf8(std::string_view text);

}  // namespace ruvector::bundle
