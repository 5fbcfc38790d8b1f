// See jws.h. OpenSSL 3 EVP interfaces; every OpenSSL object is owned by a unique_ptr.
#include "a2a/jws.h"

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "a2a/base64url.h"
#include "a2a/canonical_json.h"
#include "util/error.h"
#include "util/json_parse.h"

namespace ruvector::a2a {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
struct EcdsaSigFree {
  void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};

[[noreturn]] void bad_key(const std::string& kid, const std::string& why) {
  fail(ErrorKind::kInvalidParameter, "trusted key \"" + kid + "\": " + why);
}

std::string member(const nlohmann::json& obj, const char* name, const std::string& kid) {
  auto it = obj.find(name);
  if (it == obj.end() || !it->is_string())
    bad_key(kid, std::string("missing string \"") + name + "\"");
  return it->get<std::string>();
}

EVP_PKEY* ec_p256_key(const std::string& x, const std::string& y, const std::string& kid) {
  if (x.size() != 32 || y.size() != 32) bad_key(kid, "P-256 coordinates must be 32 bytes");
  std::string point = "\x04" + x + y;
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld || !OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                        point.size())) {
    fail(ErrorKind::kResourceLimit, "OpenSSL could not build key parameters");
  }
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* key = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) <= 0) {
    bad_key(kid, "not a valid P-256 public key");
  }
  std::unique_ptr<EVP_PKEY, PkeyFree> owned(key);
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> check(EVP_PKEY_CTX_new(key, nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) <= 0) bad_key(kid, "point is not on P-256");
  return owned.release();
}

// JWS ES256 signatures are r || s, 32 bytes each; OpenSSL wants DER.
std::string es256_to_der(const std::string& raw) {
  if (raw.size() != 64) return {};
  std::unique_ptr<ECDSA_SIG, EcdsaSigFree> sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), 32, nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + 32, 32, nullptr);
  if (!sig || !r || !s || !ECDSA_SIG_set0(sig.get(), r, s)) {
    BN_free(r);
    BN_free(s);
    return {};
  }
  int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  std::string der(len > 0 ? len : 0, '\0');
  unsigned char* p = reinterpret_cast<unsigned char*>(der.data());
  if (len <= 0 || i2d_ECDSA_SIG(sig.get(), &p) != len) return {};
  return der;
}

bool verify_signature(EVP_PKEY* key, const std::string& alg, const std::string& input,
                      const std::string& signature) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx) return false;
  std::string sig = signature;
  const EVP_MD* md = nullptr;
  if (alg == "ES256") {
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return false;
    sig = es256_to_der(signature);
    if (sig.empty()) return false;
    md = EVP_sha256();
  } else if (alg == "EdDSA") {
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_ED25519) return false;
  } else {
    return false;
  }
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, key) <= 0) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                          reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
}

}  // namespace

KeySet KeySet::from_jwks(const nlohmann::json& jwks) {
  if (!jwks.is_object() || !jwks.contains("keys") || !jwks["keys"].is_array()) {
    fail(ErrorKind::kInvalidParameter, "trusted keys must be a JWKS document {\"keys\": [...]}");
  }
  KeySet set;
  for (const auto& jwk : jwks["keys"]) {
    if (!jwk.is_object())
      fail(ErrorKind::kInvalidParameter, "each trusted key must be a JSON object");
    std::string kid =
        jwk.contains("kid") && jwk["kid"].is_string() ? jwk["kid"].get<std::string>() : "";
    if (kid.empty()) bad_key("?", "every trusted key needs a \"kid\"");
    std::string kty = member(jwk, "kty", kid), crv = member(jwk, "crv", kid);
    EVP_PKEY* key = nullptr;
    if (kty == "EC" && crv == "P-256") {
      key = ec_p256_key(base64url_decode(member(jwk, "x", kid)),
                        base64url_decode(member(jwk, "y", kid)), kid);
    } else if (kty == "OKP" && crv == "Ed25519") {
      std::string x = base64url_decode(member(jwk, "x", kid));
      if (x.size() != 32) bad_key(kid, "Ed25519 keys are 32 bytes");
      key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                        reinterpret_cast<const unsigned char*>(x.data()), x.size());
      if (key == nullptr) bad_key(kid, "not a valid Ed25519 public key");
    } else {
      bad_key(kid, "unsupported key type " + kty + "/" + crv + " (use EC P-256 or OKP Ed25519)");
    }
    set.keys_.push_back(Entry{kid, std::shared_ptr<EVP_PKEY>(key, PkeyFree())});
  }
  return set;
}

