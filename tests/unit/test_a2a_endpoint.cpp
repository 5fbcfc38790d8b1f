// The A2A endpoint's core: HTTP request parsing at every chunk boundary and its limits, the
// AgentCard, JSON-RPC answers and refusals through a fake Backend, and the HTTP server
// over real loopback sockets (a slow client does not hold a fast one; keep-alive).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "a2a/endpoint.h"
#include "a2a/http_server.h"

namespace ep = ruvector::a2a::endpoint;
using nlohmann::json;

namespace {

class FakeBackend : public ep::Backend {
 public:
  ep::AuthResult authenticate(const std::string& token) override {
    auth_calls++;
    ep::AuthResult r;
    if (token == "good") {
      r.status = ep::AuthResult::Status::kOk;
      r.role = "alice";
    }
    return r;
  }
  ep::SearchResult search(const std::string& role, const ep::SearchCall& call) override {
    last_role = role;
    last_call = call;
    ep::SearchResult r;
    if (call.collection == "secret") {
      r.sqlstate = "42501";
      r.message = "permission denied for rulake collection \"secret\"";
      return r;
    }
    r.ok = true;
    r.rows = {{"7", "0.25"}, {"3", "1.5e-05"}};
    return r;
  }
  int auth_calls = 0;
  std::string last_role;
  ep::SearchCall last_call;
};

ep::HttpRequest rpc(const std::string& body, const std::string& token = "good") {
  ep::HttpRequest r;
  r.method = "POST";
  r.target = "/";
  r.headers = {{"content-type", "application/json"}, {"a2a-version", "1.0"}};
  if (!token.empty()) r.headers.emplace_back("authorization", "Bearer " + token);
  r.body = body;
  return r;
}

std::string send_body(const json& data) {
  json m = {{"messageId", "m1"}, {"role", "ROLE_USER"}, {"parts", {{{"data", data}}}}};
  return json({{"jsonrpc", "2.0"},
               {"id", 5},
               {"method", "SendMessage"},
               {"params", {{"message", m}}}})
      .dump();
}

const ep::CardSettings kCard{"http://127.0.0.1:8432/", "0.5.0"};

}  // namespace

TEST(A2aEndpointHttp, ParsesARequestAtEveryChunkSize) {
  std::string wire =
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nA2A-Version:  1.0 \r\n\r\nhello"
      "GET /.well-known/agent-card.json HTTP/1.1\r\nConnection: close\r\n\r\n";
  for (std::size_t chunk = 1; chunk <= wire.size(); chunk++) {
    ep::RequestParser p({});
    std::vector<ep::HttpRequest> got;
    for (std::size_t i = 0; i < wire.size(); i += chunk) {
      auto s = p.feed(wire.data() + i, std::min(chunk, wire.size() - i));
      while (s == ep::RequestParser::State::kComplete) {
        got.push_back(p.take());
        s = p.feed(nullptr, 0);
      }
      ASSERT_NE(s, ep::RequestParser::State::kFailed);
    }
    ASSERT_EQ(got.size(), 2u) << chunk;
    EXPECT_EQ(got[0].body, "hello");
    EXPECT_EQ(*got[0].header("a2a-version"), "1.0");
    EXPECT_TRUE(got[0].keep_alive);
    EXPECT_EQ(got[1].target, "/.well-known/agent-card.json");
    EXPECT_FALSE(got[1].keep_alive);
  }
}

TEST(A2aEndpointHttp, AsksForTheBodyOnceWhenTheClientExpectsContinue) {
  ep::RequestParser p({});
  std::string head = "POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
  EXPECT_EQ(p.feed(head.data(), head.size()), ep::RequestParser::State::kIncomplete);
  EXPECT_TRUE(p.take_continue());
  EXPECT_FALSE(p.take_continue());
  EXPECT_EQ(p.feed("{}", 2), ep::RequestParser::State::kComplete);
  p.take();
  // Headers and body at once: nothing to ask for.
  std::string whole = head + "{}";
  EXPECT_EQ(p.feed(whole.data(), whole.size()), ep::RequestParser::State::kComplete);
  EXPECT_FALSE(p.take_continue());
}

