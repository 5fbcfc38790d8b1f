// The bounded JSON reader: nesting up to the limit is read, one level more is refused by
// name and field before it is built (300,000 levels included), numbers beyond double are
// typed errors naming the field, and NULs and duplicate keys are refused when asked.
#include <gtest/gtest.h>

#include <string>

#include "util/json_parse.h"

namespace ruvector {
namespace {

std::string nested_arrays(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

JsonBounds max_depth(int depth) {
  JsonBounds b;
  b.max_depth = depth;
  return b;
}

// Runs `fn`, expects a JsonError and returns it.
template <typename Fn>
JsonError error_of(Fn&& fn) {
  try {
    fn();
  } catch (const JsonError& e) {
    return e;
  }
  ADD_FAILURE() << "no JsonError";
  return JsonError(ErrorKind::kInternal, "", "");
}

TEST(JsonParse, DepthLimitIsInclusive) {
  EXPECT_NO_THROW(parse_json(nested_arrays(kMaxJsonDepth), "test"));
  JsonError e = error_of([] { parse_json(nested_arrays(kMaxJsonDepth + 1), "test"); });
  EXPECT_EQ(e.kind(), ErrorKind::kProgramLimit);
  EXPECT_NE(std::string(e.what()).find("test field \"[0][0]"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("JSON nested deeper than 64 levels"), std::string::npos);
  EXPECT_FALSE(json_deeper_than(parse_json(nested_arrays(kMaxJsonDepth), "test"), kMaxJsonDepth));
}

TEST(JsonParse, ObjectsCountAndNameTheirKeys) {
  std::string text = "{\"a\": [1, {\"b\": {\"c\": []}}]}";  // depth 5
  EXPECT_NO_THROW(parse_json(text, "doc", max_depth(5)));
  JsonError e = error_of([&] { parse_json(text, "doc", max_depth(4)); });
  EXPECT_EQ(std::string(e.what()), "doc field \"a[1].b.c\": JSON nested deeper than 4 levels");
  EXPECT_EQ(e.path(), "a[1].b.c");
}

TEST(JsonParse, VeryDeepInputIsRefusedWithoutRecursion) {
  for (char open : {'[', '{'}) {
    std::string text;
    for (int i = 0; i < 300000; i++) text += open == '[' ? "[" : "{\"k\":";
    JsonError e = error_of([&] { parse_json(text, "AgentCard"); });
    EXPECT_EQ(e.kind(), ErrorKind::kProgramLimit) << e.what();
    EXPECT_LE(std::string(e.what()).size(), 300u);
  }
}

TEST(JsonParse, NumbersOutOfRangeNameTheField) {
  for (const char* n : {"1e400", "-1e400", "1E+999"}) {
    JsonError e = error_of(
        [&] { parse_json(std::string("{\"format_version\": ") + n + "}", "bundle sidecar"); });
    EXPECT_EQ(e.kind(), ErrorKind::kDataException);
    EXPECT_EQ(std::string(e.what()),
              "bundle sidecar field \"format_version\": number out of range");
  }
  JsonError e = error_of([] { parse_json("[1, [2, 1e400]]", "x"); });
  EXPECT_EQ(e.path(), "[1][1]");
  // Beyond 64 bits is a double; below double's range is zero.
  EXPECT_TRUE(parse_json("18446744073709551616", "x").is_number_float());
  EXPECT_EQ(parse_json("1e-400", "x").get<double>(), 0.0);
}

TEST(JsonParse, SyntaxErrorsAreTyped) {
  for (const char* text : {"", "{", "[1,]", "\"\xff\"", "{} x", "nul", "\"a\\ud800\""}) {
    JsonError e = error_of([&] { parse_json(text, "stream event"); });
    EXPECT_EQ(e.kind(), ErrorKind::kDataException);
    EXPECT_EQ(std::string(e.what()).rfind("stream event is not valid JSON: ", 0), 0u) << e.what();
    for (unsigned char c : std::string(e.what())) EXPECT_LT(c, 0x80) << e.what();
  }
}

TEST(JsonParse, NulRefusedOnlyWhenAsked) {
  const char* text = "{\"result\": {\"parts\": [\"ok\", \"a\\u0000b\"]}}";
  EXPECT_EQ(parse_json(text, "x")["result"]["parts"][1].get<std::string>().size(), 3u);
  JsonBounds refuse;
  refuse.nul = NulStrings::kRefuse;
  JsonError e = error_of([&] { parse_json(text, "JSON-RPC answer", refuse); });
  EXPECT_EQ(std::string(e.what()),
            "JSON-RPC answer field \"result.parts[1]\": NUL character (\\u0000), which cannot "
            "be stored");
  e = error_of([&] { parse_json("{\"a\\u0000\": 1}", "x", refuse); });
  EXPECT_EQ(e.path(), "a\\u0000");
}

TEST(JsonParse, DuplicateKeysRefusedOnlyWhenAsked) {
  EXPECT_EQ(parse_json("{\"a\": 1, \"a\": 2}", "x")["a"], 2);
  JsonBounds refuse;
  refuse.duplicates = DuplicateKeys::kRefuse;
  JsonError e = error_of([&] { parse_json("{\"b\": {\"a\": 1, \"a\": 2}}", "x", refuse); });
  EXPECT_EQ(std::string(e.what()), "x field \"b.a\": key appears more than once");
}

TEST(JsonParse, BuildsTheSameValueAsNlohmann) {
  const char* text =
      "{\"a\": [1, -2, 3.5, true, null, \"s\", {}, []], \"b\": {\"c\": {\"d\": [[]]}}, "
      "\"e\": 18446744073709551615}";
  EXPECT_EQ(parse_json(text, "x"), nlohmann::json::parse(text));
}

TEST(JsonParse, DeeperThanIsIterative) {
  nlohmann::json deep = nlohmann::json::array();
  nlohmann::json* at = &deep;
  for (int i = 0; i < 100000; i++) at = &at->emplace_back(nlohmann::json::array());
  EXPECT_TRUE(json_deeper_than(deep, kMaxJsonDepth));
  EXPECT_FALSE(json_deeper_than(nlohmann::json(1), 0));
  EXPECT_TRUE(json_deeper_than(nlohmann::json::array(), 0));
}

}  // namespace
}  // namespace ruvector
