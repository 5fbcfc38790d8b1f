// Hostile AgentCards (issue #23): nesting deep enough to overflow any recursion is refused
// by name before verification touches it, whether the card arrives as text or as a value
// built in memory; a NUL is refused because jsonb cannot store it; a protected header with
// a mistyped member is a malformed signature, not a library exception.
#include <gtest/gtest.h>

#include <string>

#include "a2a/base64url.h"
#include "a2a/canonical_json.h"
#include "a2a/card_fetch.h"
#include "a2a/jws.h"
#include "util/json_parse.h"

namespace ruvector::a2a {
namespace {

using nlohmann::json;

const char* kUrl = "http://127.0.0.1:4000/.well-known/agent-card.json";

// A valid unsigned card with "deep": `depth` nested arrays, and a signature by a key we do
// not know, so verification has to canonicalize the card.
std::string card_text(int depth) {
  return R"({"name": "echo", "supportedInterfaces": [{"url": "http://127.0.0.1:4000/a2a",
      "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}],
      "signatures": [{"protected": "eyJhbGciOiJFUzI1NiIsImtpZCI6Im90aGVyIn0", "signature": "AA"}],
      "deep": )" +
         std::string(depth, '[') + std::string(depth, ']') + "}";
}

FetchedCard check(const std::string& body) {
  return check_agent_card(body, kUrl, {"127.0.0.1"}, KeySet(), /*require_signed=*/false);
}

json deep_value(int depth) {
  json root = json::array();
  json* at = &root;
  for (int i = 1; i < depth; i++) at = &at->emplace_back(json::array());
  return root;
}

TEST(A2aCardBounds, DepthLimitIsInclusive) {
  // The card object is one level, so "deep" may hold 63 more.
  EXPECT_EQ(check(card_text(kMaxJsonDepth - 1)).info.name, "echo");
  try {
    check(card_text(kMaxJsonDepth));
    FAIL() << "accepted";
  } catch (const JsonError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kProgramLimit);
    EXPECT_EQ(std::string(e.what()).rfind(
                  std::string("the AgentCard at \"") + kUrl + "\" field \"deep[0][0]", 0),
              0u)
        << e.what();
  }
}

TEST(A2aCardBounds, ThreeHundredThousandLevelsAreRefusedWithoutACrash) {
  std::string body = card_text(300000);
  ASSERT_GT(body.size(), 600000u);
  try {
    check(body);
    FAIL() << "accepted";
  } catch (const JsonError& e) {
    EXPECT_NE(std::string(e.what()).find("JSON nested deeper than 64 levels"), std::string::npos);
  }
}

TEST(A2aCardBounds, DeepValuesBuiltInMemoryAreRefused) {
  json card = json::parse(card_text(1));
  card["deep"] = deep_value(200000);
  EXPECT_THROW(verify_agent_card(card, KeySet()), JsonError);
  EXPECT_THROW(card_signing_payload(card), JsonError);
  EXPECT_THROW(canonical_json(card), JsonError);
  EXPECT_THROW(drop_empty_values(card), JsonError);
  // At the limit they work.
  card["deep"] = deep_value(kMaxJsonDepth - 1);
  EXPECT_NO_THROW(canonical_json(card));
  EXPECT_NO_THROW(drop_empty_values(card));
}

TEST(A2aCardBounds, NulIsRefusedByField) {
  std::string body = card_text(1);
  body.replace(body.find("\"echo\""), 6, "\"ec\\u0000ho\"");
  try {
    check(body);
    FAIL() << "accepted";
  } catch (const JsonError& e) {
    EXPECT_EQ(e.path(), "name");
    EXPECT_NE(std::string(e.what()).find("NUL character (\\u0000), which cannot be stored"),
              std::string::npos);
  }
}

TEST(A2aCardBounds, MistypedProtectedHeaderIsAMalformedSignature) {
  json card = json::parse(card_text(1));
  card["signatures"][0]["protected"] = base64url_encode(R"({"alg": 5, "kid": "k"})");
  CardVerification v = verify_agent_card(card, KeySet());
  EXPECT_TRUE(v.tampered);
  EXPECT_EQ(v.reason, "malformed signature: protected header \"alg\" is not a string");
  card["signatures"][0]["protected"] = base64url_encode(std::string(100, '[') + "]");
  v = verify_agent_card(card, KeySet());
  EXPECT_TRUE(v.tampered);
  EXPECT_EQ(v.reason.rfind("malformed signature: protected header field \"[0][0]", 0), 0u)
      << v.reason;
}

}  // namespace
}  // namespace ruvector::a2a
