// The database's own A2A endpoint (docs/a2a.md, "The A2A endpoint"): HTTP/1.1 requests
// parsed within fixed bounds, the AgentCard that advertises rulake.search, and A2A v1.0
// JSON-RPC answered through a Backend that the extension implements with Postgres (token
// lookup, the search as the token's role). Nothing here touches sockets or Postgres, so
// every answer, refusal and limit is unit-tested (tests/unit/test_a2a_endpoint.cpp).
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace ruvector::a2a::endpoint {

struct Limits {
  std::size_t max_header_bytes = 16 * 1024;  // request line and headers together
  std::size_t max_body_bytes = 64 * 1024;
  int max_json_depth = 8;  // a SendMessage with a data part nests 5 levels
  int max_k = 1000;
};

struct HttpRequest {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;
  bool keep_alive = true;

  // The first header of that (lower-case) name, or nullptr.
  const std::string* header(const std::string& name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::string> extra_headers;  // "Name: value"
  bool close = false;                      // close the connection after it
};

// The bytes of a response on the wire, with Content-Length and Connection.
std::string serialize(const HttpResponse& response, bool keep_alive);

// Reads one request at a time from the bytes a connection delivers: Content-Length bodies
// only, refused before they are read when over the limit. Bytes after a complete request
// stay for the next one (take() then feed nothing).
class RequestParser {
 public:
  enum class State { kIncomplete, kComplete, kFailed };

  explicit RequestParser(const Limits& limits) : limits_(limits) {}
  State feed(const char* data, std::size_t size);
  // The request once kComplete; the parser then starts on the next one.
  HttpRequest take();
  // Once kFailed: the response to send before closing.
  const HttpResponse& failure() const { return failure_; }
  bool has_partial_request() const { return !buffer_.empty() || headers_done_; }
  // True once per request whose headers asked "Expect: 100-continue" and were accepted,
  // while its body has yet to arrive: the server then sends "100 Continue" (curl waits a
  // second for it when it asks).
  bool take_continue();
  void set_limits(const Limits& limits) { limits_ = limits; }

 private:
  State parse();
  State fail(int status, const std::string& message);

  Limits limits_;
  std::string buffer_;
  bool headers_done_ = false;
  bool continue_pending_ = false;
  std::size_t body_length_ = 0;
  HttpRequest request_;
  HttpResponse failure_;
  State state_ = State::kIncomplete;
};

// One call of the rulake.search skill, validated.
struct SearchCall {
  std::string collection;
  std::string query;  // the vector in ruvector's text form, "[1,2,3]"
  int k = 0;
};

struct SearchRow {
  std::string id;        // as Postgres prints it
  std::string distance;  // as Postgres prints it (real): exact and comparable as text
};

struct AuthResult {
  enum class Status { kOk, kDenied, kUnavailable } status = Status::kDenied;
  std::string role;     // kOk: the role the token stands for
  std::string message;  // kUnavailable: why
};

struct SearchResult {
  bool ok = false;
  std::vector<SearchRow> rows;
  std::string sqlstate;  // five characters when !ok
  std::string message;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual AuthResult authenticate(const std::string& token) = 0;
  virtual SearchResult search(const std::string& role, const SearchCall& call) = 0;
};

struct CardSettings {
  std::string url;      // where the JSON-RPC endpoint is reached: the card's interface URL
  std::string version;  // ruvector's version
};

inline constexpr const char* kCardPath = "/.well-known/agent-card.json";
inline constexpr const char* kSkillId = "rulake.search";

std::string agent_card(const CardSettings& card);

// Answers one request. `backend` is called only for an authenticated SendMessage (and
// authenticate() for every JSON-RPC request, before its body is parsed).
HttpResponse handle(const HttpRequest& request, Backend& backend, const CardSettings& card,
                    const Limits& limits);

// A JSON-RPC error's code for a failed search's SQLSTATE: -32602 (invalid params) for bad
// input or a missing collection, -32603 otherwise; reason names the class for ErrorInfo.
struct RpcError {
  int code;
  const char* reason;
};
RpcError error_for_sqlstate(const std::string& sqlstate);

}  // namespace ruvector::a2a::endpoint
