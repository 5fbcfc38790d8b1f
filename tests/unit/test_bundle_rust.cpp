// The Rust RuVector's bundle format against fixtures built from the Rust source alone
// (tests/fixtures/rust_bundle/make_fixtures.py): read and verified with exact contents,
// refused when tampered, and written back byte for byte.
#include <gtest/gtest.h>

#include <cstring>

#include "bundle/errors.h"
#include "bundle/hex.h"
#include "bundle/publish.h"
#include "bundle/rust_bundle.h"
#include "bundle/sidecar_json.h"
#include "bundle/verify.h"
#include "bundle/witness.h"
#include "test_bundle_util.h"

namespace rb = ruvector::bundle;
using bundle_test::read_file;
using bundle_test::TempDir;
using bundle_test::write_file;

namespace {

const std::string kFixtures = std::string(RUVECTOR_FIXTURES_DIR) + "/rust_bundle";
const std::string kV2DataName =
    "vectors-6c03169324a56afe0049c287060228748cb7d86a92c748bab9709710ee016284.ruvec1";

// The v2 rows of make_fixtures.py.
const std::vector<std::int64_t> kV2Ids = {1, 2, 3, 4, 5, 6, 7, 9007199254740993};
// clang-format off
const std::vector<float> kV2Rows = {
    0, 0, 0, 0,
    1, 0, 0, 0,
    0, 2, 0, 0,
    0, 0, 3, 0,
    0, 0, 0, 4,
    1.5, -0.5, 0.25, -2,
    -1, -1, -1, -1,
    0.5, 0.5, 0.5, 0.5};
// clang-format on

rb::BundleMeta v2_meta() {
  rb::BundleMeta m;
  m.format = rb::BundleFormat::kRust;
  m.rotation_seed = 42;
  m.rerank_factor = 20;
  m.generation = std::uint64_t{7};
  m.lineage_id = "ol://jobs/fixture";
  return m;
}

// A copy of fixture directory `name` that a test may change.
std::string copy_fixture(const TempDir& tmp, const std::string& name) {
  std::string dir = tmp.sub(name);
  bundle_test::fs::copy(kFixtures + "/" + name, dir);
  return dir;
}

}  // namespace

TEST(BundleRust, WitnessMatchesTheRustConstruction) {
  // The v2 fixture's witness, hashed by make_fixtures.py from bundle.rs's description.
  rb::Sidecar s;
  s.scheme = rb::WitnessScheme::kRustV1;
  s.format_version = 2;
  s.data_ref = kV2DataName;
  s.dim = 4;
  s.rotation_seed = 42;
  s.rerank_factor = 20;
  s.generation = std::uint64_t{7};
  EXPECT_EQ(rb::to_hex(rb::compute_witness(s)),
            "a5a2a87a6e36337046e9833415585351f7bc73c20e7dea8d7376e33cda323819");
  // The variant tag keeps Num(7) and Opaque("\x07\0...") apart (bundle.rs's audit test).
  rb::Sidecar opaque = s;
  opaque.generation = std::string("\x07\0\0\0\0\0\0\0", 8);
  EXPECT_NE(rb::compute_witness(s), rb::compute_witness(opaque));
  // Neither the governance fields nor the data are covered.
  rb::Sidecar other = s;
  other.pii_policy = "pii://x";
  other.memory_class = "episodic";
  other.data_digest[0] = 1;
  EXPECT_EQ(rb::compute_witness(s), rb::compute_witness(other));
  // The cache key is: two bundles with one Rust witness and other data differ there.
  EXPECT_NE(rb::cache_witness(s), rb::cache_witness(other));
}

