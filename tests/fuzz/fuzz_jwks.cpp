// The trusted keys (a JWKS document from a2a.trusted_keys) as a2a._fetch_card reads them.
#include "a2a/jws.h"
#include "a2a_sdk_card.h"
#include "fuzz.h"
#include "util/json_parse.h"

namespace {

std::vector<std::string> seeds() {
  return {a2a_fixture::kJwks,
          R"({"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "ed",
                        "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]})",
          R"({"keys": []})"};
}

void run(const std::string& input, fuzz::Rng&) {
  ruvector::a2a::KeySet::from_jwks(ruvector::parse_json(input, "a2a.trusted_keys"));
}

const bool registered = fuzz::register_driver({"jwks", seeds, nullptr, run, nullptr});

}  // namespace
