// JSON-RPC answers as the dispatcher reads a response body: bounded parse refusing NULs,
// read_response for the request's id, then the payload as the worker stores it. A JSON-RPC
// error answer is an RpcError, which the dispatcher turns into a failed task.
#include "a2a/protocol.h"
#include "fuzz.h"
#include "util/json_parse.h"

namespace {

namespace a2a = ruvector::a2a;

std::vector<std::string> seeds() {
  return {
      R"({"jsonrpc": "2.0", "id": 1, "result": {"task": {"id": "T", "contextId": "C",
          "status": {"state": "TASK_STATE_WORKING", "message": {"parts": [{"text": "hi"}]}},
          "artifacts": [{"artifactId": "a", "parts": [{"data": {"x": [1, 2]}}]}]}}})",
      R"({"jsonrpc": "2.0", "id": 1, "result": {"kind": "status-update", "taskId": "T",
          "final": true, "status": {"state": "completed"}}})",
      R"({"jsonrpc": "2.0", "id": 1, "result": {"artifactUpdate": {"taskId": "T",
          "artifact": {"artifactId": "a", "parts": []}}}})",
      R"({"jsonrpc": "2.0", "id": 1, "result": {"message": {"messageId": "m", "role": "ROLE_AGENT",
          "parts": [{"text": "done"}]}}})",
      R"({"jsonrpc": "2.0", "id": 1, "result": {"id": "T", "status": {"state": "canceled"}}})",
      R"({"jsonrpc": "2.0", "id": 1, "error": {"code": -32001, "message": "Task not found"}})",
  };
}

bool documented(const std::exception& e) { return dynamic_cast<const a2a::RpcError*>(&e); }

void run(const std::string& input, fuzz::Rng& rng) {
  nlohmann::json body = ruvector::parse_json(input, "JSON-RPC answer", ruvector::kJsonbBounds);
  const a2a::Version versions[] = {a2a::Version::kV1, a2a::Version::kV03, a2a::Version::kDraft};
  a2a::Update u = a2a::read_response(versions[rng.below(3)], body, 1);
  u.payload.dump();
}

const bool registered = fuzz::register_driver({"rpc_answer", seeds, nullptr, run, documented});

}  // namespace