TEST(BundleRust, ReadsV2FixtureExactly) {
  rb::ReadOptions options;
  rb::LoadedBundle b = rb::load_bundle(kFixtures + "/v2", options);
  EXPECT_EQ(b.sidecar.scheme, rb::WitnessScheme::kRustV1);
  EXPECT_EQ(b.sidecar.format_version, 2u);
  EXPECT_EQ(b.sidecar.data_ref, kV2DataName);
  EXPECT_EQ(b.sidecar.rotation_seed, 42u);
  EXPECT_EQ(b.sidecar.rerank_factor, 20u);
  EXPECT_EQ(b.sidecar.lineage_id, "ol://jobs/fixture");
  EXPECT_EQ(b.sidecar.pii_policy, "");
  // This reader's digest of the file, which the data file is named after.
  EXPECT_EQ("vectors-" + rb::to_hex(b.sidecar.data_digest) + ".ruvec1", kV2DataName);
  EXPECT_EQ(b.data.ids, kV2Ids);
  EXPECT_EQ(b.data.rows, kV2Rows);
  // The cheap check computes the same digest, so both give one cache key.
  rb::Sidecar cheap = rb::read_sidecar_checked(kFixtures + "/v2", options);
  EXPECT_EQ(rb::cache_witness(cheap), rb::cache_witness(b.sidecar));
  std::string json = rb::verification_json(b.sidecar);
  EXPECT_NE(json.find("\"witness_scheme\":\"ruvector-rust-v1\""), std::string::npos);
  EXPECT_NE(json.find("\"data_authenticated\":false"), std::string::npos);
}

TEST(BundleRust, ReadsV1FixtureWithOptionalFields) {
  rb::LoadedBundle b = rb::load_bundle(kFixtures + "/v1");
  EXPECT_EQ(b.sidecar.format_version, 1u);
  EXPECT_EQ(b.sidecar.data_ref, "points.ruvec1");
  EXPECT_EQ(std::get<std::string>(b.sidecar.generation), "01JCX7NK6G5R9G1YZ7QH");
  EXPECT_EQ(b.sidecar.pii_policy, "pii://policies/default");
  ASSERT_TRUE(b.sidecar.memory_class.has_value());
  EXPECT_EQ(*b.sidecar.memory_class, "episodic");
  ASSERT_EQ(b.data.ids.size(), 12u);
  EXPECT_EQ(b.data.ids[11], 21);
  EXPECT_EQ(b.data.rows[11 * 3 + 2], 0.125f * 11);
  // Written back, the sidecar is the fixture's bytes.
  EXPECT_EQ(rb::sidecar_to_json(b.sidecar), read_file(kFixtures + "/v1/table.rulake.json"));
}

TEST(BundleRust, TamperedSidecarIsRefused) {
  TempDir tmp;
  std::string dir = copy_fixture(tmp, "v2");
  std::string path = dir + "/table.rulake.json";
  std::string good = read_file(path);
  for (auto [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"\"dim\": 4", "\"dim\": 5"},
           {"\"rotation_seed\": 42", "\"rotation_seed\": 43"},
           {"\"generation\": 7", "\"generation\": 8"},
           {"\"rerank_factor\": 20", "\"rerank_factor\": 5"}}) {
    std::string bad = good;
    bad.replace(bad.find(from), from.size(), to);
    write_file(path, bad);
    EXPECT_THROW(rb::verify_bundle_or_throw(dir), rb::IntegrityError) << to;
  }
  // Outside the witness but refused all the same: an unknown field.
  std::string extra = good;
  extra.insert(extra.rfind('}'), ",\"owner\": \"me\"");
  write_file(path, extra);
  EXPECT_THROW(rb::verify_bundle_or_throw(dir), rb::FormatError);
  // A newer Rust format.
  std::string newer = good;
  newer.replace(newer.find("\"format_version\": 2"), 19, "\"format_version\": 3");
  write_file(path, newer);
  EXPECT_THROW(rb::verify_bundle_or_throw(dir), rb::UnsupportedVersionError);
}

