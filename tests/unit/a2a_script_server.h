// A scripted A2A peer for the dispatcher tests: answers the n-th request with the n-th
// scripted response, echoing the request's JSON-RPC id where a response asks for it, and
// the helpers the tests share to build answers and run a task to its end.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "a2a/dispatcher.h"
#include "loopback_listener.h"

namespace ruvector::a2a::test {

using nlohmann::json;
using namespace std::chrono_literals;

// Where a scripted answer carries this (as a JSON string), the request's id goes instead,
// padded with spaces to the same length so that Content-Length stays right.
inline const char* const kEchoId = "@request-id";

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
      json request = json::parse(req.substr(body_at), nullptr, false);
      {
        std::lock_guard<std::mutex> lock(mutex_);
        requests_.push_back(request);
      }
      std::string answer = i < answers_.size() ? answers_[i] : http(500, "no more script");
      const std::string echo = json(kEchoId).dump();
      std::string id = request.is_object() ? request.value("id", json()).dump() : "null";
      id.resize(std::max(id.size(), echo.size()), ' ');
      for (auto at = answer.find(echo); at != std::string::npos; at = answer.find(echo, at))
        answer.replace(at, echo.size(), id);
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
      body += "data: " + json{{"jsonrpc", "2.0"}, {"id", kEchoId}, {"result", r}}.dump() + "\n\n";
    return "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n" + body;
  }
  static std::string result(const json& r) {
    return http(200, json{{"jsonrpc", "2.0"}, {"id", kEchoId}, {"result", r}}.dump());
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

inline json task(const std::string& state, int artifacts = 0) {
  json t = {{"id", "T"}, {"contextId", "C"}, {"status", {{"state", state}}}};
  for (int i = 0; i < artifacts; i++) t["artifacts"].push_back({{"artifactId", std::to_string(i)}});
  return t;
}
inline json status(const std::string& state) {
  return {{"statusUpdate", {{"taskId", "T"}, {"status", {{"state", state}}}}}};
}

inline DispatcherOptions options() {
  DispatcherOptions o;
  o.allowed_hosts = {"127.0.0.1"};
  o.poll_interval = 20ms;
  o.limits.connect_timeout_ms = 2000;
  o.limits.total_timeout_ms = 5000;
  return o;
}

inline TaskSpec spec(const std::string& url, bool streaming) {
  TaskSpec s;
  s.id = "ours-1";
  s.rpc_url = url;
  s.streaming = streaming;
  s.message = normalize_message("hi");
  return s;
}

// Pumps until the task is no longer active (or 10 s pass); returns every event.
inline std::vector<Event> run(Dispatcher& d, const std::string& id) {
  std::vector<Event> all;
  auto until = std::chrono::steady_clock::now() + 10s;
  while (d.active(id) && std::chrono::steady_clock::now() < until) {
    for (Event& e : d.pump(50ms)) all.push_back(std::move(e));
  }
  return all;
}

inline std::vector<std::string> states(const std::vector<Event>& events) {
  std::vector<std::string> out;
  for (const Event& e : events) {
    if (e.type == Event::Type::kUpdate)
      out.push_back(std::string(kind_name(e.update.kind)) + ":" + state_name(e.update.state));
    else
      out.push_back(e.type == Event::Type::kFailed ? "failed" : "retry");
  }
  return out;
}

}  // namespace ruvector::a2a::test
