// See witness.h.
#include "bundle/witness.h"

#include "bundle/le.h"
#include "bundle/rust_bundle.h"
#include "bundle/shake.h"

namespace ruvector::bundle {
namespace {

void put_record(std::string& out, WitnessField field, WitnessType type, const void* value,
                std::size_t size) {
  std::uint8_t head[10];
  head[0] = static_cast<std::uint8_t>(field);
  head[1] = static_cast<std::uint8_t>(type);
  store_le64(head + 2, size);
  out.append(reinterpret_cast<const char*>(head), sizeof(head));
  out.append(static_cast<const char*>(value), size);
}

void put_u64(std::string& out, WitnessField field, std::uint64_t value) {
  std::uint8_t bytes[8];
  store_le64(bytes, value);
  put_record(out, field, WitnessType::kUint64, bytes, sizeof(bytes));
}

void put_utf8(std::string& out, WitnessField field, const std::string& value) {
  put_record(out, field, WitnessType::kUtf8, value.data(), value.size());
}

}  // namespace

std::string witness_input(const Sidecar& s) {
  std::string out(kWitnessDomain, sizeof(kWitnessDomain));  // includes the NUL
  put_u64(out, WitnessField::kFormatVersion, s.format_version);
  put_utf8(out, WitnessField::kDataRef, s.data_ref);
  put_u64(out, WitnessField::kDim, s.dim);
  put_u64(out, WitnessField::kRotationSeed, s.rotation_seed);
  put_u64(out, WitnessField::kRerankFactor, s.rerank_factor);
  if (const auto* number = std::get_if<std::uint64_t>(&s.generation)) {
    put_u64(out, WitnessField::kGeneration, *number);
  } else {
    put_utf8(out, WitnessField::kGeneration, std::get<std::string>(s.generation));
  }
  put_utf8(out, WitnessField::kPiiPolicy, s.pii_policy);
  put_utf8(out, WitnessField::kLineageId, s.lineage_id);
  put_record(out, WitnessField::kDataDigest, WitnessType::kBytes, s.data_digest.data(),
             s.data_digest.size());
  return out;
}

Digest compute_witness(const Sidecar& sidecar) {
  if (sidecar.scheme == WitnessScheme::kRustV1) return compute_rust_witness(sidecar);
  std::string input = witness_input(sidecar);
  Shake256 shake;
  shake.update(input.data(), input.size());
  return shake.finish();
}

Digest cache_witness(const Sidecar& sidecar) {
  if (sidecar.scheme == WitnessScheme::kNative) return sidecar.rvf_witness;
  Shake256 shake;
  shake.update(kRustImportDomain, sizeof(kRustImportDomain));  // includes the NUL
  shake.update(sidecar.rvf_witness.data(), sidecar.rvf_witness.size());
  shake.update(sidecar.data_digest.data(), sidecar.data_digest.size());
  return shake.finish();
}

}  // namespace ruvector::bundle