TEST(BundleRust, HostileDataFilesAreRefused) {
  TempDir tmp;
  std::string dir = copy_fixture(tmp, "v2");
  std::string path = dir + "/" + kV2DataName;
  const std::string good = read_file(path);
  auto refused = [&](const std::string& bytes, const char* what) {
    write_file(path, bytes);
    try {
      rb::verify_bundle_or_throw(dir);
      ADD_FAILURE() << "accepted: " << what;
    } catch (const rb::FormatError& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  refused(good.substr(0, good.size() - 1), "truncated");
  refused(good + "x", "trailing bytes");
  std::string huge = good;
  huge[15] = '\x7f';  // count near 2^63: refused before anything is allocated
  refused(huge, "truncated");
  std::string reserved = good;
  reserved[20] = 1;
  refused(reserved, "reserved");
  std::string dim0 = good;
  std::memset(&dim0[16], 0, 4);
  refused(dim0, "dim 0");
  std::string nan = good;
  std::memcpy(&nan[24 + 8], "\x00\x00\xc0\x7f", 4);
  refused(nan, "NaN");
  refused("ruvec2" + good.substr(6), "not a ruvec1 file");
  // The data is not authenticated: other finite values load, under another cache key.
  std::string changed = good;
  changed[24 + 8] = 1;
  write_file(path, changed);
  rb::Sidecar s = rb::verify_bundle_or_throw(dir);
  EXPECT_NE("vectors-" + rb::to_hex(s.data_digest) + ".ruvec1", kV2DataName);
}

TEST(BundleRust, DataRefsOutsideTheBundleAreRefusedByScheme) {
  const std::string root = "/tmp";
  for (auto [ref, what] :
       std::vector<std::pair<std::string, std::string>>{{"gs://bucket/x.parquet", "scheme \"gs:\""},
                                                        {"s3://bucket/x", "scheme \"s3:\""},
                                                        {"http://host/x", "scheme \"http:\""},
                                                        {"file://host/x", "names a host"},
                                                        {"../x.ruvec1", "neither"},
                                                        {"sub/x.ruvec1", "neither"},
                                                        {"..", "neither"},
                                                        {"file:///etc/passwd", "outside"}}) {
    try {
      rb::resolve_rust_data_ref(ref, "/tmp/b", root);
      ADD_FAILURE() << "accepted " << ref;
    } catch (const rb::PathError& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(rb::resolve_rust_data_ref("file:///tmp/x", "/tmp/b", ""), rb::PathError);
  rb::RustDataLocation at = rb::resolve_rust_data_ref("x.ruvec1", "/tmp/b", "");
  EXPECT_EQ(at.dir, "/tmp/b");
  EXPECT_EQ(at.name, "x.ruvec1");
}

TEST(BundleRust, FileUriInsideTheRootIsRead) {
  TempDir tmp;
  std::string data_dir = copy_fixture(tmp, "v2");
  std::string dir = tmp.sub("sidecar_only");
  bundle_test::fs::create_directory(dir);
  rb::Sidecar s = rb::verify_bundle_or_throw(data_dir);
  s.data_ref = "file://" + data_dir + "/" + kV2DataName;
  s.rvf_witness = rb::compute_witness(s);
  write_file(dir + "/table.rulake.json", rb::sidecar_to_json(s));
  rb::ReadOptions options;
  options.bundle_root = tmp.path();
  rb::LoadedBundle b = rb::load_bundle(dir, options);
  EXPECT_EQ(b.data.ids, kV2Ids);
  // Without a root (a remote mirror) the same sidecar is refused.
  EXPECT_THROW(rb::load_bundle(dir), rb::PathError);
}

TEST(BundleRust, PublishRoundTripsTheFixtureByteForByte) {
  TempDir tmp;
  std::string dir = tmp.sub("out");
  rb::PublishResult r = rb::publish_bundle_from_rows(dir, v2_meta(), 4, kV2Ids, kV2Rows);
  EXPECT_EQ(r.sidecar.data_ref, kV2DataName);
  EXPECT_EQ(read_file(dir + "/table.rulake.json"), read_file(kFixtures + "/v2/table.rulake.json"));
  EXPECT_EQ(read_file(dir + "/" + kV2DataName), read_file(kFixtures + "/v2/" + kV2DataName));
  EXPECT_EQ(bundle_test::list_dir(dir),
            (std::vector<std::string>{"table.rulake.json", kV2DataName}));
  // Publishing the native format into the same directory replaces the Rust data file.
  rb::BundleMeta native = v2_meta();
  native.format = rb::BundleFormat::kNative;
  r = rb::publish_bundle_from_rows(dir, native, 4, kV2Ids, kV2Rows);
  EXPECT_EQ(bundle_test::list_dir(dir),
            (std::vector<std::string>{"table.rulake.json", r.sidecar.data_ref}));
  EXPECT_EQ(rb::verify_bundle_or_throw(dir).scheme, rb::WitnessScheme::kNative);
}

TEST(BundleRust, PublishRefusesWhatRustCannotRead) {
  TempDir tmp;
  std::vector<float> wide(rb::kRustMaxDim + 1, 0.5f);
  EXPECT_THROW(
      rb::publish_bundle_from_rows(tmp.sub("wide"), v2_meta(), rb::kRustMaxDim + 1, {1}, wide),
      rb::FormatError);
}
