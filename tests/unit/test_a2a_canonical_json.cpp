// RFC 8785 canonical JSON: the examples of the RFC and of its reference test vectors.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "a2a/canonical_json.h"
#include "util/error.h"

using nlohmann::json;
using ruvector::a2a::canonical_json;
using ruvector::a2a::ecmascript_number;

TEST(A2aCanonicalJson, NumbersAsEcmascriptPrintsThem) {
  // RFC 8785 appendix B (IEEE 754 bit pattern -> expected text), a selection.
  EXPECT_EQ(ecmascript_number(0.0), "0");
  EXPECT_EQ(ecmascript_number(-0.0), "0");
  EXPECT_EQ(ecmascript_number(5e-324), "5e-324");
  EXPECT_EQ(ecmascript_number(-5e-324), "-5e-324");
  EXPECT_EQ(ecmascript_number(1.7976931348623157e308), "1.7976931348623157e+308");
  EXPECT_EQ(ecmascript_number(9007199254740992.0), "9007199254740992");
  EXPECT_EQ(ecmascript_number(295147905179352830000.0), "295147905179352830000");
  EXPECT_EQ(ecmascript_number(1e21), "1e+21");
  EXPECT_EQ(ecmascript_number(9.999999999999997e22), "9.999999999999997e+22");
  EXPECT_EQ(ecmascript_number(1e23), "1e+23");
  EXPECT_EQ(ecmascript_number(0.000001), "0.000001");
  EXPECT_EQ(ecmascript_number(1e-7), "1e-7");
  EXPECT_EQ(ecmascript_number(333333333.3333332), "333333333.3333332");
  EXPECT_EQ(ecmascript_number(-1.5), "-1.5");
  EXPECT_EQ(ecmascript_number(100), "100");
  EXPECT_EQ(ecmascript_number(4.50), "4.5");
  EXPECT_EQ(ecmascript_number(2e-3), "0.002");
  EXPECT_EQ(ecmascript_number(1e30), "1e+30");
  EXPECT_THROW(ecmascript_number(std::numeric_limits<double>::quiet_NaN()), ruvector::Error);
  EXPECT_THROW(ecmascript_number(std::numeric_limits<double>::infinity()), ruvector::Error);
}

TEST(A2aCanonicalJson, RfcExample) {
  // RFC 8785 section 3.2.2 example input and output.
  json input = json::parse(R"({
    "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
    "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
    "literals": [null, true, false]
  })");
  EXPECT_EQ(canonical_json(input),
            "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],"
            "\"string\":\"\xE2\x82\xAC$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
}

TEST(A2aCanonicalJson, KeysSortByUtf16CodeUnits) {
  // RFC 8785 section 3.2.3: sorting by UTF-16, where U+1F600 (a surrogate pair, 0xD83D...)
  // sorts before U+FB33 even though its UTF-8 bytes are larger.
  json input = json::parse(
      "{\"\\u20ac\":\"Euro Sign\",\"\\r\":\"Carriage Return\",\"\\ufb33\":\"Hebrew Letter Dalet "
      "With Dagesh\",\"1\":\"One\",\"\\ud83d\\ude00\":\"Emoji: Grinning Face\",\"\\u0080\":"
      "\"Control\",\"\\u00f6\":\"Latin Small Letter O With Diaeresis\"}");
  std::string out = canonical_json(input);
  std::vector<std::string> order = {"Carriage Return",
                                    "One",
                                    "Control",
                                    "Latin Small Letter O With Diaeresis",
                                    "Euro Sign",
                                    "Emoji: Grinning Face",
                                    "Hebrew Letter Dalet With Dagesh"};
  std::size_t pos = 0;
  for (const std::string& name : order) {
    std::size_t found = out.find(name, pos);
    ASSERT_NE(found, std::string::npos) << name << " out of order in " << out;
    pos = found;
  }
}

TEST(A2aCanonicalJson, NestedAndWhitespaceFree) {
  json input = json::parse(R"({"b": [1, {"z": 1, "a": [true]}], "a": {"y": null, "x": "s"}})");
  EXPECT_EQ(canonical_json(input), R"({"a":{"x":"s","y":null},"b":[1,{"a":[true],"z":1}]})");
}

TEST(A2aCanonicalJson, RejectsInvalidUtf8) {
  json bad = std::string("\xC3\x28");
  EXPECT_THROW(canonical_json(bad), ruvector::Error);
  json overlong = std::string("\xC0\xAF");
  EXPECT_THROW(canonical_json(overlong), ruvector::Error);
  json truncated = std::string("ab\xE2\x82");
  EXPECT_THROW(canonical_json(truncated), ruvector::Error);
}
