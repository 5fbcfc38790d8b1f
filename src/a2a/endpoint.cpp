// See endpoint.h. The JSON-RPC shapes follow A2A v1.0 as the official SDK speaks it
// (tests/a2a/peer/WIRE.md): every JSON-RPC answer is HTTP 200, errors carry a
// google.rpc.ErrorInfo, and a SendMessage result is wrapped as {"message": ...}.
#include "a2a/endpoint.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <random>

#include <nlohmann/json.hpp>

#include "util/json_parse.h"

namespace ruvector::a2a::endpoint {

namespace {

using nlohmann::json;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string trim(const std::string& s) {
  std::size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return std::string();
  std::size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

const char* reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Error";
  }
}

// Errors A2A defines carry its domain; the ones of this endpoint carry ours.
json error_body(const json& id, int code, const std::string& message, const std::string& reason,
                const std::string& sqlstate = std::string()) {
  json info = {{"@type", "type.googleapis.com/google.rpc.ErrorInfo"},
               {"reason", reason},
               {"domain", code >= -32009 && code <= -32001 ? "a2a-protocol.org" : "ruvector"}};
  if (!sqlstate.empty()) info["metadata"] = {{"sqlstate", sqlstate}};
  return {{"jsonrpc", "2.0"},
          {"id", id},
          {"error", {{"code", code}, {"message", message}, {"data", json::array({info})}}}};
}

HttpResponse rpc_response(int status, const json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

HttpResponse rpc_error(const json& id, int code, const std::string& message,
                       const std::string& reason) {
  return rpc_response(200, error_body(id, code, message, reason));
}

std::string random_uuid() {
  std::random_device rd;
  unsigned char b[16];
  for (int i = 0; i < 16; i += 4) {
    unsigned int v = rd();
    for (int j = 0; j < 4; j++) b[i + j] = static_cast<unsigned char>(v >> (8 * j));
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  char out[37];
  std::snprintf(out, sizeof(out),
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return out;
}

// The skill's arguments from the message's data part. Returns an empty string when they
// are valid, else what is wrong (for -32602).
std::string parse_call(const json& params, const Limits& limits, SearchCall* call,
                       std::string* context_id) {
  if (!params.is_object()) return "params must be an object";
  auto m = params.find("message");
  if (m == params.end() || !m->is_object()) return "params.message must be an object";
  auto role = m->find("role");
  if (role != m->end() && *role != "ROLE_USER") return "params.message.role must be ROLE_USER";
  auto ctx = m->find("contextId");
  if (ctx != m->end() && ctx->is_string()) *context_id = ctx->get<std::string>();
  auto parts = m->find("parts");
  if (parts == m->end() || !parts->is_array() || parts->empty())
    return "params.message.parts must be a non-empty array";
  const json* data = nullptr;
  for (const json& p : *parts) {
    if (!p.is_object()) return "params.message.parts holds a part that is not an object";
    auto d = p.find("data");
    if (d == p.end()) continue;
    if (data != nullptr) return "the message holds more than one data part";
    data = &*d;
  }
  if (data == nullptr || !data->is_object())
    return "the message needs a data part {\"collection\", \"vector\", \"k\"} for skill " +
           std::string(kSkillId);
  for (const auto& [key, value] : data->items()) {
    if (key != "collection" && key != "vector" && key != "k")
      return "the data part has an unknown member \"" + key + "\"";
  }
  auto c = data->find("collection");
  if (c == data->end() || !c->is_string() || c->get<std::string>().empty())
    return "data.collection must be a non-empty string";
  call->collection = c->get<std::string>();
  auto k = data->find("k");
  if (k == data->end() || !k->is_number_integer()) return "data.k must be an integer";
  long long kv = k->get<long long>();
  if (kv < 1 || kv > limits.max_k)
    return "data.k must be between 1 and " + std::to_string(limits.max_k) + " (a2a.endpoint_max_k)";
  call->k = static_cast<int>(kv);
  auto v = data->find("vector");
  if (v != data->end() && v->is_string()) {
    call->query = v->get<std::string>();
  } else if (v != data->end() && v->is_array() && !v->empty()) {
    std::string text = "[";
    for (const json& x : *v) {
      if (!x.is_number() || !std::isfinite(x.get<double>()))
        return "data.vector must hold finite numbers only";
      if (text.size() > 1) text += ',';
      text += x.dump();
    }
    call->query = text + "]";
  } else {
    return "data.vector must be a non-empty array of numbers or a vector's text";
  }
  return std::string();
}

json answer_message(const SearchCall& call, const SearchResult& result,
                    const std::string& context_id) {
  json rows = json::array();
  for (const SearchRow& r : result.rows) rows.push_back({{"id", r.id}, {"distance", r.distance}});
  json data = {{"skill", kSkillId},
               {"collection", call.collection},
               {"k", call.k},
               {"results", std::move(rows)}};
  return {{"messageId", random_uuid()},
          {"contextId", context_id.empty() ? random_uuid() : context_id},
          {"role", "ROLE_AGENT"},
          {"parts", json::array({{{"data", std::move(data)}, {"mediaType", "application/json"}}})}};
}

HttpResponse unauthorized(const std::string& why) {
  HttpResponse r =
      rpc_response(401, error_body(nullptr, -32600, "unauthenticated: " + why, "UNAUTHENTICATED"));
  r.extra_headers.push_back("WWW-Authenticate: Bearer realm=\"ruvector\"");
  return r;
}

HttpResponse send_message(const json& id, const json& params, Backend& backend,
                          const std::string& role, const Limits& limits) {
  SearchCall call;
  std::string context_id;
  std::string problem = parse_call(params, limits, &call, &context_id);
  if (!problem.empty()) return rpc_error(id, -32602, problem, "INVALID_ARGUMENT");
  SearchResult result = backend.search(role, call);
  if (!result.ok) {
    RpcError e = error_for_sqlstate(result.sqlstate);
    return rpc_response(200, error_body(id, e.code, result.message, e.reason, result.sqlstate));
  }
  return rpc_response(200, {{"jsonrpc", "2.0"},
                            {"id", id},
                            {"result", {{"message", answer_message(call, result, context_id)}}}});
}

HttpResponse json_rpc(const HttpRequest& request, Backend& backend, const Limits& limits) {
  const std::string* auth = request.header("authorization");
  std::string token;
  if (auth != nullptr && auth->size() > 7 && lower(auth->substr(0, 7)) == "bearer ")
    token = trim(auth->substr(7));
  if (token.empty()) return unauthorized("send Authorization: Bearer <token>");
  if (token.size() > 256) return unauthorized("the token is not valid");
  AuthResult who = backend.authenticate(token);
  if (who.status == AuthResult::Status::kUnavailable)
    return rpc_response(503, error_body(nullptr, -32603, who.message, "UNAVAILABLE"));
  if (who.status != AuthResult::Status::kOk)
    return unauthorized("the token is not valid, has expired or was revoked");

  const std::string* type = request.header("content-type");
  if (type != nullptr && lower(trim(*type)).rfind("application/json", 0) != 0)
    return rpc_error(nullptr, -32005, "Content-Type must be application/json",
                     "CONTENT_TYPE_NOT_SUPPORTED");
  json body;
  try {
    body = parse_json(request.body, "the request",
                      {limits.max_json_depth, NulStrings::kRefuse, DuplicateKeys::kRefuse});
  } catch (const JsonError& e) {
    if (e.kind() == ErrorKind::kProgramLimit)
      return rpc_error(nullptr, -32600, e.what(), "REQUEST_TOO_DEEP");
    return rpc_error(nullptr, -32700, e.what(), "PARSE_ERROR");
  }
  if (!body.is_object())
    return rpc_error(nullptr, -32600, "the request must be one JSON-RPC object (no batches)",
                     "INVALID_REQUEST");
  json id = body.contains("id") ? body["id"] : json(nullptr);
  if (!id.is_null() && !id.is_string() && !id.is_number_integer())
    return rpc_error(nullptr, -32600, "id must be a string or an integer", "INVALID_REQUEST");
  auto method = body.find("method");
  if (body.value("jsonrpc", json()) != "2.0" || method == body.end() || !method->is_string())
    return rpc_error(id, -32600, "not a JSON-RPC 2.0 request", "INVALID_REQUEST");
  const std::string* version = request.header("a2a-version");
  if (version == nullptr || trim(*version) != "1.0")
    return rpc_error(id, -32009, "this agent speaks A2A 1.0 only: send the header A2A-Version: 1.0",
                     "VERSION_NOT_SUPPORTED");
  const std::string& name = method->get_ref<const std::string&>();
  if (name == "SendMessage") {
    return send_message(id, body.value("params", json()), backend, who.role, limits);
  }
  if (name == "SendStreamingMessage" || name == "SubscribeToTask")
    return rpc_error(id, -32004, "Streaming is not supported.", "UNSUPPORTED_OPERATION");
  if (name == "GetTask" || name == "CancelTask")
    return rpc_error(id, -32001, "Task not found: this agent answers with messages, not tasks",
                     "TASK_NOT_FOUND");
  return rpc_error(id, -32601, "Method not found: " + name, "METHOD_NOT_FOUND");
}

}  // namespace

const std::string* HttpRequest::header(const std::string& name) const {
  for (const auto& [n, v] : headers) {
    if (n == name) return &v;
  }
  return nullptr;
}

std::string serialize(const HttpResponse& response, bool keep_alive) {
  std::string out =
      "HTTP/1.1 " + std::to_string(response.status) + " " + reason_phrase(response.status) + "\r\n";
  out += "Content-Type: " + response.content_type + "\r\n";
  out += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
  out += "Cache-Control: no-store\r\n";
  out += keep_alive && !response.close ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
  for (const std::string& h : response.extra_headers) out += h + "\r\n";
  out += "\r\n";
  out += response.body;
  return out;
}

RequestParser::State RequestParser::fail(int status, const std::string& message) {
  failure_ = rpc_response(status, error_body(nullptr, -32600, message,
                                             status == 413   ? "REQUEST_TOO_LARGE"
                                             : status == 431 ? "HEADERS_TOO_LARGE"
                                                             : "BAD_HTTP_REQUEST"));
  failure_.close = true;
  state_ = State::kFailed;
  buffer_.clear();
  return state_;
}

RequestParser::State RequestParser::feed(const char* data, std::size_t size) {
  if (state_ == State::kFailed) return state_;
  if (size > 0) buffer_.append(data, size);
  if (state_ == State::kComplete) return state_;
  return parse();
}

bool RequestParser::take_continue() {
  bool pending = continue_pending_ && headers_done_ && state_ == State::kIncomplete &&
                 buffer_.size() < body_length_;
  continue_pending_ = false;
  return pending;
}

HttpRequest RequestParser::take() {
  HttpRequest r = std::move(request_);
  request_ = HttpRequest();
  headers_done_ = false;
  continue_pending_ = false;
  body_length_ = 0;
  state_ = State::kIncomplete;
  return r;
}

RequestParser::State RequestParser::parse() {
  if (!headers_done_) {
    std::size_t end = buffer_.find("\r\n\r\n");
    if (end == std::string::npos || end > limits_.max_header_bytes) {
      if (buffer_.size() > limits_.max_header_bytes || end != std::string::npos)
        return fail(431, "the request headers are larger than " +
                             std::to_string(limits_.max_header_bytes) + " bytes");
      return State::kIncomplete;
    }
    std::string head = buffer_.substr(0, end);
    buffer_.erase(0, end + 4);
    std::size_t line_end = head.find("\r\n");
    std::string line = head.substr(0, line_end);
    std::size_t s1 = line.find(' ');
    std::size_t s2 = s1 == std::string::npos ? s1 : line.find(' ', s1 + 1);
    if (s2 == std::string::npos || line.find(' ', s2 + 1) != std::string::npos)
      return fail(400, "malformed request line");
    request_.method = line.substr(0, s1);
    request_.target = line.substr(s1 + 1, s2 - s1 - 1);
    std::string version = line.substr(s2 + 1);
    if (version != "HTTP/1.1" && version != "HTTP/1.0")
      return fail(505, "only HTTP/1.1 and HTTP/1.0 are served");
    request_.keep_alive = version == "HTTP/1.1";
    std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    bool have_length = false;
    while (pos < head.size()) {
      std::size_t e = head.find("\r\n", pos);
      if (e == std::string::npos) e = head.size();
      std::string h = head.substr(pos, e - pos);
      pos = e + 2;
      std::size_t colon = h.find(':');
      if (colon == 0 || colon == std::string::npos || h[0] == ' ' || h[0] == '\t' ||
          h.find_first_of(" \t") < colon)
        return fail(400, "malformed header line");
      std::string name = lower(h.substr(0, colon));
      std::string value = trim(h.substr(colon + 1));
      if (name == "transfer-encoding")
        return fail(411, "only bodies with a Content-Length are accepted");
      if (name == "content-length") {
        if (value.empty() || value.size() > 18 ||
            value.find_first_not_of("0123456789") != std::string::npos)
          return fail(400, "malformed Content-Length");
        std::size_t n = std::stoull(value);
        if (have_length && n != body_length_) return fail(400, "conflicting Content-Length");
        have_length = true;
        body_length_ = n;
      }
      if (name == "expect" && lower(value) == "100-continue") continue_pending_ = true;
      if (name == "connection") {
        std::string v = lower(value);
        if (v.find("close") != std::string::npos) request_.keep_alive = false;
        if (v.find("keep-alive") != std::string::npos) request_.keep_alive = true;
      }
      request_.headers.emplace_back(std::move(name), std::move(value));
    }
    if (body_length_ > limits_.max_body_bytes)
      return fail(413, "the request body is larger than " + std::to_string(limits_.max_body_bytes) +
                           " bytes (a2a.endpoint_max_request_size)");
    if (!have_length && request_.method == "POST")
      return fail(411, "a POST needs a Content-Length");
    headers_done_ = true;
  }
  if (buffer_.size() < body_length_) return State::kIncomplete;
  request_.body = buffer_.substr(0, body_length_);
  buffer_.erase(0, body_length_);
  state_ = State::kComplete;
  return state_;
}

std::string agent_card(const CardSettings& card) {
  json skill = {
      {"id", kSkillId},
      {"name", "ruLake search"},
      {"description",
       "The k nearest rows of a ruLake collection to a vector, as rulake.search answers in "
       "SQL, with the privileges of the token's role. Send one data part "
       "{\"collection\": name, \"vector\": [numbers], \"k\": n}; the answer is one data part "
       "{\"results\": [{\"id\", \"distance\"}]} with both as Postgres prints them."},
      {"tags", {"vector-search", "rulake", "ruvector"}},
      {"examples", {R"({"collection": "docs", "vector": [0.1, 0.2, 0.3], "k": 10})"}},
      {"inputModes", {"application/json"}},
      {"outputModes", {"application/json"}}};
  json c = {
      {"name", "ruvector"},
      {"description", "A PostgreSQL database's own skills over A2A (ruvector)."},
      {"supportedInterfaces",
       json::array(
           {{{"url", card.url}, {"protocolBinding", "JSONRPC"}, {"protocolVersion", "1.0"}}})},
      {"version", card.version},
      {"capabilities",
       {{"streaming", false}, {"pushNotifications", false}, {"extendedAgentCard", false}}},
      {"securitySchemes",
       {{"bearer",
         {{"httpAuthSecurityScheme",
           {{"scheme", "Bearer"},
            {"description", "a token from a2a.create_endpoint_token, for one database role"}}}}}}},
      {"securityRequirements",
       json::array({{{"schemes", {{"bearer", {{"list", json::array()}}}}}}})},
      {"defaultInputModes", {"application/json"}},
      {"defaultOutputModes", {"application/json"}},
      {"skills", json::array({skill})}};
  return c.dump();
}

HttpResponse handle(const HttpRequest& request, Backend& backend, const CardSettings& card,
                    const Limits& limits) {
  std::string path = request.target.substr(0, request.target.find('?'));
  if (path == kCardPath || path == "/.well-known/agent.json") {
    if (request.method != "GET") {
      HttpResponse r = rpc_error(nullptr, -32600, "the AgentCard is read with GET", "BAD_METHOD");
      r.status = 405;
      r.extra_headers.push_back("Allow: GET");
      return r;
    }
    HttpResponse r;
    r.body = agent_card(card);
    return r;
  }
  if (path != "/") {
    HttpResponse r =
        rpc_error(nullptr, -32600,
                  "not found: the AgentCard is at " + std::string(kCardPath) + ", JSON-RPC at /",
                  "NOT_FOUND");
    r.status = 404;
    return r;
  }
  if (request.method != "POST") {
    HttpResponse r = rpc_error(nullptr, -32600, "JSON-RPC requests are POSTed", "BAD_METHOD");
    r.status = 405;
    r.extra_headers.push_back("Allow: POST");
    return r;
  }
  return json_rpc(request, backend, limits);
}

RpcError error_for_sqlstate(const std::string& sqlstate) {
  if (sqlstate == "42501") return {-32603, "PERMISSION_DENIED"};
  if (sqlstate == "57014") return {-32603, "DEADLINE_EXCEEDED"};
  if (sqlstate == "42704" || sqlstate == "42P01") return {-32602, "NOT_FOUND"};
  if (sqlstate.rfind("22", 0) == 0) return {-32602, "INVALID_ARGUMENT"};
  if (sqlstate.rfind("53", 0) == 0 || sqlstate.rfind("54", 0) == 0)
    return {-32603, "RESOURCE_EXHAUSTED"};
  return {-32603, "INTERNAL"};
}

}  // namespace ruvector::a2a::endpoint
