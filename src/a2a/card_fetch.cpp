// See card_fetch.h.
#include "a2a/card_fetch.h"

#include "util/error.h"
#include "util/json_parse.h"

namespace ruvector::a2a {

namespace {

// The body of a GET, or nothing on 404; anything else but 200 throws.
bool get(const std::string& url, const http::Limits& limits, std::string* body) {
  http::Transfer t(url, limits, [body](const char* data, std::size_t n) {
    body->append(data, n);
    return true;
  });
  t.add_header("Accept: application/json");
  // The SDK serves the v1.0 card (the one its signature covers) only to v1.0 clients.
  t.add_header(version_header(Version::kV1));
  http::Outcome out = t.perform();
  if (out.headers_over_limit)
    fail(ErrorKind::kProgramLimit, http::headers_over_limit_message(url, limits));
  if (out.over_limit)
    fail(ErrorKind::kProgramLimit,
         "the AgentCard at \"" + url + "\" is larger than " + std::to_string(limits.max_bytes) +
             " bytes",
         "a2a.max_response_size sets the limit.");
  if (!out.error.empty()) fail(ErrorKind::kIo, "could not fetch \"" + url + "\": " + out.error);
  if (out.status == 404) return false;
  if (out.status != 200) {
    std::string why = "HTTP status " + std::to_string(out.status);
    if (!out.redirect.empty()) why += " redirecting to \"" + out.redirect + "\" (not followed)";
    fail(ErrorKind::kIo, "could not fetch \"" + url + "\": " + why);
  }
  return true;
}

}  // namespace

FetchedCard check_agent_card(std::string_view body, const std::string& card_url,
                             const std::vector<std::string>& allowed, const KeySet& keys,
                             bool require_signed) {
  FetchedCard f;
  f.card_url = card_url;
  f.card = parse_json(body, "the AgentCard at \"" + card_url + "\"", kJsonbBounds);
  if (!f.card.is_object())
    fail(ErrorKind::kDataException, "the AgentCard at \"" + f.card_url + "\" is not a JSON object");

  CardVerification v = verify_agent_card(f.card, keys);
  if (v.tampered)
    fail(ErrorKind::kIntegrity,
         "the AgentCard at \"" + f.card_url + "\" fails verification: " + v.reason);
  if (!v.verified && require_signed)
    fail(ErrorKind::kIntegrity,
         "the AgentCard at \"" + f.card_url + "\" has no trusted signature: " + v.reason,
         "Add the agent's public key to a2a.trusted_keys, or register with "
         "'{\"require_signed\": false}'.");
  f.signed_by = v.verified ? v.kid : std::string();
  const std::string legacy = "/.well-known/agent.json";
  bool legacy_name = card_url.size() >= legacy.size() &&
                     card_url.compare(card_url.size() - legacy.size(), legacy.size(), legacy) == 0;
  f.info = read_card(f.card, legacy_name ? CardSource::kAgentJson : CardSource::kAgentCardJson);
  // The endpoint must be reachable under the same rules as the card.
  http::UrlCheck rpc = http::check_url(f.info.rpc_url, allowed, http::QueryPart::kAllowed);
  if (rpc.problem == http::UrlProblem::kHostNotAllowed)
    fail(ErrorKind::kInvalidParameter, "the AgentCard names endpoint host \"" + rpc.host +
                                           "\", which is not in a2a.allowed_hosts");
  return f;
}

FetchedCard fetch_agent_card(const std::string& base_url, const std::vector<std::string>& allowed,
                             const http::Limits& limits, const KeySet& keys, bool require_signed) {
  http::UrlCheck check = http::check_url(base_url, allowed, http::QueryPart::kRefused);
  switch (check.problem) {
    case http::UrlProblem::kNone:
      break;
    case http::UrlProblem::kHostNotAllowed:
      fail(ErrorKind::kInvalidParameter, "host \"" + check.host + "\" is not in a2a.allowed_hosts",
           "A superuser adds it with ALTER SYSTEM SET a2a.allowed_hosts.");
    default:
      fail(ErrorKind::kInvalidParameter,
           "\"" + base_url + "\" is not an http(s) base URL without query or fragment");
  }
  std::string base = base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();

  std::string body;
  std::string card_url = base + "/.well-known/agent-card.json";
  if (!get(card_url, limits, &body)) {
    card_url = base + "/.well-known/agent.json";
    body.clear();
    if (!get(card_url, limits, &body))
      fail(ErrorKind::kIo, "no AgentCard at \"" + base + "/.well-known/agent-card.json\"",
           "Neither agent-card.json nor the older agent.json exists (HTTP 404).");
  }
  return check_agent_card(body, card_url, allowed, keys, require_signed);
}

}  // namespace ruvector::a2a
