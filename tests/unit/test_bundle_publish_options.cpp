// rulake.publish_bundle's options: which keys, types and characters are accepted, that a
// refused option leaves the defaults alone, and that what is accepted reaches the sidecar
// and its witness (published, then verified from disk).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bundle/publish.h"
#include "bundle/publish_options.h"
#include "bundle/verify.h"
#include "bundle/witness.h"
#include "test_bundle_util.h"
#include "util/error.h"

namespace rb = ruvector::bundle;
using bundle_test::TempDir;

namespace {

rb::BundleMeta defaults() {
  rb::BundleMeta meta;
  meta.lineage_id = "docs";
  meta.generation = std::uint64_t{3};
  return meta;
}

// The message of the 22023 error apply_publish_options raises, or "" when it accepts.
std::string refusal(const std::string& options) {
  rb::BundleMeta meta = defaults();
  try {
    rb::apply_publish_options(options, &meta);
  } catch (const ruvector::Error& e) {
    EXPECT_EQ(e.kind(), ruvector::ErrorKind::kInvalidParameter) << options;
    EXPECT_EQ(meta.lineage_id, "docs") << "a refused option changed the defaults";
    return e.what();
  }
  return "";
}

}  // namespace

TEST(BundlePublishOptions, EmptyKeepsTheDefaults) {
  rb::BundleMeta meta = defaults();
  rb::apply_publish_options("{}", &meta);
  EXPECT_EQ(meta.pii_policy, "");
  EXPECT_EQ(meta.lineage_id, "docs");
  EXPECT_EQ(meta.generation, rb::Generation{std::uint64_t{3}});
}

TEST(BundlePublishOptions, SetsEveryField) {
  rb::BundleMeta meta = defaults();
  rb::apply_publish_options(
      R"({"pii_policy": "pii://policies/redact", "lineage_id": "ol://jobs/ingest-42",)"
      R"( "generation": "snap-6843921700521"})",
      &meta);
  EXPECT_EQ(meta.pii_policy, "pii://policies/redact");
  EXPECT_EQ(meta.lineage_id, "ol://jobs/ingest-42");
  EXPECT_EQ(meta.generation, rb::Generation{std::string("snap-6843921700521")});

  rb::apply_publish_options(R"({"generation": 9007199254740991, "lineage_id": ""})", &meta);
  EXPECT_EQ(meta.generation, rb::Generation{rb::kMaxGenerationNumber});
  EXPECT_EQ(meta.lineage_id, "");
  // UTF-8 beyond ASCII is fine: only control characters are refused.
  rb::apply_publish_options("{\"pii_policy\": \"g\xC3\xA9o \xE2\x82\xAC\"}", &meta);
  EXPECT_EQ(meta.pii_policy, "g\xC3\xA9o \xE2\x82\xAC");
}

TEST(BundlePublishOptions, RefusesUnknownKeysByName) {
  std::string m = refusal(R"({"lineage_id": "x", "pii": "y"})");
  EXPECT_NE(m.find("unknown option \"pii\""), std::string::npos) << m;
  m = refusal(R"({"rotation_seed": 1})");
  EXPECT_NE(m.find("\"rotation_seed\""), std::string::npos) << m;
  // A long key is cut in the message, not echoed whole.
  m = refusal("{\"" + std::string(5000, 'k') + "\": 1}");
  EXPECT_LT(m.size(), 300u) << m;
  // Cut on a character boundary (63 ASCII bytes, then a 2-byte character across byte 64),
  // and no control character echoed.
  m = refusal("{\"" + std::string(63, 'k') + "\xC3\xA9\xC3\xA9\": 1}");
  EXPECT_TRUE(rb::is_valid_utf8(m)) << m;
  EXPECT_NE(m.find(std::string(63, 'k') + "...\""), std::string::npos) << m;
  m = refusal(R"({"a\u001b[31mb": 1})");
  EXPECT_NE(m.find("\"a?[31mb\""), std::string::npos) << m;
}

TEST(BundlePublishOptions, RefusesWrongTypesAndValues) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"([])", "JSON object"},
      {R"("pii")", "JSON object"},
      {R"({"pii_policy": 1})", "\"pii_policy\" must be a string"},
      {R"({"lineage_id": null})", "\"lineage_id\" must be a string"},
      {R"({"generation": -1})", "\"generation\" must be a non-negative integer or a string"},
      {R"({"generation": true})", "\"generation\" must be a non-negative integer or a string"},
      {R"({"generation": [1]})", "\"generation\" must be a non-negative integer or a string"},
      {R"({"generation": 1.5})", "between 0 and 2^53 - 1"},
      {R"({"generation": 9007199254740992})", "between 0 and 2^53 - 1"},
      {R"({"generation": 18446744073709551616})", "between 0 and 2^53 - 1"},
      {R"({"generation": ""})", "\"generation\" must not be empty"},
      {R"({"pii_policy": "a\nb"})", "control characters"},
      {R"({"lineage_id": "\u001b[31mred"})", "control characters"},
      {R"({"lineage_id": "del\u007f"})", "control characters"},
      {"{\"pii_policy\": \"" + std::string(rb::kMaxOptionBytes + 1, 'p') + "\"}",
       "longer than 1024 bytes"},
      {R"({"generation": "x)", "not valid JSON"},
  };
  for (const auto& [options, expected] : cases) {
    std::string m = refusal(options);
    EXPECT_NE(m.find(expected), std::string::npos) << options << " -> " << m;
  }
  // The longest accepted value is exactly the bound.
  EXPECT_EQ(refusal("{\"pii_policy\": \"" + std::string(rb::kMaxOptionBytes, 'p') + "\"}"), "");
}

// What the options set is what a reader verifies from disk, and the witness covers it: the
// same rows published with other governance fields get another witness.
TEST(BundlePublishOptions, ReachTheVerifiedSidecarAndWitness) {
  TempDir a, b;
  std::vector<std::int64_t> ids = {1, 2, 3};
  std::vector<float> rows = {1, 0, 0, 1, 1, 1};
  rb::BundleMeta plain = defaults();
  plain.rerank_factor = 20;
  rb::BundleMeta governed = plain;
  rb::apply_publish_options(
      R"({"pii_policy": "pii://p", "lineage_id": "ol://j", "generation": "snap-1"})", &governed);
  rb::publish_bundle_from_rows(a.path(), plain, 2, ids, rows);
  rb::publish_bundle_from_rows(b.path(), governed, 2, ids, rows);

  rb::Sidecar sa = rb::verify_bundle_or_throw(a.path());
  rb::Sidecar sb = rb::verify_bundle_or_throw(b.path());
  EXPECT_EQ(sb.pii_policy, "pii://p");
  EXPECT_EQ(sb.lineage_id, "ol://j");
  EXPECT_EQ(sb.generation, rb::Generation{std::string("snap-1")});
  EXPECT_EQ(sa.data_digest, sb.data_digest);
  EXPECT_NE(sa.rvf_witness, sb.rvf_witness);
  EXPECT_EQ(sb.rvf_witness, rb::compute_witness(sb));
}
