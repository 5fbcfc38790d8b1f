// See dispatcher.h. One Job per task, each with at most one send, one poll and one cancel
// call in flight, and for a streaming draft (rvagent-a2a) peer one GET subscription that
// is opened before the send, since the draft only streams events to subscribers present
// when they happen. A call's bytes arrive through a Transfer sink: an SSE stream is parsed
// event by event, anything else is buffered and parsed when the call completes.
#include "a2a/dispatcher.h"

#include <curl/curl.h>

#include <algorithm>

#include "a2a/sse_parser.h"
#include "util/error.h"
#include "util/json_parse.h"

namespace ruvector::a2a {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {
enum Purpose { kSend, kPoll, kCancel, kSubscribe };

const char* purpose_name(int p) {
  return p == kSend ? "send" : p == kPoll ? "GetTask" : p == kCancel ? "CancelTask" : "subscribe";
}

// Statuses worth a retry: the peer may answer differently later.
bool transient_status(long status) { return status == 408 || status == 429 || status >= 500; }
}  // namespace

struct Dispatcher::Call {
  Job* job = nullptr;
  int purpose = kSend;
  std::unique_ptr<http::Transfer> transfer;
  std::string body;
  std::unique_ptr<SseParser> sse;
  bool decided = false;  // whether the body is a stream is known
  bool saw_event = false;
  std::string error;  // why the sink stopped the transfer
  std::uint64_t limit = 0;
  std::int64_t rpc_id = 0;  // every answer, each stream event included, must carry it
};

struct Dispatcher::Job {
  TaskSpec spec;
  std::string remote;
  TaskState last_state = TaskState::kUnknown;
  std::size_t last_artifacts = 0;
  bool polling = false;
  Clock::time_point next_poll;
  int poll_errors = 0;
  std::size_t events = 0;
  bool cancel_wanted = false;
  bool cancel_sent = false;
  bool send_pending = false;  // a draft stream waits for its subscription to be open
  bool done = false;
  std::vector<std::unique_ptr<Call>> calls;
};

Dispatcher::Dispatcher(DispatcherOptions options) : options_(std::move(options)) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  multi_ = curl_multi_init();
  if (multi_ == nullptr) fail(ErrorKind::kResourceLimit, "could not start curl");
}

Dispatcher::~Dispatcher() {
  for (auto& [id, job] : jobs_) {
    for (auto& call : job->calls) curl_multi_remove_handle(multi_, call->transfer->handle());
  }
  jobs_.clear();
  curl_multi_cleanup(multi_);
}

void Dispatcher::start(TaskSpec spec) {
  std::string id = spec.id;
  abandon(id);
  auto job = std::make_unique<Job>();
  job->spec = std::move(spec);
  Job& j = *job;
  jobs_[id] = std::move(job);
  http::UrlCheck check =
      http::check_url(j.spec.rpc_url, options_.allowed_hosts, http::QueryPart::kAllowed);
  if (check.problem != http::UrlProblem::kNone) {
    emit_failure(j, Event::Type::kFailed,
                 check.problem == http::UrlProblem::kHostNotAllowed
                     ? "host \"" + check.host + "\" is not in a2a.allowed_hosts"
                     : "the agent's endpoint \"" + j.spec.rpc_url + "\" is not an http(s) URL");
    return;
  }
  if (!j.spec.remote_task_id.empty()) {
    j.remote = j.spec.remote_task_id;
    j.polling = true;
    j.next_poll = Clock::now();
    return;
  }
  if (j.spec.version == Version::kDraft && j.spec.streaming) {
    j.send_pending = true;
    begin_call(j, kSubscribe);
    return;
  }
  begin_call(j, kSend);
}

namespace {
// The draft files the task under the id we send, so it can be canceled before it answers.
const std::string& remote_id(const TaskSpec& spec, const std::string& remote) {
  return remote.empty() && spec.version == Version::kDraft ? spec.id : remote;
}
}  // namespace

void Dispatcher::cancel(const std::string& id) {
  auto it = jobs_.find(id);
  if (it != jobs_.end()) it->second->cancel_wanted = true;
}

