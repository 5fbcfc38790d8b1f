// The dispatcher against a scripted HTTP server: streams split into tiny chunks, streams
// that end early (followed with GetTask), polling that records only changes, transient and
// final failures, the host allow-list and the per-task event cap. Runs under ASan too.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "a2a_script_server.h"

namespace ruvector::a2a {
namespace {

using namespace test;

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
    json error = {
        {"jsonrpc", "2.0"}, {"id", kEchoId}, {"error", {{"code", -32004}, {"message", "no"}}}};
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
    EXPECT_NE(events[0].reason.find("JSON-RPC answer is not valid JSON"), std::string::npos)
        << events[0].reason;
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
