// Verification of a card signed by @a2a-js/sdk 1.3.0 itself (captured in
// tests/a2a/peer/WIRE.md from one peer run): the SDK's canonical form, the signature, and
// the same card altered after signing.
#include <gtest/gtest.h>

#include "a2a/canonical_json.h"
#include "a2a/jws.h"
#include "a2a_sdk_card.h"

namespace ruvector::a2a {
namespace {

using a2a_fixture::kCard;
using a2a_fixture::kJwks;
using a2a_fixture::kTampered;

const char* kCanonical =
    R"json({"capabilities":{"extendedAgentCard":false,"pushNotifications":false,"streaming":false},"defaultInputModes":["text/plain"],"defaultOutputModes":["text/plain"],"description":"Echo agent with a signed AgentCard (ES256 JWS).","name":"ruvector test signed","provider":{"organization":"ruvector tests","url":"https://example.invalid/ruvector"},"skills":[{"description":"Echo agent with a signed AgentCard (ES256 JWS).","examples":["hello"],"id":"signed","inputModes":["text/plain"],"name":"signed","outputModes":["text/plain"],"tags":["test"]}],"supportedInterfaces":[{"protocolBinding":"JSONRPC","protocolVersion":"1.0","url":"http://127.0.0.1:45943/signed"},{"protocolBinding":"JSONRPC","protocolVersion":"0.3","url":"http://127.0.0.1:45943/signed"}],"version":"1.0.0"})json";

TEST(A2aSdkCard, CanonicalFormMatchesTheSdk) {
  nlohmann::json card = nlohmann::json::parse(kCard);
  card.erase("signatures");
  EXPECT_EQ(canonical_json(drop_empty_values(card)), kCanonical);
}

TEST(A2aSdkCard, SdkSignatureVerifiesAndTamperingIsCaught) {
  KeySet keys = KeySet::from_jwks(nlohmann::json::parse(kJwks));
  CardVerification ok = verify_agent_card(nlohmann::json::parse(kCard), keys);
  EXPECT_TRUE(ok.verified) << ok.reason;
  EXPECT_EQ(ok.kid, "ruvector-test-es256");
  CardVerification bad = verify_agent_card(nlohmann::json::parse(kTampered), keys);
  EXPECT_FALSE(bad.verified);
  EXPECT_TRUE(bad.tampered);
}

}  // namespace
}  // namespace ruvector::a2a