EVP_PKEY* KeySet::find(const std::string& kid) const {
  for (const Entry& e : keys_) {
    if (e.kid == kid) return e.key.get();
  }
  return nullptr;
}

EVP_PKEY* KeySet::find_ed25519(const std::string& raw, std::string* kid) const {
  for (const Entry& e : keys_) {
    if (EVP_PKEY_get_base_id(e.key.get()) != EVP_PKEY_ED25519) continue;
    unsigned char pub[32];
    std::size_t len = sizeof(pub);
    if (EVP_PKEY_get_raw_public_key(e.key.get(), pub, &len) != 1 || len != raw.size() ||
        raw.compare(0, len, reinterpret_cast<const char*>(pub), len) != 0)
      continue;
    *kid = e.kid;
    return e.key.get();
  }
  return nullptr;
}

std::string card_signing_payload(const nlohmann::json& card) {
  // The copy below recurses; a card from parse_json is never this deep, any other may be.
  if (json_deeper_than(card, kMaxJsonDepth)) fail_json_too_deep("AgentCard", {});
  nlohmann::json unsigned_card = card;
  unsigned_card.erase("signatures");
  return base64url_encode(canonical_json(unsigned_card));
}

namespace {

// `depth`: the containers around `value`; bounded as in canonical_json.
nlohmann::json drop_empty_values(const nlohmann::json& value, int depth) {
  if (value.is_structured() && depth >= kMaxJsonDepth) fail_json_too_deep("AgentCard", {});
  auto empty = [](const nlohmann::json& v) {
    return v.is_null() || (v.is_string() && v.get_ref<const std::string&>().empty()) ||
           ((v.is_array() || v.is_object()) && v.empty());
  };
  if (value.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (auto it = value.begin(); it != value.end(); ++it) {
      nlohmann::json v = drop_empty_values(it.value(), depth + 1);
      if (!empty(v)) out[it.key()] = std::move(v);
    }
    return out;
  }
  if (value.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : value) {
      nlohmann::json v = drop_empty_values(e, depth + 1);
      if (!empty(v)) out.push_back(std::move(v));
    }
    return out;
  }
  return value;
}

// A string member of the protected header, or "" when absent.
std::string header_string(const nlohmann::json& header, const char* name) {
  auto it = header.find(name);
  if (it == header.end()) return {};
  if (!it->is_string())
    fail(ErrorKind::kDataException,
         std::string("protected header \"") + name + "\" is not a string");
  return it->get<std::string>();
}

}  // namespace

nlohmann::json drop_empty_values(const nlohmann::json& value) {
  return drop_empty_values(value, 0);
}

namespace {

// Lower- or upper-case hex into bytes; false for anything else.
bool hex_decode(const std::string& hex, std::string* out) {
  if (hex.size() % 2 != 0) return false;
  auto nibble = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  out->clear();
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
  }
  return true;
}

const nlohmann::json* ruvector_signature(const nlohmann::json& card) {
  auto m = card.find("metadata");
  if (m == card.end() || !m->is_object()) return nullptr;
  auto r = m->find("ruvector");
  if (r == m->end() || !r->is_object()) return nullptr;
  auto s = r->find("signature");
  return s == r->end() ? nullptr : &*s;
}

