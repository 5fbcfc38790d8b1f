// A2A wire shapes: the AgentCard's choice of endpoint and version, JSON-RPC requests in
// v1.0 or v0.3 spelling, and the normalisation of every result (task, status update,
// artifact update, message) into one Update whatever the version spoke.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace ruvector::a2a {

enum class Version { kV1, kV03 };

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
// 1.x or 0.3) and picks the highest version we speak. Throws Error(kDataException) naming
// the missing or malformed member.
CardInfo read_card(const nlohmann::json& card);

// The message as the user gives it (version-neutral): {"parts": [...], "metadata": {...},
// "contextId": "..."}; parts are {"text": "..."}, {"data": {...}} or {"file": {"uri" or
// "bytes", "mimeType", "name"}}, each with optional "metadata". A bare string is one text
// part. Throws Error(kInvalidParameter) naming what is wrong.
nlohmann::json normalize_message(const nlohmann::json& message);

// JSON-RPC bodies. `message` is normalized; `message_id` makes a retried send recognisable.
nlohmann::json send_request(Version v, bool streaming, const nlohmann::json& message,
                            const std::string& message_id, std::int64_t rpc_id);
nlohmann::json get_task_request(Version v, const std::string& task_id, std::int64_t rpc_id);
nlohmann::json cancel_task_request(Version v, const std::string& task_id, std::int64_t rpc_id);
// The HTTP headers a request of this version carries (besides Content-Type).
const char* version_header(Version v);  // "A2A-Version: 1.0" or nullptr

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

// Short name for logs and events: "task", "status-update", "artifact-update", "message".
const char* kind_name(Update::Kind kind);

}  // namespace ruvector::a2a
