// The dispatcher against a scripted HTTP server: streams split into tiny chunks, streams
// that end early (followed with GetTask), polling that records only changes, transient and
// final failures, the host allow-list and the per-task event cap. Runs under ASan too.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "a2a/dispatcher.h"
#include "loopback_listener.h"

namespace ruvector::a2a {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// Answers the n-th request with the n-th scripted response (written a few bytes at a time
// when `trickle`), records each request body, one connection at a time.
class ScriptServer {
 public:
  ScriptServer(std::vector<std::string> answers, bool trickle)
      : answers_(std::move(answers)), trickle_(trickle) {
    fd_ = test_util::listen_loopback(&port_);
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/rpc"; }
  std::vector<json> requests() {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }

 private:
  void serve() {
    for (std::size_t i = 0;; i++) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string req;
      char buf[4096];
      std::size_t body_at = std::string::npos, want = 0;
      while (body_at == std::string::npos || req.size() < body_at + want) {
        ssize_t n = ::recv(c, buf, sizeof(buf), 0);
        if (n <= 0) break;
        req.append(buf, n);
        if (body_at == std::string::npos && (body_at = req.find("\r\n\r\n")) != std::string::npos) {
          body_at += 4;
          auto cl = req.find("Content-Length: ");
          want = cl == std::string::npos ? 0 : std::stoul(req.substr(cl + 16));
        }
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        requests_.push_back(json::parse(req.substr(body_at), nullptr, false));
      }
      std::string answer = i < answers_.size() ? answers_[i] : http(500, "no more script");
      std::size_t step = trickle_ ? 7 : answer.size();
      for (std::size_t at = 0; at < answer.size(); at += step) {
        ::send(c, answer.data() + at, std::min(step, answer.size() - at), MSG_NOSIGNAL);
        if (trickle_) std::this_thread::sleep_for(1ms);
      }
      ::close(c);
    }
  }

 public:
  static std::string http(int status, const std::string& body,
                          const std::string& type = "application/json") {
    return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: " + type +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
           body;
  }
  static std::string sse(const std::vector<json>& results) {
    std::string body;
    for (const json& r : results)
      body += "data: " + json{{"jsonrpc", "2.0"}, {"id", 1}, {"result", r}}.dump() + "\n\n";
    return "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n" + body;
  }
  static std::string result(const json& r) {
    return http(200, json{{"jsonrpc", "2.0"}, {"id", 1}, {"result", r}}.dump());
  }

