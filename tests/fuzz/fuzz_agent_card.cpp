// The AgentCard reader as register_agent runs it on a fetched body: bounded parse, signature
// verification against a trusted key (the SDK-signed card verifies), the card's shape; then
// the JSON that goes back to SQL. Some cases replace the JWS protected header with a
// mutated one, so its parse is fuzzed as well.
#include "a2a/base64url.h"
#include "a2a/card_fetch.h"
#include "a2a_sdk_card.h"
#include "fuzz.h"
#include "util/json_parse.h"

namespace {

namespace a2a = ruvector::a2a;
using nlohmann::json;

std::vector<std::string> seeds() {
  return {a2a_fixture::kCard, a2a_fixture::kTampered,
          R"({"name": "v03", "url": "http://127.0.0.1:4000/a2a", "protocolVersion": "0.3.0",
              "capabilities": {"streaming": true},
              "additionalInterfaces": [{"url": "http://127.0.0.1:4001/a2a", "transport": "JSONRPC"}],
              "signatures": [{"protected": "eyJhbGciOiJFZERTQSIsImtpZCI6Im90aGVyIn0",
                              "signature": "AA"}]})"};
}

std::string mutate(const std::vector<std::string>& s, fuzz::Rng& rng) {
  const std::string& seed = s[rng.below(s.size())];
  if (rng.chance(15)) {
    json card = json::parse(seed);
    json header = {{"alg", "ES256"}, {"kid", "ruvector-test-es256"}, {"typ", "JOSE"}};
    card["signatures"][0]["protected"] = a2a::base64url_encode(fuzz::mutate_json(header, rng));
    return card.dump();
  }
  return rng.chance(80) ? fuzz::mutate_json(json::parse(seed), rng) : fuzz::mutate_bytes(seed, rng);
}

void run(const std::string& input, fuzz::Rng& rng) {
  static const a2a::KeySet keys =
      a2a::KeySet::from_jwks(ruvector::parse_json(a2a_fixture::kJwks, "JWKS"));
  a2a::FetchedCard f = a2a::check_agent_card(input, "http://127.0.0.1:4000/card", {"127.0.0.1"},
                                             keys, rng.chance(50));
  // What a2a._fetch_card returns to SQL.
  json{{"card", f.card}, {"rpc_url", f.info.rpc_url}, {"signed_by", f.signed_by}}.dump();
}

const bool registered = fuzz::register_driver({"agent_card", seeds, mutate, run, nullptr});

}  // namespace
