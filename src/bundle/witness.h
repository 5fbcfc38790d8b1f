// The rvf_witness: SHAKE-256 over the sidecar's fields, domain-separated and length-
// prefixed in a fixed order, so that no two different field sets hash the same input.
// docs/bundle-format.md ("The witness") is the normative description; keep them in step.
#pragma once

#include <cstdint>
#include <string>

#include "bundle/sidecar.h"

namespace ruvector::bundle {

// "ruvector.bundle.witness.v1" and a terminating NUL byte (27 bytes).
inline constexpr char kWitnessDomain[] = "ruvector.bundle.witness.v1";

// Field ids, in the order their records appear in the witness input.
enum class WitnessField : std::uint8_t {
  kFormatVersion = 1,
  kDataRef = 2,
  kDim = 3,
  kRotationSeed = 4,
  kRerankFactor = 5,
  kGeneration = 6,
  kPiiPolicy = 7,
  kLineageId = 8,
  kDataDigest = 9,
};

// Value types: every integer is 8 bytes little-endian whatever its range in the sidecar,
// so an implementation needs one integer encoding.
enum class WitnessType : std::uint8_t {
  kUint64 = 1,  // 8 bytes, little-endian
  kUtf8 = 2,    // the string's UTF-8 bytes, no terminator
  kBytes = 3,   // raw bytes (the 32-byte data digest)
};

// The exact bytes hashed: domain || NUL || for each field: id (1) || type (1) ||
// length (8, LE) || value. Independent of rvf_witness itself; total on any Sidecar.
std::string witness_input(const Sidecar& sidecar);

// The witness by sidecar.scheme's construction: SHAKE-256(witness_input(sidecar)), first
// 32 bytes, or compute_rust_witness (rust_bundle.h) for a Rust sidecar.
Digest compute_witness(const Sidecar& sidecar);

// "ruvector.bundle.rust-import.v1" and a terminating NUL byte.
inline constexpr char kRustImportDomain[] = "ruvector.bundle.rust-import.v1";

// What the cache is keyed on. Native: rvf_witness, which covers the data already. Rust:
// SHAKE-256 over kRustImportDomain || rvf_witness || data_digest (the digest this reader
// computed), since the Rust witness alone would let two bundles with the same metadata and
// different vectors share one cache entry.
Digest cache_witness(const Sidecar& sidecar);

}  // namespace ruvector::bundle
