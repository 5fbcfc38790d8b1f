// Verification of a card signed by @a2a-js/sdk 1.3.0 itself (captured in
// tests/a2a/peer/WIRE.md from one peer run): the SDK's canonical form, the signature, and
// the same card altered after signing.
#include <gtest/gtest.h>

#include "a2a/canonical_json.h"
#include "a2a/jws.h"

namespace ruvector::a2a {
namespace {

const char* kCard =
    R"json({"name":"ruvector test signed","description":"Echo agent with a signed AgentCard (ES256 JWS).","supportedInterfaces":[{"url":"http://127.0.0.1:45943/signed","protocolBinding":"JSONRPC","tenant":"","protocolVersion":"1.0"},{"url":"http://127.0.0.1:45943/signed","protocolBinding":"JSONRPC","tenant":"","protocolVersion":"0.3"}],"provider":{"organization":"ruvector tests","url":"https://example.invalid/ruvector"},"version":"1.0.0","capabilities":{"streaming":false,"pushNotifications":false,"extensions":[],"extendedAgentCard":false},"securitySchemes":{},"securityRequirements":[],"defaultInputModes":["text/plain"],"defaultOutputModes":["text/plain"],"skills":[{"id":"signed","name":"signed","description":"Echo agent with a signed AgentCard (ES256 JWS).","tags":["test"],"examples":["hello"],"inputModes":["text/plain"],"outputModes":["text/plain"],"securityRequirements":[]}],"documentationUrl":"","signatures":[{"protected":"eyJhbGciOiJFUzI1NiIsImtpZCI6InJ1dmVjdG9yLXRlc3QtZXMyNTYiLCJ0eXAiOiJKT1NFIn0","signature":"sIPU2qszY-VJvLA06fpLoTIj8hNtUAMvHDMLH4M_h1nN3LtRl29LfYxx7M8OOsZI9ZXgRfSyekvr2hbGQ8DYpA"}]})json";
const char* kTampered =
    R"json({"name":"ruvector test tampered","description":"Echo agent whose signed AgentCard was modified after signing. (TAMPERED)","supportedInterfaces":[{"url":"http://127.0.0.1:45943/tampered","protocolBinding":"JSONRPC","tenant":"","protocolVersion":"1.0"},{"url":"http://127.0.0.1:45943/tampered","protocolBinding":"JSONRPC","tenant":"","protocolVersion":"0.3"}],"provider":{"organization":"ruvector tests","url":"https://example.invalid/ruvector"},"version":"1.0.0","capabilities":{"streaming":false,"pushNotifications":false,"extensions":[],"extendedAgentCard":false},"securitySchemes":{},"securityRequirements":[],"defaultInputModes":["text/plain"],"defaultOutputModes":["text/plain"],"skills":[{"id":"tampered","name":"tampered","description":"Echo agent whose signed AgentCard was modified after signing.","tags":["test"],"examples":["hello"],"inputModes":["text/plain"],"outputModes":["text/plain"],"securityRequirements":[]}],"documentationUrl":"","signatures":[{"protected":"eyJhbGciOiJFUzI1NiIsImtpZCI6InJ1dmVjdG9yLXRlc3QtZXMyNTYiLCJ0eXAiOiJKT1NFIn0","signature":"t6w-dpblyq69nbNtwldgi00tDwSuyuOvzLjLW-5j1XJW14X4HfAMI4UJaIrhO2q6Xcbn3NW0j4-2hyZbl7Jk_Q"}]})json";
const char* kJwks =
    R"json({"keys":[{"kty":"EC","crv":"P-256","x":"8Q9yDOoR7TdzSJFk1xGBtLOqbdtiac7FzYyYRjK67x8","y":"_sBa6s2VVZgijKJEjC1N1CSnVS6fHd4DWd4oEW4ll8s","kid":"ruvector-test-es256"}]})json";
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
