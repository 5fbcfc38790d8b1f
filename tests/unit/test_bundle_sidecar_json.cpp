// table.rulake.json: round trips, the documented shape, and strict refusal of everything
// else (missing, unknown, duplicate and mistyped fields, out-of-domain values, malformed
// JSON), with the downgrade and newer-version checks.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "bundle/errors.h"
#include "bundle/sidecar_json.h"
#include "test_bundle_util.h"

namespace rb = ruvector::bundle;
using bundle_test::worked_sidecar;
using nlohmann::json;

namespace {

json worked_json() { return json::parse(rb::sidecar_to_json(worked_sidecar())); }

// Parses `doc` and returns the field the FormatError names; fails the test when it parses.
std::string rejected_field(const json& doc) {
  try {
    rb::sidecar_from_json(doc.dump());
  } catch (const rb::FormatError& e) {
    return e.field();
  }
  ADD_FAILURE() << "accepted: " << doc.dump();
  return {};
}

}  // namespace

TEST(BundleSidecarJson, RoundTrips) {
  std::vector<rb::Sidecar> cases = {worked_sidecar()};
  rb::Sidecar s = worked_sidecar();
  s.generation = std::string("0f8e2a4c-uuid-or-snapshot-id-of-any-length");
  s.pii_policy = "";
  s.lineage_id = "g\xC3\xA9o/\xE2\x82\xAC/\xF0\x9F\x98\x80";  // é, €, an emoji
  s.rotation_seed = ~std::uint64_t{0};
  s.generation = rb::kMaxGenerationNumber;
  cases.push_back(s);
  s.rotation_seed = 0;
  s.dim = rb::kMaxDim;
  s.rerank_factor = 4294967295u;
  s.generation = std::string("\"quoted\" \\ and\ncontrol \x01");
  cases.push_back(s);
  for (const rb::Sidecar& c : cases) {
    std::string text = rb::sidecar_to_json(c);
    EXPECT_EQ(rb::sidecar_from_json(text), c) << text;
    EXPECT_EQ(rb::sidecar_to_json(rb::sidecar_from_json(text)), text);
  }
}

TEST(BundleSidecarJson, HasTheDocumentedShape) {
  std::string text = rb::sidecar_to_json(worked_sidecar());
  EXPECT_EQ(text.back(), '\n');
  nlohmann::ordered_json doc = nlohmann::ordered_json::parse(text);
  std::vector<std::string> keys;
  for (const auto& item : doc.items()) keys.push_back(item.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"format_version", "data_ref", "dim", "rotation_seed",
                                            "rerank_factor", "generation", "pii_policy",
                                            "lineage_id", "data_digest", "rvf_witness"}));
  EXPECT_EQ(doc["rotation_seed"], "12345678901234567890");
  EXPECT_EQ(doc["generation"], 7);
  EXPECT_EQ(doc["rvf_witness"], bundle_test::kWorkedWitness);
  EXPECT_EQ(doc["data_digest"], bundle_test::kWorkedDataDigest);
}

TEST(BundleSidecarJson, LayoutDoesNotMatter) {
  // The witness covers values, not JSON text: compact, reordered input reads the same.
  json doc = worked_json();  // nlohmann::json sorts keys
  EXPECT_EQ(rb::sidecar_from_json(doc.dump()), worked_sidecar());
  EXPECT_EQ(rb::sidecar_from_json(" \n\t" + doc.dump(8) + "\n\n"), worked_sidecar());
}

TEST(BundleSidecarJson, EveryFieldIsRequired) {
  const json base = worked_json();
  for (const auto& item : base.items()) {
    json doc = worked_json();
    doc.erase(item.key());
    EXPECT_EQ(rejected_field(doc), item.key());
  }
  try {
    json doc = worked_json();
    doc.erase("dim");
    rb::sidecar_from_json(doc.dump());
    FAIL() << "accepted a sidecar without dim";
  } catch (const rb::FormatError& e) {
    EXPECT_STREQ(e.what(), "bundle sidecar is missing field \"dim\"");
  }
}

