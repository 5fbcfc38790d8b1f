// Signed AgentCards: ES256 and Ed25519 signatures made here with OpenSSL verify; any change
// to the card, a wrong key, an unknown algorithm or a malformed entry is refused.
#include <gtest/gtest.h>

#include <memory>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include "a2a/base64url.h"
#include "a2a/jws.h"
#include "util/error.h"

using namespace ruvector::a2a;
using nlohmann::json;

namespace {

struct Key {
  std::unique_ptr<EVP_PKEY, void (*)(EVP_PKEY*)> pkey{nullptr, EVP_PKEY_free};
  json jwk;
};

Key make_key(const std::string& kind, const std::string& kid) {
  Key k;
  if (kind == "EC") {
    k.pkey.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    unsigned char point[65];
    size_t len = 0;
    EVP_PKEY_get_octet_string_param(k.pkey.get(), OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point),
                                    &len);
    k.jwk = {{"kty", "EC"},
             {"crv", "P-256"},
             {"kid", kid},
             {"x", base64url_encode(std::string(reinterpret_cast<char*>(point) + 1, 32))},
             {"y", base64url_encode(std::string(reinterpret_cast<char*>(point) + 33, 32))}};
  } else {
    k.pkey.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    unsigned char raw[32];
    size_t len = sizeof(raw);
    EVP_PKEY_get_raw_public_key(k.pkey.get(), raw, &len);
    k.jwk = {{"kty", "OKP"},
             {"crv", "Ed25519"},
             {"kid", kid},
             {"x", base64url_encode(std::string(reinterpret_cast<char*>(raw), 32))}};
  }
  return k;
}

// Signs like a peer would: JWS over protected "." base64url(JCS(card - signatures)).
json sign(const json& card, const Key& key, const std::string& alg, const std::string& kid) {
  std::string protected_b64 = base64url_encode(json({{"alg", alg}, {"kid", kid}}).dump());
  std::string input = protected_b64 + "." + card_signing_payload(card);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestSignInit(ctx, nullptr, alg == "ES256" ? EVP_sha256() : nullptr, nullptr,
                     key.pkey.get());
  size_t len = 0;
  EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                 input.size());
  std::string sig(len, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                 reinterpret_cast<const unsigned char*>(input.data()), input.size());
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  if (alg == "ES256") {  // DER -> raw r || s
    const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, sig.size());
    unsigned char raw[64];
    BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32);
    ECDSA_SIG_free(es);
    sig.assign(reinterpret_cast<char*>(raw), 64);
  }
  json signed_card = card;
  signed_card["signatures"].push_back(
      {{"protected", protected_b64}, {"signature", base64url_encode(sig)}});
  return signed_card;
}

json sample_card() {
  return json::parse(R"({"name": "echo", "version": "1.0.0", "description": "Echo agent",
    "supportedInterfaces": [{"url": "http://127.0.0.1:4000/a2a", "protocolBinding": "JSONRPC",
                             "protocolVersion": "1.0"}],
    "capabilities": {"streaming": true}, "skills": [{"id": "echo", "name": "Echo"}]})");
}

}  // namespace

TEST(A2aBase64url, RoundTripAndStrictness) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\xfe\x00"}) {
    EXPECT_EQ(base64url_decode(base64url_encode(s)), s);
  }
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_THROW(base64url_decode("Zg=="), ruvector::Error);  // padding is not base64url
  EXPECT_THROW(base64url_decode("Z"), ruvector::Error);
  EXPECT_THROW(base64url_decode("Zh"), ruvector::Error);  // non-zero trailing bits
}

TEST(A2aJws, VerifiesEs256AndEd25519) {
  Key ec = make_key("EC", "ec-1"), ed = make_key("OKP", "ed-1");
  KeySet keys = KeySet::from_jwks({{"keys", {ec.jwk, ed.jwk}}});
  EXPECT_EQ(keys.size(), 2u);
  json card = sample_card();
  EXPECT_TRUE(verify_agent_card(sign(card, ec, "ES256", "ec-1"), keys).verified);
  EXPECT_TRUE(verify_agent_card(sign(card, ed, "EdDSA", "ed-1"), keys).verified);
  json both = sign(sign(card, ec, "ES256", "ec-1"), ed, "EdDSA", "ed-1");
  EXPECT_TRUE(verify_agent_card(both, keys).verified);
  // Key order and whitespace do not matter: the signature covers the canonical form.
  json reparsed = json::parse(sign(card, ec, "ES256", "ec-1").dump(2));
  EXPECT_TRUE(verify_agent_card(reparsed, keys).verified);
}

TEST(A2aJws, DetectsTampering) {
  Key ec = make_key("EC", "ec-1");
  KeySet keys = KeySet::from_jwks({{"keys", {ec.jwk}}});
  json signed_card = sign(sample_card(), ec, "ES256", "ec-1");
  json tampered = signed_card;
  tampered["supportedInterfaces"][0]["url"] = "http://127.0.0.1:6666/a2a";
  CardVerification v = verify_agent_card(tampered, keys);
  EXPECT_FALSE(v.verified);
  EXPECT_EQ(v.reason, "signature by key \"ec-1\" does not match the card");
  json added = signed_card;
  added["extra"] = 1;
  EXPECT_FALSE(verify_agent_card(added, keys).verified);
}

TEST(A2aJws, RefusesUntrustedUnsignedAndMalformed) {
  Key ec = make_key("EC", "ec-1"), other = make_key("EC", "ec-2");
  KeySet keys = KeySet::from_jwks({{"keys", {ec.jwk}}});
  json card = sample_card();
  EXPECT_EQ(verify_agent_card(card, keys).reason, "agent card is not signed");
  EXPECT_EQ(verify_agent_card(sign(card, other, "ES256", "ec-2"), keys).reason,
            "no signature is by a trusted key");
  // Signed by another key that claims our kid.
  EXPECT_FALSE(verify_agent_card(sign(card, other, "ES256", "ec-1"), keys).verified);
  json none = card;
  none["signatures"] = {
      {{"protected", base64url_encode(R"({"alg":"none","kid":"ec-1"})")}, {"signature", ""}}};
  EXPECT_EQ(verify_agent_card(none, keys).reason,
            "signature by key \"ec-1\" uses unsupported algorithm \"none\"");
  json garbage = card;
  garbage["signatures"] = {{{"protected", "!!"}, {"signature", "AA"}}};
  EXPECT_FALSE(verify_agent_card(garbage, keys).verified);
  json wrong_type = card;
  wrong_type["signatures"] = {{{"protected", 5}}};
  EXPECT_FALSE(verify_agent_card(wrong_type, keys).verified);
}

TEST(A2aJws, BadJwksIsAClearError) {
  EXPECT_THROW(KeySet::from_jwks(json::array()), ruvector::Error);
  EXPECT_THROW(KeySet::from_jwks({{"keys", {{{"kty", "RSA"}, {"crv", "x"}, {"kid", "r"}}}}}),
               ruvector::Error);
  Key ec = make_key("EC", "ec-1");
  json off_curve = ec.jwk;
  off_curve["y"] = base64url_encode(std::string(32, '\x01'));
  EXPECT_THROW(KeySet::from_jwks({{"keys", {off_curve}}}), ruvector::Error);
  json no_kid = ec.jwk;
  no_kid.erase("kid");
  EXPECT_THROW(KeySet::from_jwks({{"keys", {no_kid}}}), ruvector::Error);
}
