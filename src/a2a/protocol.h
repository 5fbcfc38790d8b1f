// A2A wire shapes: the AgentCard's choice of endpoint and version, JSON-RPC requests in
// v1.0, v0.3 or the pre-0.3 draft spelling (rvagent-a2a), and the normalisation of every
// result (task, status update, artifact update, message) into one Update whatever the
// version spoke.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace ruvector::a2a {

// kDraft: the pre-0.3 draft that rvagent-a2a (RuVector's Rust agents) speaks: tasks/send,
// parts tagged "type", trace context in metadata.ruvector.context.
enum class Version { kV1, kV03, kDraft };

// As stored in a2a.agents.protocol_version: "1.0", "0.3", "draft".
const char* version_name(Version v);
// The inverse of version_name; anything unknown is v1.0.
Version version_from_name(const std::string& name);

// Where the card was found: a card without protocolVersion served under the pre-0.3 name
// agent.json is the draft; under agent-card.json it is taken as v0.3.
enum class CardSource { kAgentCardJson, kAgentJson };

enum class TaskState {
  kSubmitted,
  kWorking,
  kInputRequired,
  kAuthRequired,
  kCompleted,
  kCanceled,
  kFailed,
  kRejected,
  kUnknown,
};

// Lower-case names as stored in a2a.tasks.state: "submitted", "input-required", ...
const char* state_name(TaskState state);
// Accepts v1.0 ("TASK_STATE_COMPLETED") and v0.3 ("completed", "canceled"/"cancelled").
TaskState parse_state(const std::string& text);
// completed, canceled, failed, rejected: nothing more will happen.
bool is_terminal(TaskState state);
// Where a stream ends: a terminal state or input-required.
bool ends_stream(TaskState state);

// What we keep of a validated AgentCard.
struct CardInfo {
  std::string name;
  std::string rpc_url;  // the JSON-RPC endpoint
  Version version = Version::kV1;
  bool streaming = false;
};

// Validates the card (name, at least one JSON-RPC interface with an http(s) url, version
// 1.x or 0.3, or the draft: `url` alone, no protocolVersion, from agent.json) and picks the
// highest version we speak. Throws Error(kDataException) naming the missing or malformed
// member.
CardInfo read_card(const nlohmann::json& card, CardSource source = CardSource::kAgentCardJson);

// The message as the user gives it (version-neutral): {"parts": [...], "metadata": {...},
// "contextId": "..."}; parts are {"text": "..."}, {"data": {...}} or {"file": {"uri" or
// "bytes", "mimeType", "name"}}, each with optional "metadata". A bare string is one text
// part. Throws Error(kInvalidParameter) naming what is wrong.
nlohmann::json normalize_message(const nlohmann::json& message);

// JSON-RPC bodies. `message` is normalized; `message_id` makes a retried send recognisable
// (in the draft it is the task id the peer files the task under).
nlohmann::json send_request(Version v, bool streaming, const nlohmann::json& message,
                            const std::string& message_id, std::int64_t rpc_id);
nlohmann::json get_task_request(Version v, const std::string& task_id, std::int64_t rpc_id);
nlohmann::json cancel_task_request(Version v, const std::string& task_id, std::int64_t rpc_id);
// The HTTP headers a request of this version carries (besides Content-Type).
const char* version_header(Version v);  // "A2A-Version: 1.0" or nullptr

// The draft's trace context (rvagent-a2a TaskContext) for a message whose metadata holds
// ours (trace_id, depth, parent_task) and, when it continues a draft peer's trace, that
// peer's context under ruvector.context: same trace and depth, the peer's root and
// visited agents with its current agent appended (at most kMaxVisitedAgents kept).
nlohmann::json draft_context(const nlohmann::json& metadata);
constexpr std::size_t kMaxVisitedAgents = 64;

// The draft streams a task's events from GET <endpoint>/tasks/sendSubscribe?id=<task>,
// opened before the task is sent.
std::string draft_subscribe_url(const std::string& rpc_url, const std::string& task_id);

struct Update {
  enum class Kind { kTask, kStatus, kArtifact, kMessage };
  Kind kind = Kind::kTask;
  std::string task_id;                    // the peer's task id; empty for a direct message
  std::string context_id;                 // may be empty
  TaskState state = TaskState::kUnknown;  // kUnknown for artifacts
  nlohmann::json payload;                 // the result member as the peer sent it
};

// Thrown for a JSON-RPC error response: code and message from the peer.
class RpcError : public std::runtime_error {
 public:
  RpcError(long code, const std::string& message) : std::runtime_error(message), code_(code) {}
  long code() const { return code_; }

 private:
  long code_;
};

// One JSON-RPC response (a whole body, or one SSE event's data) to the request with id
// `rpc_id` into an Update. Throws RpcError for an error response and Error(kDataException)
// for anything malformed, an "id" other than `rpc_id` included (an error response may
// carry a null id, as JSON-RPC allows when the server could not read the request's). A
// direct message answer counts as completed.
Update read_response(Version v, const nlohmann::json& response, std::int64_t rpc_id);

// One draft stream event: its SSE event name ("status", "artifact") and data, a bare
// status or artifact event without a JSON-RPC envelope. nullopt for events that say
// nothing about the task ("warning" when the peer dropped events). Throws
// Error(kDataException) for a malformed one.
std::optional<Update> read_draft_event(const std::string& type, const nlohmann::json& data);

// Short name for logs and events: "task", "status-update", "artifact-update", "message".
const char* kind_name(Update::Kind kind);

}  // namespace ruvector::a2a
