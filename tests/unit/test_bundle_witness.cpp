// The rvf_witness: SHAKE-256 known answers, determinism, the documented byte layout and
// worked example, every field mattering, and length prefixes preventing the collisions a
// plain concatenation would have.
#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "bundle/hex.h"
#include "bundle/le.h"
#include "bundle/shake.h"
#include "bundle/witness.h"
#include "test_bundle_util.h"

namespace rb = ruvector::bundle;
using bundle_test::worked_sidecar;

namespace {

std::string hex_of(const std::string& bytes) {
  return rb::to_hex(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
}

std::string shake_hex(const std::string& bytes) {
  rb::Shake256 shake;
  shake.update(bytes.data(), bytes.size());
  return rb::to_hex(shake.finish());
}

}  // namespace

TEST(BundleShake, KnownAnswers) {
  // FIPS 202 SHAKE256 of "" and "abc", first 32 bytes.
  EXPECT_EQ(shake_hex(""), "46b9dd2b0ba88d13233b3feb743eeb243fcd52ea62b81b82b50c27646ed5762f");
  EXPECT_EQ(shake_hex("abc"), "483366601360a8771c6863080cc4114d8db44530f8f1e1ee4f94ea37e78b5739");
}

TEST(BundleShake, StreamingEqualsOneShot) {
  std::string data(100000, '\0');
  for (std::size_t i = 0; i < data.size(); i++) data[i] = static_cast<char>(i * 31 + 7);
  rb::Shake256 pieces;
  for (std::size_t at = 0; at < data.size(); at += 977)
    pieces.update(data.data() + at, std::min<std::size_t>(977, data.size() - at));
  EXPECT_EQ(rb::to_hex(pieces.finish()), shake_hex(data));
}

TEST(BundleWitness, IsDeterministic) {
  rb::Sidecar a = worked_sidecar();
  rb::Sidecar b = worked_sidecar();
  EXPECT_EQ(rb::witness_input(a), rb::witness_input(b));
  EXPECT_EQ(rb::compute_witness(a), rb::compute_witness(b));
  EXPECT_EQ(rb::compute_witness(a), rb::compute_witness(a));
}

TEST(BundleWitness, WorkedExampleMatchesTheDocs) {
  // docs/bundle-format.md, "Worked example"; tests/crosscheck/witness_crosscheck.py derives
  // the same values with Python's hashlib.
  rb::Sidecar s = worked_sidecar();
  EXPECT_EQ(hex_of(rb::witness_input(s)),
            "7275766563746f722e62756e646c652e7769746e6573732e76310001010800000000000000"
            "01000000000000000202"
            "4c00000000000000"
            "766563746f72732d3133346137613166313639313565636564376561666636663163663331"
            "3266313238313634343937303739613635666430356361356462336461656331303662"
            "2e727662"
            "0301080000000000000003000000000000000401080000000000000"
            "0d20a1feb8ca954ab"
            "05010800000000000000140000000000000006010800000000000000070000000000000007"
            "0204000000000000006e6f6e65"
            "08020d000000000000006578616d706c652f6974656d73"
            "0903200000000000000013"
            "4a7a1f16915eced7eaff6f1cf312f128164497079a65fd05ca5db3daec106b");
  EXPECT_EQ(rb::to_hex(s.rvf_witness), bundle_test::kWorkedWitness);
}

TEST(BundleWitness, InputIsDomainThenNineTypedLengthPrefixedRecords) {
  rb::Sidecar s = worked_sidecar();
  s.generation = std::string("snap-1");
  std::string in = rb::witness_input(s);
  const std::string domain("ruvector.bundle.witness.v1\0", 27);
  ASSERT_EQ(in.compare(0, domain.size(), domain), 0);
  std::size_t at = domain.size();
  const std::uint8_t kTypes[] = {1, 2, 1, 1, 1, 2, 2, 2, 3};
  for (std::uint8_t id = 1; id <= 9; id++) {
    ASSERT_LE(at + 10, in.size());
    EXPECT_EQ(static_cast<std::uint8_t>(in[at]), id);
    EXPECT_EQ(static_cast<std::uint8_t>(in[at + 1]), kTypes[id - 1]) << int(id);
    std::uint64_t len = rb::load_le64(reinterpret_cast<const std::uint8_t*>(in.data()) + at + 2);
    if (kTypes[id - 1] == 1) {
      EXPECT_EQ(len, 8u);
    }
    at += 10 + len;
  }
  EXPECT_EQ(at, in.size());  // nothing after the ninth record
}

TEST(BundleWitness, EveryFieldChangeChangesIt) {
  const rb::Sidecar base = worked_sidecar();
  std::vector<std::function<void(rb::Sidecar&)>> changes = {
      [](rb::Sidecar& s) { s.format_version++; },
      [](rb::Sidecar& s) { s.data_ref += "x"; },
      [](rb::Sidecar& s) { s.data_ref[8] = 'f'; },
      [](rb::Sidecar& s) { s.dim++; },
      [](rb::Sidecar& s) { s.rotation_seed ^= 1; },
      [](rb::Sidecar& s) { s.rotation_seed ^= std::uint64_t{1} << 63; },
      [](rb::Sidecar& s) { s.rerank_factor++; },
      [](rb::Sidecar& s) { s.generation = std::uint64_t{8}; },
      [](rb::Sidecar& s) { s.generation = std::string("7"); },  // same digits, other type
      [](rb::Sidecar& s) { s.pii_policy = "None"; },
      [](rb::Sidecar& s) { s.pii_policy.clear(); },
      [](rb::Sidecar& s) { s.lineage_id += "/"; },
  };
  for (std::size_t byte = 0; byte < rb::kDigestSize; byte++)
    changes.push_back([byte](rb::Sidecar& s) { s.data_digest[byte] ^= 0x01; });
  std::set<rb::Digest> seen = {rb::compute_witness(base)};
  for (std::size_t i = 0; i < changes.size(); i++) {
    rb::Sidecar s = base;
    changes[i](s);
    EXPECT_TRUE(seen.insert(rb::compute_witness(s)).second) << "change " << i;
  }
}

TEST(BundleWitness, DoesNotCoverItself) {
  rb::Sidecar s = worked_sidecar();
  rb::Digest before = rb::compute_witness(s);
  s.rvf_witness[0] ^= 0xFF;
  EXPECT_EQ(rb::compute_witness(s), before);
}

// Moving bytes across the boundary of two adjacent fields keeps their concatenation the
// same; the length prefixes must still separate them.
TEST(BundleWitness, LengthPrefixesPreventBoundaryCollisions) {
  struct Split {
    std::function<void(rb::Sidecar&, const std::string&, const std::string&)> set;
  };
  std::vector<Split> adjacent = {
      {[](rb::Sidecar& s, const std::string& a, const std::string& b) {
        s.pii_policy = a;
        s.lineage_id = b;
      }},
      {[](rb::Sidecar& s, const std::string& a, const std::string& b) {
        s.generation = a;
        s.pii_policy = b;
      }},
  };
  const std::string joined = "abcdef";
  for (const Split& split : adjacent) {
    std::set<rb::Digest> seen;
    std::set<std::string> inputs;
    for (std::size_t cut = 1; cut < joined.size(); cut++) {  // generation may not be empty
      rb::Sidecar s = bundle_test::worked_sidecar();
      split.set(s, joined.substr(0, cut), joined.substr(cut));
      inputs.insert(rb::witness_input(s));
      seen.insert(rb::compute_witness(s));
    }
    EXPECT_EQ(inputs.size(), joined.size() - 1);
    EXPECT_EQ(seen.size(), joined.size() - 1);
  }
  // Without the prefixes the two field sets below would hash the same bytes.
  rb::Sidecar a = worked_sidecar(), b = worked_sidecar();
  a.pii_policy = "";
  a.lineage_id = "x";
  b.pii_policy = "x";
  b.lineage_id = "";
  EXPECT_EQ(a.pii_policy + a.lineage_id, b.pii_policy + b.lineage_id);
  EXPECT_NE(rb::compute_witness(a), rb::compute_witness(b));
}

TEST(BundleWitness, NumberAndStringGenerationsDiffer) {
  rb::Sidecar a = worked_sidecar(), b = worked_sidecar();
  a.generation = std::uint64_t{0x3231};  // "12" as little-endian bytes, padded
  b.generation = std::string("12\0\0\0\0\0\0", 8);
  EXPECT_NE(rb::witness_input(a), rb::witness_input(b));
  EXPECT_NE(rb::compute_witness(a), rb::compute_witness(b));
}
