// A2A wire shapes: card choice of endpoint and version, request spelling per version, and
// normalisation of every kind of result.
#include <gtest/gtest.h>

#include "a2a/protocol.h"
#include "util/error.h"

namespace ruvector::a2a {
namespace {

using nlohmann::json;

TEST(A2aProtocol, StatesParseInBothSpellings) {
  EXPECT_EQ(parse_state("TASK_STATE_COMPLETED"), TaskState::kCompleted);
  EXPECT_EQ(parse_state("TASK_STATE_INPUT_REQUIRED"), TaskState::kInputRequired);
  EXPECT_EQ(parse_state("input-required"), TaskState::kInputRequired);
  EXPECT_EQ(parse_state("cancelled"), TaskState::kCanceled);
  EXPECT_EQ(parse_state("TASK_STATE_UNSPECIFIED"), TaskState::kUnknown);
  EXPECT_EQ(parse_state("done"), TaskState::kUnknown);
  EXPECT_TRUE(is_terminal(TaskState::kRejected));
  EXPECT_FALSE(is_terminal(TaskState::kInputRequired));
  EXPECT_TRUE(ends_stream(TaskState::kInputRequired));
  EXPECT_FALSE(ends_stream(TaskState::kAuthRequired));
}

TEST(A2aProtocol, CardPicksTheHighestJsonRpcVersion) {
  json card = {
      {"name", "a"},
      {"capabilities", {{"streaming", true}}},
      {"supportedInterfaces",
       {{{"url", "http://h/grpc"}, {"protocolBinding", "GRPC"}, {"protocolVersion", "1.0"}},
        {{"url", "http://h/v03"}, {"protocolBinding", "JSONRPC"}, {"protocolVersion", "0.3"}},
        {{"url", "http://h/v1"}, {"protocolBinding", "JSONRPC"}, {"protocolVersion", "1.0"}}}}};
  CardInfo info = read_card(card);
  EXPECT_EQ(info.rpc_url, "http://h/v1");
  EXPECT_EQ(info.version, Version::kV1);
  EXPECT_TRUE(info.streaming);
}

TEST(A2aProtocol, V03CardUsesTopLevelUrl) {
  json card = {{"name", "old"}, {"url", "https://h/rpc"}, {"protocolVersion", "0.3.0"}};
  CardInfo info = read_card(card);
  EXPECT_EQ(info.rpc_url, "https://h/rpc");
  EXPECT_EQ(info.version, Version::kV03);
  EXPECT_FALSE(info.streaming);
}

TEST(A2aProtocol, BadCardsAreRefusedWithTheReason) {
  EXPECT_THROW(read_card(json::array()), Error);
  EXPECT_THROW(read_card(json{{"url", "http://h"}}), Error);  // no name
  try {
    read_card(json{{"name", "a"}, {"url", "file:///etc/passwd"}, {"protocolVersion", "0.3"}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no JSON-RPC interface"), std::string::npos);
  }
  EXPECT_THROW(
      read_card(json{
          {"name", "a"},
          {"supportedInterfaces",
           {{{"url", "http://h"}, {"protocolBinding", "JSONRPC"}, {"protocolVersion", "2.0"}}}}}),
      Error);
}

TEST(A2aProtocol, MessagesAreCheckedAndNormalized) {
  EXPECT_EQ(normalize_message("hi"), (json{{"parts", {{{"text", "hi"}}}}}));
  json m = {{"parts", {{{"data", {{"k", 1}}}}}}, {"metadata", {{"a", 1}}}};
  EXPECT_EQ(normalize_message(m), m);
  EXPECT_THROW(normalize_message(json{{"parts", json::array()}}), Error);
  EXPECT_THROW(normalize_message(json{{"parts", {{{"text", 1}}}}}), Error);
  EXPECT_THROW(normalize_message(json{{"parts", {{{"text", "a"}, {"data", 1}}}}}), Error);
  EXPECT_THROW(normalize_message(json{{"parts", {{{"file", {{"name", "x"}}}}}}}), Error);
  EXPECT_THROW(normalize_message(json{{"parts", {{{"text", "a"}}}}, {"role", "agent"}}), Error);
  EXPECT_THROW(normalize_message(json(3)), Error);
}

TEST(A2aProtocol, SendRequestsPerVersion) {
  json m = normalize_message(json{
      {"parts", {{{"text", "hi"}}, {{"file", {{"uri", "http://f"}, {"mimeType", "text/plain"}}}}}},
      {"metadata", {{"trace_id", "t"}}}});
  json v1 = send_request(Version::kV1, false, m, "id-1", 7);
  EXPECT_EQ(v1["method"], "SendMessage");
  EXPECT_EQ(v1["id"], 7);
  EXPECT_EQ(v1["params"]["message"]["role"], "ROLE_USER");
  EXPECT_EQ(v1["params"]["message"]["messageId"], "id-1");
  EXPECT_EQ(v1["params"]["message"]["parts"][0], (json{{"text", "hi"}}));
  EXPECT_EQ(v1["params"]["message"]["parts"][1],
            (json{{"url", "http://f"}, {"mediaType", "text/plain"}}));
  EXPECT_EQ(v1["params"]["message"]["metadata"]["trace_id"], "t");
  EXPECT_EQ(v1["params"]["configuration"]["returnImmediately"], true);

  json v03 = send_request(Version::kV03, true, m, "id-1", 8);
  EXPECT_EQ(v03["method"], "message/stream");
  EXPECT_EQ(v03["params"]["message"]["kind"], "message");
  EXPECT_EQ(v03["params"]["message"]["role"], "user");
  EXPECT_EQ(v03["params"]["message"]["parts"][0]["kind"], "text");
  EXPECT_EQ(v03["params"]["message"]["parts"][1]["kind"], "file");
  EXPECT_FALSE(v03["params"].contains("configuration"));

  EXPECT_EQ(get_task_request(Version::kV1, "t1", 1)["method"], "GetTask");
  EXPECT_EQ(get_task_request(Version::kV03, "t1", 1)["method"], "tasks/get");
  EXPECT_EQ(cancel_task_request(Version::kV1, "t1", 1)["params"]["id"], "t1");
  EXPECT_EQ(cancel_task_request(Version::kV03, "t1", 1)["method"], "tasks/cancel");
}

TEST(A2aProtocol, ResultsOfBothVersionsNormalize) {
  json task = {{"id", "T"}, {"contextId", "C"}, {"status", {{"state", "TASK_STATE_WORKING"}}}};
  json v1_task = {{"jsonrpc", "2.0"}, {"id", 1}, {"result", {{"task", task}}}};
  Update u = read_response(Version::kV1, v1_task, 1);
  EXPECT_EQ(u.kind, Update::Kind::kTask);
  EXPECT_EQ(u.task_id, "T");
  EXPECT_EQ(u.context_id, "C");
  EXPECT_EQ(u.state, TaskState::kWorking);

  json v03_status = {{"jsonrpc", "2.0"},
                     {"id", 1},
                     {"result",
                      {{"kind", "status-update"},
                       {"taskId", "T"},
                       {"final", true},
                       {"status", {{"state", "completed"}}}}}};
  u = read_response(Version::kV03, v03_status, 1);
  EXPECT_EQ(u.kind, Update::Kind::kStatus);
  EXPECT_EQ(u.state, TaskState::kCompleted);

  json v1_artifact = {
      {"id", 7},
      {"result", {{"artifactUpdate", {{"taskId", "T"}, {"artifact", {{"artifactId", "a"}}}}}}}};
  u = read_response(Version::kV1, v1_artifact, 7);
  EXPECT_EQ(u.kind, Update::Kind::kArtifact);
  EXPECT_EQ(u.state, TaskState::kUnknown);

  json direct = {{"id", 2},
                 {"result", {{"message", {{"messageId", "m"}, {"parts", json::array()}}}}}};
  u = read_response(Version::kV1, direct, 2);
  EXPECT_EQ(u.kind, Update::Kind::kMessage);
  EXPECT_EQ(u.state, TaskState::kCompleted);
}

TEST(A2aProtocol, ErrorsAndMalformedResults) {
  try {
    read_response(Version::kV1,
                  json{{"id", 1}, {"error", {{"code", -32001}, {"message", "Task not found"}}}}, 1);
    FAIL();
  } catch (const RpcError& e) {
    EXPECT_EQ(e.code(), -32001);
    EXPECT_STREQ(e.what(), "Task not found");
  }
  EXPECT_THROW(read_response(Version::kV1, json{{"id", 1}}, 1), Error);
  EXPECT_THROW(
      read_response(Version::kV1, json{{"id", 1}, {"result", {{"task", {{"id", "T"}}}}}}, 1),
      Error);
  EXPECT_THROW(
      read_response(
          Version::kV1,
          json{{"id", 1}, {"result", {{"task", {{"id", "T"}, {"status", {{"state", "odd"}}}}}}}},
          1),
      Error);
  EXPECT_THROW(read_response(Version::kV03, json{{"id", 1}, {"result", {{"kind", "weird"}}}}, 1),
               Error);
  EXPECT_THROW(read_response(Version::kV03, json{{"id", 1}, {"result", 3}}, 1), Error);
}

// An answer to another request must not be taken for this one's.
TEST(A2aProtocol, AnswersMustCarryTheRequestsId) {
  json result = {{"task", {{"id", "T"}, {"status", {{"state", "completed"}}}}}};
  EXPECT_EQ(read_response(Version::kV1, {{"id", 3}, {"result", result}}, 3).task_id, "T");
  auto reason = [&](const json& response) -> std::string {
    try {
      read_response(Version::kV1, response, 3);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kDataException);
      return e.what();
    }
    return "accepted";
  };
  EXPECT_EQ(reason({{"id", 7}, {"result", result}}),
            "the answer's JSON-RPC id 7 is not the request's id 3");
  EXPECT_EQ(reason({{"id", "3"}, {"result", result}}),
            "the answer's JSON-RPC id \"3\" is not the request's id 3");
  EXPECT_EQ(reason({{"id", -3}, {"result", result}}),
            "the answer's JSON-RPC id -3 is not the request's id 3");
  EXPECT_EQ(reason({{"id", nullptr}, {"result", result}}),
            "the answer's JSON-RPC id null is not the request's id 3");
  EXPECT_EQ(reason({{"id", {{"a", 1}}}, {"result", result}}),
            "the answer's JSON-RPC id object is not the request's id 3");
  EXPECT_EQ(reason({{"result", result}}), "the answer has no JSON-RPC id (the request's id is 3)");
  // A null id is how JSON-RPC reports an error about a request it could not read.
  EXPECT_THROW(read_response(Version::kV1, {{"id", nullptr}, {"error", {{"code", -32700}}}}, 3),
               RpcError);
}

}  // namespace
}  // namespace ruvector::a2a