// rvagent-a2a signs the canonical JSON of the card with metadata.ruvector.signature removed
// (metadata.ruvector itself stays, empty or not). Its canonical form sorts keys and prints
// strings as serde_json does, which is RFC 8785's for the cards it produces.
CardVerification verify_ruvector_card(const nlohmann::json& card, const nlohmann::json& sig,
                                      const KeySet& keys) {
  CardVerification result;
  result.has_signatures = true;
  auto field = [&](const char* name) {
    auto it = sig.find(name);
    return it != sig.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  std::string pub, signature;
  if (!sig.is_object() || field("alg") != "ed25519-hex" || !hex_decode(field("public_key"), &pub) ||
      pub.size() != 32 || !hex_decode(field("signature"), &signature) || signature.size() != 64) {
    result.reason =
        "malformed metadata.ruvector.signature (needs alg \"ed25519-hex\", a 32-byte hex "
        "public_key and a 64-byte hex signature)";
    result.tampered = true;
    return result;
  }
  std::string kid;
  EVP_PKEY* key = keys.find_ed25519(pub, &kid);
  if (key == nullptr) {
    result.reason = "the card's ed25519-hex key is not in a2a.trusted_keys";
    return result;
  }
  if (json_deeper_than(card, kMaxJsonDepth)) fail_json_too_deep("AgentCard", {});
  nlohmann::json unsigned_card = card;
  unsigned_card["metadata"]["ruvector"].erase("signature");
  if (!verify_signature(key, "EdDSA", canonical_json(unsigned_card), signature)) {
    result.reason = "ed25519-hex signature by key \"" + kid + "\" does not match the card";
    result.tampered = true;
    return result;
  }
  result.verified = true;
  result.kid = kid;
  return result;
}

}  // namespace

CardVerification verify_agent_card(const nlohmann::json& card, const KeySet& keys) {
  CardVerification result;
  if (!card.is_object()) {
    result.reason = "agent card is not a JSON object";
    return result;
  }
  if (!card.contains("signatures")) {
    if (const nlohmann::json* sig = ruvector_signature(card))
      return verify_ruvector_card(card, *sig, keys);
  }
  auto sigs = card.find("signatures");
  if (sigs == card.end() || !sigs->is_array() || sigs->empty()) {
    result.reason = "agent card is not signed";
    return result;
  }
  result.has_signatures = true;
  // RFC 8785 of the card as served; and the form the official SDKs sign, which first drops
  // empty strings, nulls, empty arrays and empty objects (they serialise through protobuf).
  const std::string payloads[2] = {card_signing_payload(card),
                                   card_signing_payload(drop_empty_values(card))};
  int verified = 0;
  for (const auto& sig : *sigs) {
    if (!sig.is_object() || !sig.contains("protected") || !sig["protected"].is_string() ||
        !sig.contains("signature") || !sig["signature"].is_string()) {
      result.reason = "malformed signature entry (needs \"protected\" and \"signature\")";
      result.tampered = true;
      return result;
    }
    const std::string& protected_b64 = sig["protected"].get_ref<const std::string&>();
    std::string signature, alg, kid;
    try {
      nlohmann::json header = parse_json(base64url_decode(protected_b64), "protected header");
      if (!header.is_object()) fail(ErrorKind::kDataException, "protected header is not an object");
      alg = header_string(header, "alg");
      kid = header_string(header, "kid");
      signature = base64url_decode(sig["signature"].get<std::string>());
    } catch (const std::exception& e) {
      result.reason = std::string("malformed signature: ") + e.what();
      result.tampered = true;
      return result;
    }
    EVP_PKEY* key = keys.find(kid);
    if (key == nullptr) continue;  // not ours to judge
    if (alg != "ES256" && alg != "EdDSA") {
      result.reason = "signature by key \"" + kid + "\" uses unsupported algorithm \"" + alg + "\"";
      return result;
    }
    if (!verify_signature(key, alg, protected_b64 + "." + payloads[0], signature) &&
        !verify_signature(key, alg, protected_b64 + "." + payloads[1], signature)) {
      result.reason = "signature by key \"" + kid + "\" does not match the card";
      result.tampered = true;
      return result;
    }
    if (verified++ == 0) result.kid = kid;
  }
  if (verified == 0) {
    result.reason = "no signature is by a trusted key";
    return result;
  }
  result.verified = true;
  return result;
}

}  // namespace ruvector::a2a