void Dispatcher::abandon(const std::string& id) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  for (auto& call : it->second->calls) curl_multi_remove_handle(multi_, call->transfer->handle());
  jobs_.erase(it);
}

void Dispatcher::begin_call(Job& job, int purpose) {
  auto call = std::make_unique<Call>();
  Call* c = call.get();
  c->job = &job;
  c->purpose = purpose;
  const TaskSpec& s = job.spec;
  bool draft = s.version == Version::kDraft;
  // The draft streams over the subscription, never over the send itself.
  bool stream = draft ? purpose == kSubscribe : purpose == kSend && s.streaming;
  c->rpc_id = next_rpc_id_++;
  const std::string& remote = remote_id(s, job.remote);
  json request = purpose == kSend ? send_request(s.version, s.streaming, s.message, s.id, c->rpc_id)
                 : purpose == kPoll ? get_task_request(s.version, remote, c->rpc_id)
                                    : cancel_task_request(s.version, remote, c->rpc_id);
  http::Limits limits = options_.limits;
  if (stream) {
    limits.total_timeout_ms = 0;  // the task's deadline bounds it instead
  } else {
    limits.max_bytes = options_.max_event_bytes;  // one answer
    // The draft's tasks/send answers when the task has finished: the deadline bounds it.
    if (draft && purpose == kSend) limits.total_timeout_ms = 0;
  }
  auto sink = [this, c](const char* data, std::size_t n) {
    try {
      if (!c->decided) {
        char* type = nullptr;
        curl_easy_getinfo(c->transfer->handle(), CURLINFO_CONTENT_TYPE, &type);
        long status = 0;
        curl_easy_getinfo(c->transfer->handle(), CURLINFO_RESPONSE_CODE, &status);
        c->decided = true;
        if (status == 200 && type != nullptr &&
            std::string(type).rfind("text/event-stream", 0) == 0) {
          c->sse = std::make_unique<SseParser>(
              [this, c](const SseEvent& ev) {
                c->saw_event = true;
                if (c->purpose == kSubscribe) {
                  on_draft_event(*c, ev.type, parse_json(ev.data, "stream event", kJsonbBounds));
                } else {
                  on_body(*c, parse_json(ev.data, "stream event", kJsonbBounds));
                }
              },
              options_.max_event_bytes);
        }
      }
      if (c->sse) {
        c->sse->feed(data, n);
      } else {
        c->body.append(data, n);
      }
      return !c->job->done || c->purpose != kSend;
    } catch (const std::exception& e) {
      c->error = e.what();
      return false;
    }
  };
  c->limit = limits.max_bytes;
  std::string url = purpose == kSubscribe ? draft_subscribe_url(s.rpc_url, s.id) : s.rpc_url;
  c->transfer = std::make_unique<http::Transfer>(url, limits, sink);
  if (purpose != kSubscribe) c->transfer->add_header("Content-Type: application/json");
  c->transfer->add_header(stream ? "Accept: text/event-stream" : "Accept: application/json");
  if (const char* h = version_header(s.version)) c->transfer->add_header(h);
  for (const std::string& h : s.headers) c->transfer->add_header(h);
  if (purpose != kSubscribe) c->transfer->set_post_body(request.dump());
  if (curl_multi_add_handle(multi_, c->transfer->handle()) != CURLM_OK)
    fail(ErrorKind::kResourceLimit, "could not start an HTTP transfer");
  if (purpose == kCancel) job.cancel_sent = true;
  job.calls.push_back(std::move(call));
}

void Dispatcher::emit_failure(Job& job, Event::Type type, const std::string& reason) {
  if (job.done) return;
  Event e;
  e.type = type;
  e.task_id = job.spec.id;
  e.reason = reason;
  events_.push_back(std::move(e));
  job.done = true;
}

