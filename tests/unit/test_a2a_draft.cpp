// The pre-0.3 draft A2A dialect (RuVector's Rust rvagent-a2a): how its card is recognised,
// how a message and our trace metadata map onto its TaskSpec and context, and how its
// answers, cancel acknowledgements and bare stream events read back.
#include <gtest/gtest.h>

#include "a2a/protocol.h"
#include "util/error.h"

namespace ruvector::a2a {
namespace {

using nlohmann::json;

TEST(A2aDraft, CardWithoutProtocolVersionAtAgentJsonIsTheDraft) {
  json card = {{"name", "rust"}, {"url", "http://h/a"}, {"capabilities", {{"streaming", true}}}};
  CardInfo info = read_card(card, CardSource::kAgentJson);
  EXPECT_EQ(info.version, Version::kDraft);
  EXPECT_EQ(info.rpc_url, "http://h/a");
  EXPECT_TRUE(info.streaming);
  // The same card under the current name, or one naming its version, is v0.3.
  EXPECT_EQ(read_card(card, CardSource::kAgentCardJson).version, Version::kV03);
  card["protocolVersion"] = "0.3.0";
  EXPECT_EQ(read_card(card, CardSource::kAgentJson).version, Version::kV03);
  EXPECT_THROW(read_card(json{{"name", "r"}, {"url", "ftp://h"}}, CardSource::kAgentJson), Error);
  EXPECT_STREQ(version_name(Version::kDraft), "draft");
  EXPECT_EQ(version_from_name("draft"), Version::kDraft);
  EXPECT_EQ(version_header(Version::kDraft), nullptr);
}

TEST(A2aDraft, SendIsATaskSpecWithTypedPartsAndContext) {
  json message =
      normalize_message(json{{"parts", json::array({{{"text", "hi"}}, {{"data", {{"k", 1}}}}})},
                             {"metadata",
                              {{"trace_id", "0A1B2C3D-0000-4000-8000-00000000ABCD"},
                               {"depth", 2},
                               {"parent_task", "p-1"},
                               {"skill", "summarise"}}}});
  json r = send_request(Version::kDraft, false, message, "task-1", 7);
  EXPECT_EQ(r["method"], "tasks/send");
  EXPECT_EQ(r["id"], 7);
  const json& p = r["params"];
  EXPECT_EQ(p["id"], "task-1");
  EXPECT_EQ(p["skill"], "summarise");
  EXPECT_EQ(p["message"]["role"], "user");
  EXPECT_EQ(p["message"]["parts"][0], (json{{"type", "text"}, {"text", "hi"}}));
  EXPECT_EQ(p["message"]["parts"][1]["type"], "data");
  EXPECT_EQ(p["context"]["trace_id"], "0a1b2c3d00004000800000000000abcd");
  EXPECT_EQ(p["context"]["depth"], 2);
  EXPECT_EQ(p["context"]["parent_task_id"], "p-1");
  EXPECT_EQ(p["context"]["visited_agents"], json::array());
  EXPECT_EQ(p["message"]["metadata"]["ruvector"]["context"], p["context"]);
  EXPECT_EQ(p["metadata"]["ruvector"]["context"], p["context"]);
  EXPECT_EQ(send_request(Version::kDraft, true, message, "t", 1)["method"], "tasks/sendSubscribe");
  EXPECT_EQ(get_task_request(Version::kDraft, "t", 2)["method"], "tasks/get");
  EXPECT_EQ(cancel_task_request(Version::kDraft, "t", 3)["method"], "tasks/cancel");
}

TEST(A2aDraft, InboundContextContinuesRootAndVisitedAgentsBounded) {
  json visited = json::array();
  for (int i = 0; i < 70; ++i) visited.push_back("a" + std::to_string(i));
  json md = {
      {"trace_id", "ab"},
      {"depth", 5},
      {"ruvector",
       {{"context",
         {{"root_agent_id", "root"}, {"current_agent", "me"}, {"visited_agents", visited}}}}}};
  json ctx = draft_context(md);
  EXPECT_EQ(ctx["root_agent_id"], "root");
  EXPECT_EQ(ctx["depth"], 5);
  ASSERT_EQ(ctx["visited_agents"].size(), kMaxVisitedAgents);
  EXPECT_EQ(ctx["visited_agents"].back(), "me");
  EXPECT_EQ(ctx["visited_agents"].front(), "a7");
}

TEST(A2aDraft, AnswersCancelAcksAndStreamEventsRead) {
  json task = {{"jsonrpc", "2.0"},
               {"id", 4},
               {"result",
                {{"id", "t"}, {"status", {{"state", "completed"}}}, {"artifacts", json::array()}}}};
  Update u = read_response(Version::kDraft, task, 4);
  EXPECT_EQ(u.kind, Update::Kind::kTask);
  EXPECT_EQ(u.state, TaskState::kCompleted);
  EXPECT_EQ(u.task_id, "t");
  json ack = {{"jsonrpc", "2.0"}, {"id", 5}, {"result", {{"id", "t"}, {"canceled", true}}}};
  u = read_response(Version::kDraft, ack, 5);
  EXPECT_EQ(u.state, TaskState::kCanceled);
  ack["result"]["canceled"] = false;
  EXPECT_EQ(read_response(Version::kDraft, ack, 5).state, TaskState::kUnknown);
  ack["result"]["canceled"] = "yes";
  EXPECT_THROW(read_response(Version::kDraft, ack, 5), Error);
  json err = {{"jsonrpc", "2.0"},
              {"id", 6},
              {"error", {{"code", -32600}, {"message", "method not found: x"}}}};
  EXPECT_THROW(read_response(Version::kDraft, err, 6), RpcError);

  auto s = read_draft_event(
      "status", json{{"id", "t"}, {"status", {{"state", "working"}}}, {"final", false}});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->kind, Update::Kind::kStatus);
  EXPECT_EQ(s->state, TaskState::kWorking);
  auto a =
      read_draft_event("artifact", json{{"id", "t"}, {"artifact", {{"parts", json::array()}}}});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->kind, Update::Kind::kArtifact);
  EXPECT_FALSE(read_draft_event("warning", json{{"lagged", 3}}));
  EXPECT_THROW(read_draft_event("status", json{{"id", "t"}, {"status", {{"state", "done"}}}}),
               Error);
  EXPECT_THROW(read_draft_event("status", json{{"status", {{"state", "working"}}}}), Error);
}

}  // namespace
}  // namespace ruvector::a2a
