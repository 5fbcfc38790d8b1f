// SQL helpers behind a2a.register_agent and a2a.send: fetching and verifying a card, and
// checking a message. The plpgsql around them does the catalog work.
#include "extension/a2a/a2a.h"

#include <string>

#include "a2a/card_fetch.h"
#include "a2a/protocol.h"
#include "extension/boundary.h"
#include "util/json_parse.h"

extern "C" {
#include "utils/builtins.h"
#include "utils/jsonb.h"
}

namespace a2a_pg = ruvector::pg::a2a;
namespace core = ::ruvector::a2a;

namespace {

Datum text_to_jsonb(const std::string& json) {
  return DirectFunctionCall1(jsonb_in, CStringGetDatum(json.c_str()));
}

char* jsonb_arg_text(FunctionCallInfo fcinfo, int n) {
  Jsonb* j = PG_GETARG_JSONB_P(n);
  return JsonbToCString(nullptr, &j->root, VARSIZE(j));
}

}  // namespace

// a2a._fetch_card(base_url, jwks, require_signed) -> {card, rpc_url, protocol_version,
// streaming, signed_by, card_url}
RUVECTOR_FUNCTION(a2a_fetch_card) {
  char* url = text_to_cstring(PG_GETARG_TEXT_PP(0));
  char* jwks = jsonb_arg_text(fcinfo, 1);
  bool require = PG_GETARG_BOOL(2);
  const char* hosts = a2a_pg::allowed_hosts == nullptr ? "" : a2a_pg::allowed_hosts;
  long connect_ms = a2a_pg::connect_timeout_ms;
  uint64 max_bytes = static_cast<uint64>(a2a_pg::max_response_kb) * 1024;
  char* out = ruvector::pg::guard([&] {
    ruvector::http::Limits limits;
    limits.connect_timeout_ms = connect_ms;
    limits.total_timeout_ms = 30000;
    limits.max_bytes = max_bytes;
    core::KeySet keys = core::KeySet::from_jwks(ruvector::parse_json(jwks, "a2a.trusted_keys"));
    core::FetchedCard f =
        core::fetch_agent_card(url, ruvector::http::parse_host_list(hosts), limits, keys, require);
    nlohmann::json r{
        {"card", f.card},
        {"card_url", f.card_url},
        {"rpc_url", f.info.rpc_url},
        {"protocol_version", core::version_name(f.info.version)},
        {"streaming", f.info.streaming},
        {"signed_by", f.signed_by.empty() ? nlohmann::json() : nlohmann::json(f.signed_by)}};
    std::string text = r.dump();
    return ruvector::pg::pg_call([&] { return pstrdup(text.c_str()); });
  });
  PG_RETURN_DATUM(text_to_jsonb(out));
}

RUVECTOR_FUNCTION(a2a_normalize_message) {
  char* in = jsonb_arg_text(fcinfo, 0);
  char* out = ruvector::pg::guard([&] {
    std::string s = core::normalize_message(ruvector::parse_json(in, "A2A message")).dump();
    return ruvector::pg::pg_call([&] { return pstrdup(s.c_str()); });
  });
  PG_RETURN_DATUM(text_to_jsonb(out));
}
