// The bundle format of the Rust RuVector (crates/ruvector-rulake: bundle.rs, fs_backend.rs),
// read and written so that bundles move between it and this extension: its sidecar JSON,
// its witness, its data_ref (a URI or a file name) and its ruvec1 data file. Sidecars of
// this format are Sidecars with scheme kRustV1; docs/bundle-format.md ("The Rust format").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "bundle/sidecar.h"
#include "bundle/vectors_file.h"
#include "util/interrupt.h"

namespace ruvector::bundle {

// Version 2 tags the generation's variant in the witness; version 1 did not, but the Rust
// reader checks either with the tagged construction, and so does this one.
inline constexpr std::uint32_t kRustFormatVersion = 2;
inline constexpr std::uint32_t kRustMinFormatVersion = 1;

// Hashed first, without a terminator.
inline constexpr char kRustWitnessDomain[] = "rulake-bundle-witness-v1|";

// The Rust reader's own caps: data_ref, pii_policy, lineage_id and memory_class.
inline constexpr std::size_t kRustMaxFieldBytes = 4096;
// The Rust FsBackend refuses a larger dim (MAX_PULLED_DIM); the publisher does too, so
// that what it writes can be read there.
inline constexpr std::uint32_t kRustMaxDim = 8192;

// ruvec1: magic "ruvec1\0\0", count u64, dim u32, reserved u32 (zero), then count records
// of {id u64, dim x f32}, all little-endian.
inline constexpr char kRuvec1Magic[8] = {'r', 'u', 'v', 'e', 'c', '1', '\0', '\0'};
inline constexpr std::size_t kRuvec1HeaderSize = 24;
inline constexpr char kRustDataSuffix[] = ".ruvec1";

// The bytes the Rust witness hashes: the domain, len(data_ref) u64 || data_ref, "|", dim
// u64 || seed u64 || rerank u64, "|", then the generation as len u64 || (0x00 || u64 |
// 0x01 || UTF-8). Every integer little-endian.
std::string rust_witness_input(const Sidecar& sidecar);
Digest compute_rust_witness(const Sidecar& sidecar);

// The Rust format's domains: format_version 1 or 2, data_ref non-empty and at most
// kRustMaxFieldBytes, 1 <= dim <= kMaxDim, rerank_factor >= 1, any u64 generation or a
// string of at most kMaxStringBytes, the optional strings at most kRustMaxFieldBytes; all
// valid UTF-8. Throws FormatError naming the field.
void validate_rust_fields(const Sidecar& sidecar);

// Parses a Rust sidecar (fields as serde writes them: rotation_seed a JSON number,
// pii_policy and lineage_id null or a string, memory_class optional). Unknown and
// duplicate keys are refused, like the native reader's. Throws as sidecar_from_json does.
Sidecar rust_sidecar_from_json(std::string_view text);

// serde_json's to_string_pretty of the Rust struct: two-space indent, fields in its order,
// null for an empty pii_policy or lineage_id, memory_class only when set, no trailing
// newline. What the Rust writer would write for the same values, byte for byte.
std::string rust_sidecar_to_json(const Sidecar& sidecar);

// Where a Rust sidecar's data is. data_ref may be a plain file name (inside the bundle
// directory) or "file:///absolute/path", which must lie inside `bundle_root` (confine's
// rules: no "..", symlinks resolved). Any other URI ("gs://", "s3://", "http://", or
// file:// with a host) or a path that is neither is refused with a PathError naming the
// scheme or the problem; an empty root refuses every file:// URI.
struct RustDataLocation {
  std::string dir;   // the directory to open: the bundle's own, or the URI's parent
  std::string name;  // the file in it
};
RustDataLocation resolve_rust_data_ref(const std::string& data_ref, const std::string& bundle_dir,
                                       const std::string& bundle_root);

// Decodes a ruvec1 header and checks it against the file's size: magic, a zero reserved
// word, 1 <= dim <= kMaxDim, and exactly count records (truncation and trailing bytes told
// apart). The result uses VectorsHeader (version 1, flags 0).
VectorsHeader decode_ruvec1_header(const std::uint8_t* bytes, std::uint64_t file_size,
                                   const std::string& label);

// scan_vectors_file for a ruvec1 file: digest of every byte, ids (u64 bits as int64) and
// rows to `sink` in chunks, the first non-finite row.
VectorsScan scan_ruvec1_file(int fd, const std::string& label, VectorsSink* sink,
                             InterruptCheck interrupt = nullptr);

// "vectors-<64 hex digits of the digest>.ruvec1".
std::string rust_data_file_name(const Digest& data_digest);

}  // namespace ruvector::bundle