TEST(BundleSidecarJson, WrongTypesAreRefusedNamingTheField) {
  const std::vector<std::pair<std::string, json>> cases = {
      {"format_version", "1"},
      {"format_version", 1.0},
      {"format_version", -1},
      {"data_ref", 5},
      {"data_ref", nullptr},
      {"dim", "3"},
      {"dim", 3.0},
      {"dim", -3},
      {"dim", json::array({3})},
      {"rotation_seed", 5},
      {"rotation_seed", 5.0},
      {"rerank_factor", "20"},
      {"rerank_factor", 4294967296ULL},
      {"generation", -1},
      {"generation", 1.5},
      {"generation", nullptr},
      {"generation", true},
      {"generation", json::object()},
      {"pii_policy", false},
      {"lineage_id", json::array()},
      {"data_digest", 0},
      {"rvf_witness", json::array()},
  };
  for (const auto& [field, value] : cases) {
    json doc = worked_json();
    doc[field] = value;
    EXPECT_EQ(rejected_field(doc), field) << field << " = " << value.dump();
  }
}

TEST(BundleSidecarJson, ValuesOutsideTheirDomainAreRefused) {
  const std::vector<std::pair<std::string, json>> cases = {
      {"dim", 0},
      {"dim", rb::kMaxDim + 1},
      {"rerank_factor", 0},
      {"data_ref", ""},
      {"data_ref", "."},
      {"data_ref", ".."},
      {"data_ref", "../vectors.rvb"},
      {"data_ref", "sub/vectors.rvb"},
      {"data_ref", "/etc/passwd"},
      {"data_ref", "table.rulake.json"},
      {"data_ref", std::string(256, 'a')},
      {"generation", ""},
      {"generation", rb::kMaxGenerationNumber + 1},
      {"pii_policy", std::string(rb::kMaxStringBytes + 1, 'p')},
      {"rotation_seed", ""},
      {"rotation_seed", "01"},
      {"rotation_seed", "-1"},
      {"rotation_seed", "+1"},
      {"rotation_seed", " 1"},
      {"rotation_seed", "1e3"},
      {"rotation_seed", "0x10"},
      {"rotation_seed", "18446744073709551616"},
      {"rotation_seed", "99999999999999999999"},
      {"data_digest", std::string(bundle_test::kWorkedDataDigest).substr(1)},
      {"data_digest", std::string(bundle_test::kWorkedDataDigest) + "0"},
      {"rvf_witness", "C78BD138CC6486B5566B9D7F45A5174A4FFD7789EE859DB99A97271E588CC47E"},
      {"rvf_witness", std::string(63, '0') + "g"},
  };
  for (const auto& [field, value] : cases) {
    json doc = worked_json();
    doc[field] = value;
    EXPECT_EQ(rejected_field(doc), field) << field << " = " << value.dump();
  }
}

TEST(BundleSidecarJson, BoundaryValuesAreAccepted) {
  json doc = worked_json();
  doc["rotation_seed"] = "0";
  EXPECT_EQ(rb::sidecar_from_json(doc.dump()).rotation_seed, 0u);
  doc["rotation_seed"] = "18446744073709551615";
  EXPECT_EQ(rb::sidecar_from_json(doc.dump()).rotation_seed, ~std::uint64_t{0});
  doc["generation"] = rb::kMaxGenerationNumber;
  EXPECT_EQ(std::get<std::uint64_t>(rb::sidecar_from_json(doc.dump()).generation),
            rb::kMaxGenerationNumber);
  doc["generation"] = "18446744073709551616";  // too big for a number: fine as a string
  EXPECT_EQ(std::get<std::string>(rb::sidecar_from_json(doc.dump()).generation),
            "18446744073709551616");
}

TEST(BundleSidecarJson, UnknownFieldsAreRefused) {
  json doc = worked_json();
  doc["comment"] = "not covered by the witness";
  EXPECT_EQ(rejected_field(doc), "comment");
}

TEST(BundleSidecarJson, DuplicateKeysAreRefused) {
  // nlohmann would keep the second "dim"; another reader might keep the first.
  std::string text = worked_json().dump();
  text.insert(1, "\"dim\":4,");
  try {
    rb::sidecar_from_json(text);
    FAIL() << "accepted a duplicate key";
  } catch (const rb::FormatError& e) {
    EXPECT_EQ(e.field(), "dim");
    EXPECT_NE(std::string(e.what()).find("more than once"), std::string::npos);
  }
}

