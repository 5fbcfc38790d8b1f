// Verification of signed A2A AgentCards: each entry of the card's "signatures" is a JWS
// (RFC 7515, flattened, detached payload) over the RFC 8785 canonical JSON of the card
// without its "signatures" member. ES256 and EdDSA (Ed25519) are accepted; keys come
// from a JWKS document the operator trusts (never from a URL the card names).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

typedef struct evp_pkey_st EVP_PKEY;

namespace ruvector::a2a {

class KeySet {
 public:
  // Parses {"keys": [JWK, ...]}: EC P-256 keys ("kty": "EC", "crv": "P-256", x, y) and
  // Ed25519 keys ("kty": "OKP", "crv": "Ed25519", x), each with a "kid". Throws
  // ruvector::Error naming the offending key on anything else.
  static KeySet from_jwks(const nlohmann::json& jwks);

  // The key with this id and family ("EC" or "OKP"), or nullptr.
  EVP_PKEY* find(const std::string& kid) const;
  // The Ed25519 key whose raw public key is these 32 bytes, or nullptr; `kid` gets its id.
  EVP_PKEY* find_ed25519(const std::string& raw, std::string* kid) const;
  std::size_t size() const { return keys_.size(); }

 private:
  struct Entry {
    std::string kid;
    std::shared_ptr<EVP_PKEY> key;
  };
  std::vector<Entry> keys_;
};

struct CardVerification {
  bool has_signatures = false;  // the card carries at least one signature
  bool verified = false;        // some signature verified with a trusted key, none failed
  bool tampered = false;        // a trusted key's signature fails, or one is malformed
  std::string kid;              // the first trusted key that verified
  std::string reason;           // why not verified, for the error message
};

// Checks every signature of `card`. A signature by a trusted key that does not verify
// makes the whole card fail (it was altered); signatures by unknown keys are skipped.
// A card without JWS signatures may carry rvagent-a2a's metadata.ruvector.signature
// ({"alg": "ed25519-hex", "signature", "public_key"}, hex): Ed25519 over the canonical
// JSON of the card without that member, trusted when public_key is an OKP key of `keys`.
CardVerification verify_agent_card(const nlohmann::json& card, const KeySet& keys);

// The payload a signature covers: base64url(JCS(card without "signatures")).
std::string card_signing_payload(const nlohmann::json& card);

// `value` without empty strings, nulls, empty arrays and empty objects, recursively
// (false and 0 stay): what @a2a-js/sdk removes before canonicalising a card to sign it.
nlohmann::json drop_empty_values(const nlohmann::json& value);

}  // namespace ruvector::a2a