// One JSON-RPC response (a body or a stream event) of this call.
void Dispatcher::on_body(Call& call, const json& response) {
  Job& job = *call.job;
  bool in_stream = call.sse != nullptr;
  if (job.done) return;
  Update u = read_response(job.spec.version, response, call.rpc_id);  // throws RpcError, Error
  if (job.remote.empty() && !u.task_id.empty()) job.remote = u.task_id;
  bool changed = true;
  if (u.kind == Update::Kind::kTask && !in_stream) {
    // Polls repeat the whole task: record it only when its state or artifacts moved.
    auto a = u.payload.find("artifacts");
    std::size_t artifacts = a != u.payload.end() && a->is_array() ? a->size() : 0;
    changed = u.state != job.last_state || artifacts != job.last_artifacts;
    job.last_artifacts = artifacts;
  }
  if (u.state != TaskState::kUnknown) job.last_state = u.state;
  TaskState state = u.state;
  if (changed && ++job.events > options_.max_events) {
    // Not thrown: a stream's sink would report it as the peer's error.
    emit_failure(job, Event::Type::kFailed,
                 "the agent sent more than " + std::to_string(options_.max_events) +
                     " updates (a2a.max_events_per_task)");
    return;
  }
  if (changed) {
    Event e;
    e.task_id = job.spec.id;
    e.update = std::move(u);
    events_.push_back(std::move(e));
  }
  if (in_stream ? ends_stream(state) : (is_terminal(state) || state == TaskState::kInputRequired))
    job.done = true;
}

// One event of a draft subscription. It never ends the task: the draft reports artifacts
// only in the task that tasks/send answers, so that answer (or a poll) ends it, and a
// final status streamed first is left out, since a task recorded as finished keeps the
// result it had (the answer would then be recorded without its artifacts as the result).
void Dispatcher::on_draft_event(Call& call, const std::string& type, const json& data) {
  Job& job = *call.job;
  if (job.done) return;
  std::optional<Update> u = read_draft_event(type, data);
  if (!u) return;
  if (u->task_id != job.spec.id)
    fail(ErrorKind::kDataException,
         "a stream event for task \"" + u->task_id.substr(0, 64) + "\", not this one");
  if (is_terminal(u->state)) return;
  if (++job.events > options_.max_events) {
    emit_failure(job, Event::Type::kFailed,
                 "the agent sent more than " + std::to_string(options_.max_events) +
                     " updates (a2a.max_events_per_task)");
    return;
  }
  if (u->state != TaskState::kUnknown) job.last_state = u->state;
  Event e;
  e.task_id = job.spec.id;
  e.update = std::move(*u);
  events_.push_back(std::move(e));
}