TEST(A2aEndpointHttp, RefusesWhatItDoesNotServe) {
  ep::Limits limits;
  limits.max_body_bytes = 100;
  limits.max_header_bytes = 64;
  auto status_of = [&](const std::string& wire) {
    ep::RequestParser p(limits);
    auto s = p.feed(wire.data(), wire.size());
    return s == ep::RequestParser::State::kFailed ? p.failure().status : 0;
  };
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n"), 413);
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"), 411);
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\n\r\n"), 411);
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"), 400);
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"), 400);
  EXPECT_EQ(status_of("POST / HTTP/2\r\n\r\n"), 505);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nX: " + std::string(100, 'a')), 431);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\n folded: x\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: x\r\n"), 0);  // not complete yet
  ep::RequestParser p(limits);
  std::string big = "POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n";
  p.feed(big.data(), big.size());
  EXPECT_TRUE(p.failure().close);
  EXPECT_EQ(json::parse(p.failure().body)["error"]["data"][0]["reason"], "REQUEST_TOO_LARGE");
}

TEST(A2aEndpoint, ServesACardThatAdvertisesTheSkill) {
  FakeBackend b;
  ep::HttpRequest r;
  r.method = "GET";
  r.target = "/.well-known/agent-card.json";
  ep::HttpResponse res = ep::handle(r, b, kCard, {});
  ASSERT_EQ(res.status, 200);
  json card = json::parse(res.body);
  EXPECT_EQ(card["skills"][0]["id"], "rulake.search");
  EXPECT_EQ(card["supportedInterfaces"][0]["url"], kCard.url);
  EXPECT_EQ(card["supportedInterfaces"][0]["protocolVersion"], "1.0");
  EXPECT_EQ(card["securitySchemes"]["bearer"]["httpAuthSecurityScheme"]["scheme"], "Bearer");
  EXPECT_EQ(b.auth_calls, 0);  // the card is public
}

TEST(A2aEndpoint, CallsTheSkillAsTheTokensRole) {
  FakeBackend b;
  ep::HttpResponse res = ep::handle(
      rpc(send_body({{"collection", "docs"}, {"vector", {1, 0.5, -2}}, {"k", 2}})), b, kCard, {});
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(b.last_role, "alice");
  EXPECT_EQ(b.last_call.collection, "docs");
  EXPECT_EQ(b.last_call.query, "[1,0.5,-2]");
  EXPECT_EQ(b.last_call.k, 2);
  json answer = json::parse(res.body);
  EXPECT_EQ(answer["id"], 5);
  json part = answer["result"]["message"]["parts"][0];
  EXPECT_EQ(answer["result"]["message"]["role"], "ROLE_AGENT");
  EXPECT_EQ(part["mediaType"], "application/json");
  EXPECT_EQ(part["data"]["results"], json::parse(R"([{"id":"7","distance":"0.25"},
                                                     {"id":"3","distance":"1.5e-05"}])"));
  // A vector may come as ruvector's own text.
  ep::handle(rpc(send_body({{"collection", "docs"}, {"vector", "[1, 2]"}, {"k", 1}})), b, kCard,
             {});
  EXPECT_EQ(b.last_call.query, "[1, 2]");
}

