// Reading a bundle back: parse the sidecar, recompute its witness, then read the vectors
// file once, checking its layout and its digest against data_digest. What is returned was
// verified from the same bytes that were read, so there is no window between checking a
// bundle and loading it.
#pragma once

#include <optional>
#include <string>

#include "bundle/sidecar.h"
#include "bundle/vectors_file.h"

namespace ruvector::bundle {

struct LoadedBundle {
  Sidecar sidecar;
  VectorsData data;
};

// Verifies the bundle in directory `dir` (already confined, see paths.h) and returns its
// sidecar. Throws, in the order checked:
//   IoError          the directory or sidecar cannot be opened (ENOENT: no bundle), or the
//                    sidecar or vectors file is a symlink or not a regular file;
//   FormatError      malformed JSON, a missing, unknown, duplicate or mistyped field;
//   DowngradeError   format_version < kMinReaderVersion;
//   UnsupportedVersionError  format_version > kFormatVersion;
//   IntegrityError   the witness does not match the fields, the vectors file is missing,
//                    or its digest does not match data_digest;
//   FormatError      the vectors file is truncated, has trailing bytes, a bad header, a
//                    dim other than the sidecar's, or a NaN or infinity.
// A publish racing with the read is handled: when the data file named by the sidecar
// disappears, the sidecar is read again and the newer bundle verified instead.
// Test-only: runs after the sidecar is verified and before its data file is opened, the
// one point where a reader can lose a race with a publisher's cleanup.
using ReadHook = void (*)(const std::string& dir);
struct ReadOptions {
  ReadHook before_data_open = nullptr;
  // Where a Rust sidecar's file:// data_ref may point (rulake.bundle_root); empty refuses
  // file:// data_refs, as for a remote mirror.
  std::string bundle_root;
};

Sidecar verify_bundle_or_throw(const std::string& dir, const ReadOptions& options = {});

// Parses sidecar text and checks it against its rvf_witness; `where` names it in errors.
Sidecar parse_checked_sidecar(const std::string& text, const std::string& where);

// Checks a scanned vectors file against an authenticated sidecar: digest, dim, finite
// values. Throws IntegrityError or FormatError naming `label`.
void check_vectors_match(const Sidecar& sidecar, const VectorsScan& scan, const std::string& label);

// Only the first checks: the sidecar parses and matches its witness. A native bundle's
// vectors file is not read, so this is cheap enough to run on every query of a fresh
// collection; the data is verified when it is loaded. A Rust bundle's data_digest is not in
// its sidecar, so it is computed here (cache_witness needs it): the data file is digested,
// and the digest remembered for as long as the file's identity, size, mtime and ctime stay
// the same, so repeated calls only stat it.
Sidecar read_sidecar_checked(const std::string& dir, const ReadOptions& options = {});

// The same checks, also decoding ids and rows into memory.
LoadedBundle load_bundle(const std::string& dir, const ReadOptions& options = {});

// Receives a bundle as it is read: its verified sidecar, then its vectors file (see
// VectorsSink: unverified until stream_bundle returns).
class BundleSink : public VectorsSink {
 public:
  virtual void sidecar(const Sidecar& sidecar) = 0;
};

// The same checks, handing the data to `sink` as it is read instead of keeping it, so a
// bundle of any size is read in bounded memory. Returns the sidecar once the data matched
// it; a sink must discard what it received when this throws.
Sidecar stream_bundle(const std::string& dir, BundleSink* sink, const ReadOptions& options = {});

struct Verification {
  bool valid = false;
  bool missing = false;            // no bundle: the directory or the sidecar does not exist
  std::string reason;              // why not valid, naming the field; empty when valid
  std::optional<Sidecar> sidecar;  // set only when valid: an unverified sidecar is not data
};

// verify_bundle_or_throw with BundleErrors turned into a result, for callers that report
// rather than raise (the cache's refresh tells "missing" from "invalid").
Verification verify_bundle(const std::string& dir, const ReadOptions& options = {});

// rulake.verify_bundle's answer for a verified sidecar: its JSON fields, then "valid",
// "witness_scheme" (kWitnessDomain for the native format, "ruvector-rust-v1") and
// "data_authenticated" (whether the witness covers the data), and for a Rust bundle the
// "data_digest" this reader computed.
std::string verification_json(const Sidecar& sidecar);

}  // namespace ruvector::bundle
