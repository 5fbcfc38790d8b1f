// Fetching and checking an AgentCard: GET <base>/.well-known/agent-card.json (or the v0.3
// name agent.json when that is missing), within the allowed hosts and size limit, then
// signatures against trusted keys, then the card's shape.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "a2a/jws.h"
#include "a2a/protocol.h"
#include "util/http.h"

namespace ruvector::a2a {

struct FetchedCard {
  nlohmann::json card;
  CardInfo info;
  std::string signed_by;  // kid of a trusted key that verified it; empty if none
  std::string card_url;
};

// What fetch_agent_card does with the body it fetched from `card_url`: parse (bounded, see
// util/json_parse.h; a NUL is refused, as jsonb cannot store it), verify, read. Throws as
// fetch_agent_card does.
FetchedCard check_agent_card(std::string_view body, const std::string& card_url,
                             const std::vector<std::string>& allowed_hosts, const KeySet& keys,
                             bool require_signed);

// Throws Error: kInvalidParameter for a refused URL or host, kIo for the transfer,
// kDataException for a card that is not JSON or not valid, kProgramLimit for one nested
// deeper than kMaxJsonDepth, kIntegrity for a signature that fails (always) or a card
// without a trusted signature (when require_signed).
FetchedCard fetch_agent_card(const std::string& base_url,
                             const std::vector<std::string>& allowed_hosts,
                             const http::Limits& limits, const KeySet& keys, bool require_signed);

}  // namespace ruvector::a2a