TEST(A2aEndpoint, RefusesWithTheRightErrors) {
  FakeBackend b;
  auto error_of = [&](const ep::HttpRequest& r, int status = 200) {
    ep::HttpResponse res = ep::handle(r, b, kCard, {});
    EXPECT_EQ(res.status, status) << res.body;
    return json::parse(res.body)["error"];
  };
  std::string ok = send_body({{"collection", "docs"}, {"vector", {1}}, {"k", 1}});
  EXPECT_EQ(error_of(rpc(ok, ""), 401)["data"][0]["reason"], "UNAUTHENTICATED");
  EXPECT_EQ(error_of(rpc(ok, "bad"), 401)["data"][0]["reason"], "UNAUTHENTICATED");
  int searches_before = b.auth_calls;
  EXPECT_EQ(error_of(rpc("{not json", "bad"), 401)["code"], -32600);  // no parsing first
  EXPECT_EQ(b.auth_calls, searches_before + 1);
  EXPECT_EQ(error_of(rpc("{not json"))["code"], -32700);
  std::string deep = std::string(20, '[') + std::string(20, ']');
  EXPECT_EQ(error_of(rpc(deep))["data"][0]["reason"], "REQUEST_TOO_DEEP");
  EXPECT_EQ(error_of(rpc("[]"))["code"], -32600);
  ep::HttpRequest v03 = rpc(ok);
  v03.headers.erase(v03.headers.begin() + 1);
  EXPECT_EQ(error_of(v03)["code"], -32009);
  EXPECT_EQ(error_of(rpc(R"({"jsonrpc":"2.0","id":1,"method":"GetTask"})"))["code"], -32001);
  EXPECT_EQ(error_of(rpc(R"({"jsonrpc":"2.0","id":1,"method":"Nope"})"))["code"], -32601);
  for (const json& data :
       {json{{"collection", "docs"}, {"vector", {1}}, {"k", 0}},
        json{{"collection", "docs"}, {"vector", {1}}, {"k", 1001}},
        json{{"collection", "docs"}, {"vector", {1}}, {"k", 1.5}},
        json{{"collection", ""}, {"vector", {1}}, {"k", 1}},
        json{{"collection", "docs"}, {"vector", json::array()}, {"k", 1}},
        json{{"collection", "docs"}, {"vector", {"x"}}, {"k", 1}},
        json{{"collection", "docs"}, {"vector", {1}}, {"k", 1}, {"sql", "DROP TABLE x"}}}) {
    EXPECT_EQ(error_of(rpc(send_body(data)))["code"], -32602) << data;
  }
  json e = error_of(rpc(send_body({{"collection", "secret"}, {"vector", {1}}, {"k", 1}})));
  EXPECT_EQ(e["code"], -32603);
  EXPECT_EQ(e["data"][0]["reason"], "PERMISSION_DENIED");
  EXPECT_EQ(e["data"][0]["metadata"]["sqlstate"], "42501");
  EXPECT_EQ(ep::error_for_sqlstate("57014").reason, std::string("DEADLINE_EXCEEDED"));
}

namespace {

int connect_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  return fd;
}

std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0) out.append(buf, static_cast<std::size_t>(n));
  return out;
}

}  // namespace

TEST(A2aEndpointServer, ASlowClientDoesNotHoldAFastOne) {
  ruvector::a2a::ServerOptions o;
  o.port = 0;
  o.client_timeout_ms = 300;
  ruvector::a2a::HttpServer server(o);
  FakeBackend b;
  std::atomic<bool> stop{false};
  std::thread loop([&] {
    while (!stop) {
      server.poll_once(20, [&](const ep::HttpRequest& r) { return ep::handle(r, b, kCard, {}); });
    }
  });
  int slow = connect_to(server.port());
  std::string partial = "GET /.well-known/agent-card.json HTTP/1.1\r\nHo";
  ASSERT_EQ(::send(slow, partial.data(), partial.size(), 0), static_cast<ssize_t>(partial.size()));
  // Two requests on one kept-alive connection while the slow one waits.
  int fast = connect_to(server.port());
  std::string two =
      "GET /.well-known/agent-card.json HTTP/1.1\r\n\r\n"
      "GET /.well-known/agent-card.json HTTP/1.1\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(::send(fast, two.data(), two.size(), 0), static_cast<ssize_t>(two.size()));
  std::string answers = read_all(fast);
  EXPECT_EQ(answers.find("HTTP/1.1 200 OK"), 0u);
  EXPECT_NE(answers.find("HTTP/1.1 200 OK", 10), std::string::npos);
  EXPECT_NE(answers.find("Connection: close"), std::string::npos);
  // The slow one is cut off at its deadline, with 408.
  EXPECT_EQ(read_all(slow).rfind("HTTP/1.1 408", 0), 0u);
  // An oversized body is answered 413 before it is read, and the answer arrives whole.
  int big = connect_to(server.port());
  std::string head = "POST / HTTP/1.1\r\nContent-Length: 10000000\r\n\r\n" + std::string(1000, 'x');
  ::send(big, head.data(), head.size(), 0);
  EXPECT_EQ(read_all(big).rfind("HTTP/1.1 413", 0), 0u);
  stop = true;
  loop.join();
  // Once the clients are gone, nothing is left open.
  ::close(slow);
  ::close(fast);
  ::close(big);
  for (int i = 0; i < 50 && server.connections() > 0; i++) {
    server.poll_once(20, [&](const ep::HttpRequest& r) { return ep::handle(r, b, kCard, {}); });
  }
  EXPECT_EQ(server.connections(), 0u);
}