void Dispatcher::complete(Call& call, int curl_code) {
  Job& job = *call.job;
  http::Outcome out = call.transfer->finish(curl_code);
  const std::string what =
      std::string(purpose_name(call.purpose)) + " to \"" + job.spec.rpc_url + "\"";
  if (job.done) return;
  if (call.purpose == kSubscribe) {
    // The subscription only adds live events; whatever ended it, the send still answers.
    if (!call.error.empty()) {
      emit_failure(job, Event::Type::kFailed, what + ": " + call.error);
      return;
    }
    if (job.send_pending) {
      job.send_pending = false;
      begin_call(job, kSend);
    }
    return;
  }
  if (!call.error.empty()) {
    emit_failure(job, Event::Type::kFailed, what + ": " + call.error);
    return;
  }
  if (out.over_limit) {
    emit_failure(job, Event::Type::kFailed,
                 what + ": the answer is larger than " + std::to_string(call.limit) + " bytes");
    return;
  }
  // Not transient: the same agent would send the same headers again.
  if (out.headers_over_limit) {
    emit_failure(job, Event::Type::kFailed,
                 what + ": the agent's response headers are larger than " +
                     std::to_string(options_.limits.max_header_bytes) + " bytes");
    return;
  }
  bool transient = !out.error.empty() || transient_status(out.status);
  std::string why = !out.error.empty() ? out.error : "HTTP status " + std::to_string(out.status);
  if (out.error.empty() && out.status >= 300 && out.status < 400)
    why += !out.redirect.empty() ? " redirecting to \"" + out.redirect + "\" (not followed)"
                                 : " (a redirect, not followed)";
  if (!transient && out.status == 200 && !call.sse) {
    try {
      on_body(call, parse_json(call.body, "JSON-RPC answer", kJsonbBounds));
    } catch (const RpcError& e) {
      emit_failure(
          job, Event::Type::kFailed,
          what + ": the agent answered error " + std::to_string(e.code()) + ": " + e.what());
      return;
    } catch (const std::exception& e) {
      emit_failure(job, Event::Type::kFailed, what + ": " + e.what());
      return;
    }
    if (call.purpose == kPoll) job.poll_errors = 0;
  } else if (!transient && out.status != 200) {
    emit_failure(job, Event::Type::kFailed, what + ": " + why);
    return;
  }

  if (job.done) return;
  switch (call.purpose) {
    case kSend:
      if (transient && job.remote.empty()) {
        emit_failure(job, Event::Type::kRetry, what + ": " + why);
        return;
      }
      if (job.remote.empty()) {
        emit_failure(job, Event::Type::kFailed, what + ": the agent created no task");
        return;
      }
      // A stream that ended early, or a task still running: follow it with GetTask.
      job.polling = true;
      job.next_poll =
          Clock::now() + (call.sse ? std::chrono::milliseconds(0) : options_.poll_interval);
      break;
    case kPoll:
      if (transient && ++job.poll_errors > options_.max_poll_errors) {
        emit_failure(job, Event::Type::kFailed,
                     what + ": " + why + " (" + std::to_string(job.poll_errors) + " times)");
        return;
      }
      job.next_poll = Clock::now() + options_.poll_interval * (1 << std::min(job.poll_errors, 6));
      break;
    case kCancel:
      if (transient) job.cancel_sent = false;  // ask again on the next pump
      break;
  }
}

std::vector<Event> Dispatcher::pump(std::chrono::milliseconds timeout) {
  auto now = Clock::now();
  for (auto& [id, job] : jobs_) {
    if (job->done) continue;
    bool polling_now = std::any_of(job->calls.begin(), job->calls.end(),
                                   [](const auto& c) { return c->purpose == kPoll; });
    if (job->polling && !polling_now && now >= job->next_poll) begin_call(*job, kPoll);
    if (job->cancel_wanted && !job->cancel_sent && !remote_id(job->spec, job->remote).empty())
      begin_call(*job, kCancel);
    if (job->send_pending) {
      // The peer answered the subscription's request line: it is listening, send now.
      long status = 0;
      for (auto& c : job->calls) {
        if (c->purpose == kSubscribe)
          curl_easy_getinfo(c->transfer->handle(), CURLINFO_RESPONSE_CODE, &status);
      }
      if (status != 0) {
        job->send_pending = false;
        begin_call(*job, kSend);
      }
    }
  }
  int running = 0;
  curl_multi_perform(multi_, &running);
  int wait_ms = static_cast<int>(std::min(timeout, options_.poll_interval).count());
  // Waits the whole timeout even with nothing in flight: the caller's loop relies on it.
  curl_multi_poll(multi_, nullptr, 0, wait_ms, nullptr);
  curl_multi_perform(multi_, &running);
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    for (auto& [id, job] : jobs_) {
      auto it = std::find_if(job->calls.begin(), job->calls.end(), [&](const auto& c) {
        return c->transfer->handle() == msg->easy_handle;
      });
      if (it == job->calls.end()) continue;
      std::unique_ptr<Call> call = std::move(*it);
      job->calls.erase(it);
      CURLcode code = msg->data.result;
      curl_multi_remove_handle(multi_, call->transfer->handle());
      complete(*call, code);
      break;
    }
  }
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    if (it->second->done) {
      for (auto& call : it->second->calls)
        curl_multi_remove_handle(multi_, call->transfer->handle());
      it = jobs_.erase(it);
    } else {
      ++it;
    }
  }
  std::vector<Event> out;
  out.swap(events_);
  return out;
}

}  // namespace ruvector::a2a