TEST(BundleSidecarJson, MalformedJsonGivesAClearError) {
  std::string good = worked_json().dump();
  for (const std::string& text :
       {std::string(), std::string("{"), good.substr(0, good.size() / 2), good + "}", good + " x",
        std::string("{\"format_version\": 1,}"), std::string("\xEF\xBB\xBF\xFF")}) {
    try {
      rb::sidecar_from_json(text);
      ADD_FAILURE() << "accepted: " << text;
    } catch (const rb::FormatError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("bundle sidecar is not valid JSON: ", 0), 0u)
          << e.what();
    }
  }
  for (const char* text : {"[]", "\"x\"", "7", "null"}) {
    EXPECT_THROW(rb::sidecar_from_json(text), rb::FormatError) << text;
  }
  EXPECT_THROW(rb::sidecar_from_json(std::string(rb::kMaxSidecarBytes + 1, ' ')), rb::FormatError);
}

// A number beyond double used to escape as nlohmann's out_of_range, an "internal error".
TEST(BundleSidecarJson, NumbersOutOfRangeNameTheirField) {
  for (const char* number : {"1e400", "-1e400"}) {
    std::string text = worked_json().dump();
    std::string field = "\"format_version\":";
    std::size_t at = text.find(field) + field.size();
    text.replace(at, text.find(',', at) - at, number);
    try {
      rb::sidecar_from_json(text);
      ADD_FAILURE() << "accepted " << number;
    } catch (const rb::FormatError& e) {
      EXPECT_EQ(e.kind(), ruvector::ErrorKind::kDataException);
      EXPECT_EQ(e.field(), "format_version");
      EXPECT_EQ(std::string(e.what()),
                "bundle sidecar field \"format_version\": number out of range");
    }
  }
}

TEST(BundleSidecarJson, DeepNestingIsAFormatError) {
  std::string text = "{\"dim\": " + std::string(30000, '[') + std::string(30000, ']') + "}";
  try {
    rb::sidecar_from_json(text);
    ADD_FAILURE() << "accepted";
  } catch (const rb::FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("JSON nested deeper than 64 levels"), std::string::npos)
        << e.what();
  }
}

TEST(BundleSidecarJson, OlderFormatVersionIsADowngrade) {
  json doc = worked_json();
  doc["format_version"] = 0;
  try {
    rb::sidecar_from_json(doc.dump());
    FAIL() << "accepted a downgrade";
  } catch (const rb::DowngradeError& e) {
    EXPECT_EQ(e.kind(), ruvector::ErrorKind::kIntegrity);
    EXPECT_EQ(e.field(), "format_version");
    EXPECT_NE(std::string(e.what()).find("downgrade"), std::string::npos);
  }
  // Reported as a downgrade even when the old format had other fields.
  doc.erase("data_digest");
  doc["legacy"] = true;
  EXPECT_THROW(rb::sidecar_from_json(doc.dump()), rb::DowngradeError);
}

TEST(BundleSidecarJson, NewerFormatVersionIsUnsupported) {
  json doc = worked_json();
  doc["format_version"] = rb::kFormatVersion + 1;
  EXPECT_THROW(rb::sidecar_from_json(doc.dump()), rb::UnsupportedVersionError);
  doc["format_version"] = std::uint64_t{1} << 40;  // beyond u32 is still just "newer"
  EXPECT_THROW(rb::sidecar_from_json(doc.dump()), rb::UnsupportedVersionError);
}

TEST(BundleSidecarJson, WritingRefusesWhatReadingWouldRefuse) {
  rb::Sidecar s = worked_sidecar();
  s.dim = 0;
  EXPECT_THROW(rb::sidecar_to_json(s), rb::FormatError);
  s = worked_sidecar();
  s.pii_policy = "\xC3";  // cut-off UTF-8
  EXPECT_THROW(rb::sidecar_to_json(s), rb::FormatError);
  s = worked_sidecar();
  s.generation = rb::kMaxGenerationNumber + 1;
  EXPECT_THROW(rb::sidecar_to_json(s), rb::FormatError);
}

TEST(BundleSidecarJson, Utf8Validation) {
  EXPECT_TRUE(rb::is_valid_utf8(""));
  EXPECT_TRUE(rb::is_valid_utf8("ascii"));
  EXPECT_TRUE(rb::is_valid_utf8("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF"));
  EXPECT_FALSE(rb::is_valid_utf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(rb::is_valid_utf8("\xE0\x80\xAF"));      // overlong '/'
  EXPECT_FALSE(rb::is_valid_utf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(rb::is_valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(rb::is_valid_utf8("\xE2\x82"));          // cut off
  EXPECT_FALSE(rb::is_valid_utf8("\x80"));              // lone continuation
  EXPECT_FALSE(rb::is_valid_utf8("\xFF"));
}
