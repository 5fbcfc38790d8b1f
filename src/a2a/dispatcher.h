// Runs many A2A tasks at once from one thread: each task is a send (streamed over SSE when
// the peer streams, else sent with return-immediately and then polled with GetTask), all
// transfers driven by one curl multi handle. The caller (the background worker) starts
// tasks, asks for cancels, and pumps: every pump returns the events to record, in order
// per task. No Postgres here; nothing is thrown out of pump() for a peer's misbehaviour,
// which becomes a failed or retryable event naming the reason.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "a2a/protocol.h"
#include "util/http.h"

namespace ruvector::a2a {

struct TaskSpec {
  std::string id;  // ours; also the message id, so a re-sent message is recognisable
  std::string rpc_url;
  Version version = Version::kV1;
  bool streaming = false;
  nlohmann::json message;            // normalized (normalize_message), our metadata included
  std::string remote_task_id;        // set when resuming a task the peer already has: poll it
  std::vector<std::string> headers;  // extra request headers (credentials); never logged
};

struct Event {
  enum class Type {
    kUpdate,  // the peer reported something: `update`
    kFailed,  // the task cannot go on: `reason`
    kRetry,   // a transient failure before the peer took the task: `reason`; send again later
  };
  Type type = Type::kUpdate;
  std::string task_id;
  Update update;
  std::string reason;
};

struct DispatcherOptions {
  http::Limits limits;  // per request; streams get no total timeout (tasks have deadlines)
  std::vector<std::string> allowed_hosts;
  std::chrono::milliseconds poll_interval{500};
  std::size_t max_event_bytes = 1 << 20;
  int max_poll_errors = 5;        // consecutive transient GetTask failures before giving up
  std::size_t max_events = 1000;  // per task: a peer that sends more fails the task
};

class Dispatcher {
 public:
  explicit Dispatcher(DispatcherOptions options);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Starts a task. A URL outside the allowed hosts fails it at once (an event).
  void start(TaskSpec spec);
  // Asks the peer to cancel (now, or as soon as its task id is known). The task stays
  // active until the peer reports a final state.
  void cancel(const std::string& id);
  // Drops a task without telling the peer more (deadline passed, worker shutting down).
  void abandon(const std::string& id);

  bool active(const std::string& id) const { return jobs_.count(id) != 0; }
  std::size_t size() const { return jobs_.size(); }

  // Runs transfers for up to `timeout` and returns what happened since the last call.
  std::vector<Event> pump(std::chrono::milliseconds timeout);

 private:
  struct Job;
  struct Call;

  void begin_call(Job& job, int purpose);
  void complete(Call& call, int curl_code);
  void on_body(Call& call, const nlohmann::json& response);
  void on_draft_event(Call& call, const std::string& type, const nlohmann::json& data);
  void finish_job(const std::string& id);
  void emit_failure(Job& job, Event::Type type, const std::string& reason);

  DispatcherOptions options_;
  void* multi_ = nullptr;
  std::map<std::string, std::unique_ptr<Job>> jobs_;
  std::vector<Event> events_;
  std::int64_t next_rpc_id_ = 1;
};

}  // namespace ruvector::a2a