 private:
  std::vector<std::string> answers_;
  bool trickle_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<json> requests_;
};

json task(const std::string& state, int artifacts = 0) {
  json t = {{"id", "T"}, {"contextId", "C"}, {"status", {{"state", state}}}};
  for (int i = 0; i < artifacts; i++) t["artifacts"].push_back({{"artifactId", std::to_string(i)}});
  return t;
}
json status(const std::string& state) {
  return {{"statusUpdate", {{"taskId", "T"}, {"status", {{"state", state}}}}}};
}

DispatcherOptions options() {
  DispatcherOptions o;
  o.allowed_hosts = {"127.0.0.1"};
  o.poll_interval = 20ms;
  o.limits.connect_timeout_ms = 2000;
  o.limits.total_timeout_ms = 5000;
  return o;
}

TaskSpec spec(const std::string& url, bool streaming) {
  TaskSpec s;
  s.id = "ours-1";
  s.rpc_url = url;
  s.streaming = streaming;
  s.message = normalize_message("hi");
  return s;
}

// Pumps until the task is no longer active (or 10 s pass); returns every event.
std::vector<Event> run(Dispatcher& d, const std::string& id) {
  std::vector<Event> all;
  auto until = std::chrono::steady_clock::now() + 10s;
  while (d.active(id) && std::chrono::steady_clock::now() < until) {
    for (Event& e : d.pump(50ms)) all.push_back(std::move(e));
  }
  return all;
}

std::vector<std::string> states(const std::vector<Event>& events) {
  std::vector<std::string> out;
  for (const Event& e : events) {
    if (e.type == Event::Type::kUpdate)
      out.push_back(std::string(kind_name(e.update.kind)) + ":" + state_name(e.update.state));
    else
      out.push_back(e.type == Event::Type::kFailed ? "failed" : "retry");
  }
  return out;
}

TEST(A2aDispatcher, StreamInTinyChunksRecordsEveryEvent) {
  ScriptServer server(
      {ScriptServer::sse(
          {{{"task", task("TASK_STATE_SUBMITTED")}},
           status("TASK_STATE_WORKING"),
           {{"artifactUpdate", {{"taskId", "T"}, {"artifact", {{"artifactId", "a"}}}}}},
           status("TASK_STATE_COMPLETED")})},
      /*trickle=*/true);
  Dispatcher d(options());
  d.start(spec(server.url(), true));
  auto events = run(d, "ours-1");
  EXPECT_EQ(states(events),
            (std::vector<std::string>{"task:submitted", "status-update:working",
                                      "artifact-update:unknown", "status-update:completed"}));
  auto req = server.requests();
  ASSERT_EQ(req.size(), 1u);
  EXPECT_EQ(req[0]["method"], "SendStreamingMessage");
  EXPECT_EQ(req[0]["params"]["message"]["messageId"], "ours-1");
}

TEST(A2aDispatcher, StreamEndingEarlyIsFollowedWithGetTask) {
  ScriptServer server({ScriptServer::sse({{{"task", task("TASK_STATE_WORKING")}}}),
                       ScriptServer::result(task("TASK_STATE_WORKING")),
                       ScriptServer::result(task("TASK_STATE_WORKING", 1)),
                       ScriptServer::result(task("TASK_STATE_COMPLETED", 1))},
                      false);
  Dispatcher d(options());
  d.start(spec(server.url(), true));
  auto events = run(d, "ours-1");
  // The repeated working poll records nothing; the new artifact and the end do.
  EXPECT_EQ(states(events),
            (std::vector<std::string>{"task:working", "task:working", "task:completed"}));
  auto req = server.requests();
  ASSERT_EQ(req.size(), 4u);
  EXPECT_EQ(req[1]["method"], "GetTask");
  EXPECT_EQ(req[1]["params"]["id"], "T");
}

TEST(A2aDispatcher, NonStreamingSendIsPolledAndCanceled) {
  ScriptServer server({ScriptServer::result({{"task", task("TASK_STATE_SUBMITTED")}}),
                       ScriptServer::result(task("TASK_STATE_WORKING")),
                       // A poll may reach the server before the cancel: either way, canceled.
                       ScriptServer::result(task("TASK_STATE_CANCELED")),
                       ScriptServer::result(task("TASK_STATE_CANCELED"))},
                      false);
  Dispatcher d(options());
  d.start(spec(server.url(), false));
  std::vector<Event> events;
  while (events.size() < 2) {
    for (Event& e : d.pump(50ms)) events.push_back(std::move(e));
  }
  d.cancel("ours-1");
  for (Event& e : run(d, "ours-1")) events.push_back(std::move(e));
  EXPECT_EQ(states(events),
            (std::vector<std::string>{"task:submitted", "task:working", "task:canceled"}));
  auto req = server.requests();
  ASSERT_GE(req.size(), 3u);
  EXPECT_EQ(req[0]["params"]["configuration"]["returnImmediately"], true);
  bool canceled = false;
  for (const json& r : req) canceled |= r["method"] == "CancelTask";
  EXPECT_TRUE(canceled);
}

TEST(A2aDispatcher, TransientAndFinalFailures) {
  {
    ScriptServer server({ScriptServer::http(503, "busy")}, false);
    Dispatcher d(options());
    d.start(spec(server.url(), false));
    auto events = run(d, "ours-1");
    ASSERT_EQ(states(events), std::vector<std::string>{"retry"});
    EXPECT_NE(events[0].reason.find("503"), std::string::npos);
  }
  {
    json error = {{"jsonrpc", "2.0"}, {"id", 1}, {"error", {{"code", -32004}, {"message", "no"}}}};
    ScriptServer server({ScriptServer::http(200, error.dump())}, false);
    Dispatcher d(options());
    d.start(spec(server.url(), true));  // a plain JSON error where a stream was asked for
    auto events = run(d, "ours-1");
    ASSERT_EQ(states(events), std::vector<std::string>{"failed"});
    EXPECT_NE(events[0].reason.find("-32004: no"), std::string::npos) << events[0].reason;
  }
  {
    ScriptServer server({ScriptServer::http(200, "{\"truncated\": ")}, false);
    Dispatcher d(options());
    d.start(spec(server.url(), false));
    auto events = run(d, "ours-1");
    ASSERT_EQ(states(events), std::vector<std::string>{"failed"});
    EXPECT_NE(events[0].reason.find("not JSON"), std::string::npos);
  }
}

TEST(A2aDispatcher, RefusedHostFailsAtOnce) {
  Dispatcher d(options());
  d.start(spec("http://elsewhere.example/rpc", false));
  auto events = d.pump(1ms);
  ASSERT_EQ(states(events), std::vector<std::string>{"failed"});
  EXPECT_NE(events[0].reason.find("a2a.allowed_hosts"), std::string::npos);
  EXPECT_FALSE(d.active("ours-1"));
}

TEST(A2aDispatcher, TooManyEventsFailTheTask) {
  std::vector<json> flood(50, status("TASK_STATE_WORKING"));
  ScriptServer server({ScriptServer::sse(flood)}, false);
  DispatcherOptions o = options();
  o.max_events = 10;
  Dispatcher d(o);
  d.start(spec(server.url(), true));
  auto events = run(d, "ours-1");
  ASSERT_EQ(events.size(), 11u);
  EXPECT_EQ(events.back().type, Event::Type::kFailed);
  EXPECT_NE(events.back().reason.find("more than 10 updates"), std::string::npos);
}

}  // namespace
}  // namespace ruvector::a2a
