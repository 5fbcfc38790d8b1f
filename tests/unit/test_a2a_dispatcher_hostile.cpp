// The dispatcher against hostile peers (issue #23): answers and stream events nested
// 300,000 levels deep, holding \u0000, or carrying another request's id fail the task at
// once with the reason; response headers too large to be an answer fail it without a
// retry, whether they come as one long line or many.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "a2a_script_server.h"

namespace ruvector::a2a {
namespace {

using namespace test;

std::string deep(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

json answer(const json& result, const json& id = kEchoId) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"result", result}};
}

std::string sse_raw(const std::vector<std::string>& datas) {
  std::string body;
  for (const std::string& d : datas) body += "data: " + d + "\n\n";
  return "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n" + body;
}

// Runs one task against `answers`; expects exactly one failure and returns its reason.
std::string failure_of(const std::vector<std::string>& answers, bool streaming,
                       std::size_t* requests = nullptr) {
  ScriptServer server(answers, false);
  Dispatcher d(options());
  d.start(spec(server.url(), streaming));
  std::vector<Event> events = run(d, "ours-1");
  if (requests != nullptr) *requests = server.requests().size();
  std::vector<std::string> s = states(events);
  if (s.empty() || s.back() != "failed") {
    ADD_FAILURE() << "the task did not fail: " << testing::PrintToString(s);
    return {};
  }
  return events.back().reason;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(A2aDispatcherHostile, DeepAnswersFailTheTask) {
  std::string body = answer(nullptr).dump();
  body.replace(body.find("null"), 4, deep(300000));
  std::string reason = failure_of({ScriptServer::http(200, body)}, false);
  EXPECT_TRUE(has(reason, "JSON-RPC answer field \"result[0][0]")) << reason.substr(0, 200);
  EXPECT_TRUE(has(reason, "JSON nested deeper than 64 levels")) << reason.substr(0, 200);

  reason =
      failure_of({sse_raw({answer({{"task", task("TASK_STATE_WORKING")}}).dump(), body})}, true);
  EXPECT_TRUE(has(reason, "stream event field \"result[0]")) << reason.substr(0, 200);
}

TEST(A2aDispatcherHostile, NulInAnAnswerFailsTheTaskAtOnce) {
  json t = task("TASK_STATE_COMPLETED");
  t["status"]["message"] = std::string("a\0b", 3);
  std::size_t requests = 0;
  std::string reason =
      failure_of({ScriptServer::http(200, answer({{"task", t}}).dump())}, false, &requests);
  EXPECT_EQ(reason.substr(reason.find(": ") + 2),
            "JSON-RPC answer field \"result.task.status.message\": NUL character (\\u0000), "
            "which cannot be stored");
  EXPECT_EQ(requests, 1u);  // failed, not polled until the deadline

  json key = {{"statusUpdate", {{"taskId", "T"}, {"status", {{"state", "TASK_STATE_WORKING"}}}}}};
  key["statusUpdate"][std::string("x\0", 2)] = 1;
  reason = failure_of({sse_raw({answer(key).dump()})}, true);
  EXPECT_TRUE(has(reason, "stream event field \"result.statusUpdate.x\\u0000\": NUL character"))
      << reason;
}

TEST(A2aDispatcherHostile, AnswersToAnotherRequestAreRefused) {
  json done = {{"task", task("TASK_STATE_COMPLETED")}};
  std::string reason = failure_of({ScriptServer::http(200, answer(done, 99).dump())}, false);
  EXPECT_TRUE(has(reason, "the answer's JSON-RPC id 99 is not the request's id 1")) << reason;

  // In a stream every event answers the send: the second one here does not.
  reason = failure_of({sse_raw({answer({{"task", task("TASK_STATE_WORKING")}}).dump(),
                                answer(status("TASK_STATE_COMPLETED"), 2).dump()})},
                      true);
  EXPECT_TRUE(has(reason, "the answer's JSON-RPC id 2 is not the request's id 1")) << reason;
}

TEST(A2aDispatcherHostile, OversizedHeadersFailWithoutRetry) {
  std::string one_line = "X-Big: " + std::string(300 * 1024, 'a') + "\r\n";
  std::string many_lines;
  for (int i = 0; i < 3000; i++)
    many_lines += "X-H" + std::to_string(i) + ": " + std::string(90, 'b') + "\r\n";
  for (const std::string& headers : {one_line, many_lines}) {
    std::string response = "HTTP/1.1 200 OK\r\n" + headers +
                           "Content-Type: application/json\r\nContent-Length: 2\r\n"
                           "Connection: close\r\n\r\n{}";
    std::size_t requests = 0;
    std::string reason = failure_of({response}, false, &requests);
    EXPECT_TRUE(has(reason, "the agent's response headers are larger than 65536 bytes")) << reason;
    EXPECT_EQ(requests, 1u);
  }
}

}  // namespace
}  // namespace ruvector::a2a
