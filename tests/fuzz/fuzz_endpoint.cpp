// HTTP requests as the A2A endpoint reads them from a client: bytes in random chunks into
// the request parser, each complete request answered by endpoint::handle with a backend
// that knows one token. Mutations damage the framing (request line, headers, lengths) or
// put a hostile JSON-RPC body behind a valid token. Nothing may throw, and every answer
// must be JSON with a status the endpoint documents.
#include <set>

#include "a2a/endpoint.h"
#include "fuzz.h"

namespace {

namespace ep = ruvector::a2a::endpoint;
using nlohmann::json;

const char* const kBody =
    R"({"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"m","role":"ROLE_USER","parts":[{"data":{"collection":"docs","vector":[1,2],"k":3}}]}}})";

std::string post(const std::string& body) {
  return "POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\nA2A-Version: 1.0\r\n"
         "Content-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::vector<std::string> seeds() {
  return {post(kBody), "GET /.well-known/agent-card.json HTTP/1.1\r\nHost: x\r\n\r\n" + post(kBody),
          "POST / HTTP/1.0\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n{}"};
}

std::string mutate(const std::vector<std::string>& s, fuzz::Rng& rng) {
  if (rng.chance(50)) {
    std::string request = post(fuzz::mutate_json(json::parse(kBody), rng));
    return rng.chance(20) ? fuzz::mutate_bytes(request, rng) : request;
  }
  return fuzz::mutate_bytes(s[rng.below(s.size())], rng);
}

class Backend : public ep::Backend {
 public:
  ep::AuthResult authenticate(const std::string& token) override {
    ep::AuthResult r;
    if (token == "t") {
      r.status = ep::AuthResult::Status::kOk;
      r.role = "r";
    }
    return r;
  }
  ep::SearchResult search(const std::string&, const ep::SearchCall& call) override {
    ep::SearchResult r;
    r.ok = call.k % 2 == 1;
    if (r.ok) r.rows = {{"1", "0.5"}};
    r.sqlstate = "42501";
    r.message = "denied";
    return r;
  }
};

void check(const ep::HttpResponse& r) {
  static const std::set<int> kStatuses = {200, 400, 401, 404, 405, 411, 413, 431, 503, 505};
  if (kStatuses.count(r.status) == 0) throw std::logic_error("undocumented status");
  // Throws (an undocumented exception) when it is not JSON.
  if (json::parse(r.body).is_discarded()) throw std::logic_error("discarded");
}

void run(const std::string& input, fuzz::Rng& rng) {
  ep::Limits limits;
  limits.max_body_bytes = 4096;
  limits.max_header_bytes = 1024;
  ep::RequestParser parser(limits);
  Backend backend;
  ep::CardSettings card{"http://127.0.0.1:1/", "0.5.0"};
  for (std::size_t at = 0; at < input.size();) {
    std::size_t n = std::min(input.size() - at, 1 + rng.below(rng.chance(50) ? 8 : 4096));
    auto state = parser.feed(input.data() + at, n);
    at += n;
    while (state == ep::RequestParser::State::kComplete) {
      check(ep::handle(parser.take(), backend, card, limits));
      state = parser.feed(nullptr, 0);
    }
    if (state == ep::RequestParser::State::kFailed) {
      check(parser.failure());
      return;
    }
  }
}

bool documented(const std::exception&) { return false; }

const bool registered = fuzz::register_driver({"endpoint", seeds, mutate, run, documented});

}  // namespace
