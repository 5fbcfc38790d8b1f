// See protocol.h. Version differences are confined here: v1.0 names methods in
// PascalCase, spells roles and states as enum names, and wraps each result in a member
// named for its kind; v0.3 uses slash-separated methods, lower-case words and "kind"; the
// draft (rvagent-a2a) sends a whole TaskSpec with its trace context, tags parts "type",
// streams bare status and artifact events, and answers a cancel with {"canceled": true}.
#include "a2a/protocol.h"

#include <algorithm>
#include <cctype>

#include "util/error.h"

namespace ruvector::a2a {

using nlohmann::json;

namespace {

[[noreturn]] void bad_card(const std::string& what) {
  fail(ErrorKind::kDataException, "invalid AgentCard: " + what);
}
[[noreturn]] void bad_message(const std::string& what) {
  fail(ErrorKind::kInvalidParameter, "invalid A2A message: " + what);
}
[[noreturn]] void bad_response(const std::string& what) {
  fail(ErrorKind::kDataException, "malformed A2A response: " + what);
}

std::string string_member(const json& obj, const char* name) {
  auto it = obj.find(name);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool is_http_url(const std::string& url) {
  auto starts = [&](const char* p) { return url.rfind(p, 0) == 0; };
  return starts("http://") || starts("https://");
}

// "1.0", "1", "1.2" -> v1; "0.3", "0.3.0" -> v0.3; anything else: not spoken.
bool parse_version(const std::string& text, Version* out) {
  if (text == "1" || text.rfind("1.", 0) == 0) {
    *out = Version::kV1;
    return true;
  }
  if (text == "0.3" || text.rfind("0.3.", 0) == 0) {
    *out = Version::kV03;
    return true;
  }
  return false;
}

json draft_part(const json& part) {
  json out = json::object();
  if (auto m = part.find("metadata"); m != part.end()) out["metadata"] = *m;
  for (const char* k : {"text", "data", "file"}) {
    if (auto it = part.find(k); it != part.end()) {
      out["type"] = k;
      out[k] = *it;
    }
  }
  return out;
}

// Our trace ids are UUIDs; the draft's are 32 lower-case hex digits (W3C trace context).
std::string hex_trace_id(const std::string& uuid) {
  std::string out;
  for (char c : uuid) {
    if (c != '-') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

json wire_part(Version v, const json& part) {
  if (v == Version::kDraft) return draft_part(part);
  json out = json::object();
  if (auto m = part.find("metadata"); m != part.end()) out["metadata"] = *m;
  if (auto t = part.find("text"); t != part.end()) {
    out["text"] = *t;
    if (v == Version::kV03) out["kind"] = "text";
  } else if (auto d = part.find("data"); d != part.end()) {
    out["data"] = *d;
    if (v == Version::kV03) out["kind"] = "data";
  } else {
    const json& f = part.at("file");
    if (v == Version::kV03) {
      out["kind"] = "file";
      out["file"] = f;
    } else {
      if (f.contains("uri")) out["url"] = f["uri"];
      if (f.contains("bytes")) out["raw"] = f["bytes"];
      if (f.contains("mimeType")) out["mediaType"] = f["mimeType"];
      if (f.contains("name")) out["filename"] = f["name"];
    }
  }
  return out;
}

json rpc(std::int64_t id, const char* method, json params) {
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
}

// v1.0 wraps the result in a member named for its kind; v0.3 tags it with "kind".
// Either way: which kind, and the object itself.
Update::Kind result_kind(Version v, const json& result, const json** object) {
  static const struct {
    const char* v1;
    const char* v03;
    Update::Kind kind;
  } kKinds[] = {{"task", "task", Update::Kind::kTask},
                {"statusUpdate", "status-update", Update::Kind::kStatus},
                {"artifactUpdate", "artifact-update", Update::Kind::kArtifact},
                {"message", "message", Update::Kind::kMessage}};
  if (!result.is_object()) bad_response("result is not an object");
  for (const auto& k : kKinds) {
    auto it = result.find(k.v1);
    if (it != result.end() && it->is_object()) {
      *object = &*it;
      return k.kind;
    }
  }
  // A v1.0 server may still answer a v0.3-style result, and vice versa: accept both.
  (void)v;
  std::string kind = string_member(result, "kind");
  for (const auto& k : kKinds) {
    if (kind == k.v03) {
      *object = &result;
      return k.kind;
    }
  }
  // v1.0 GetTask and CancelTask answer the bare task.
  if (result.contains("id") && result.contains("status")) {
    *object = &result;
    return Update::Kind::kTask;
  }
  bad_response("result is neither a task, a status update, an artifact update nor a message");
}

// Every answer, stream events included, carries the id of the request it answers: one for
// another request (a confused or replaying peer) must not be recorded as this task's.
void check_rpc_id(const json& response, std::int64_t rpc_id) {
  auto id = response.find("id");
  if (id == response.end())
    fail(ErrorKind::kDataException,
         "the answer has no JSON-RPC id (the request's id is " + std::to_string(rpc_id) + ")");
  if (id->is_number_unsigned()
          ? rpc_id >= 0 && id->get<std::uint64_t>() == static_cast<std::uint64_t>(rpc_id)
          : id->is_number_integer() && id->get<std::int64_t>() == rpc_id)
    return;
  if (id->is_null() && response.contains("error")) return;
  std::string shown = id->is_primitive() ? id->dump(-1, ' ', true, json::error_handler_t::replace)
                                         : id->type_name();
  if (shown.size() > 64) shown = shown.substr(0, 61) + "...";
  fail(ErrorKind::kDataException,
       "the answer's JSON-RPC id " + shown + " is not the request's id " + std::to_string(rpc_id));
}

}  // namespace

const char* version_name(Version v) {
  switch (v) {
    case Version::kV1:
      return "1.0";
    case Version::kV03:
      return "0.3";
    case Version::kDraft:
      return "draft";
  }
  return "1.0";
}

Version version_from_name(const std::string& name) {
  if (name == "0.3") return Version::kV03;
  if (name == "draft") return Version::kDraft;
  return Version::kV1;
}

const char* state_name(TaskState s) {
  switch (s) {
    case TaskState::kSubmitted:
      return "submitted";
    case TaskState::kWorking:
      return "working";
    case TaskState::kInputRequired:
      return "input-required";
    case TaskState::kAuthRequired:
      return "auth-required";
    case TaskState::kCompleted:
      return "completed";
    case TaskState::kCanceled:
      return "canceled";
    case TaskState::kFailed:
      return "failed";
    case TaskState::kRejected:
      return "rejected";
    case TaskState::kUnknown:
      break;
  }
  return "unknown";
}

TaskState parse_state(const std::string& text) {
  std::string t = text;
  if (t.rfind("TASK_STATE_", 0) == 0) t = t.substr(11);
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) {
    return c == '_' ? '-' : static_cast<char>(std::tolower(c));
  });
  if (t == "cancelled") t = "canceled";
  for (TaskState s : {TaskState::kSubmitted, TaskState::kWorking, TaskState::kInputRequired,
                      TaskState::kAuthRequired, TaskState::kCompleted, TaskState::kCanceled,
                      TaskState::kFailed, TaskState::kRejected}) {
    if (t == state_name(s)) return s;
  }
  return TaskState::kUnknown;
}

bool is_terminal(TaskState s) {
  return s == TaskState::kCompleted || s == TaskState::kCanceled || s == TaskState::kFailed ||
         s == TaskState::kRejected;
}

bool ends_stream(TaskState s) { return is_terminal(s) || s == TaskState::kInputRequired; }

CardInfo read_card(const json& card, CardSource source) {
  if (!card.is_object()) bad_card("not a JSON object");
  CardInfo info;
  info.name = string_member(card, "name");
  if (info.name.empty()) bad_card("missing \"name\"");
  if (auto c = card.find("capabilities"); c != card.end() && c->is_object()) {
    auto s = c->find("streaming");
    info.streaming = s != c->end() && s->is_boolean() && s->get<bool>();
  }

  // v1.0: supportedInterfaces [{url, protocolBinding, protocolVersion}]; v0.3: url +
  // preferredTransport + protocolVersion at top level, more in additionalInterfaces.
  bool found = false;
  auto consider = [&](const std::string& url, const std::string& binding,
                      const std::string& version) {
    Version v;
    if (binding != "JSONRPC" || !is_http_url(url) || !parse_version(version, &v)) return;
    if (!found || (v == Version::kV1 && info.version != Version::kV1)) {
      info.rpc_url = url;
      info.version = v;
      found = true;
    }
  };
  if (auto list = card.find("supportedInterfaces"); list != card.end()) {
    if (!list->is_array()) bad_card("\"supportedInterfaces\" is not an array");
    for (const json& i : *list) {
      if (!i.is_object()) bad_card("an entry of \"supportedInterfaces\" is not an object");
      consider(string_member(i, "url"), string_member(i, "protocolBinding"),
               string_member(i, "protocolVersion"));
    }
  }
  std::string top_version = string_member(card, "protocolVersion");
  // rvagent-a2a's card: agent.json, `url` only, no protocolVersion and no interface list.
  if (source == CardSource::kAgentJson && top_version.empty() &&
      !card.contains("supportedInterfaces") && !card.contains("additionalInterfaces") &&
      !card.contains("preferredTransport")) {
    info.rpc_url = string_member(card, "url");
    if (!is_http_url(info.rpc_url)) bad_card("the draft card's \"url\" is not an http(s) URL");
    info.version = Version::kDraft;
    return info;
  }
  if (card.contains("url")) {
    std::string transport = string_member(card, "preferredTransport");
    consider(string_member(card, "url"), transport.empty() ? "JSONRPC" : transport,
             top_version.empty() ? "0.3" : top_version);
  }
  if (auto list = card.find("additionalInterfaces"); list != card.end() && list->is_array()) {
    for (const json& i : *list) {
      if (i.is_object())
        consider(string_member(i, "url"), string_member(i, "transport"),
                 top_version.empty() ? "0.3" : top_version);
    }
  }
  if (!found) bad_card("no JSON-RPC interface of protocol version 1.x or 0.3 with an http(s) URL");
  return info;
}

json normalize_message(const json& message) {
  json m = message.is_string() ? json{{"parts", json::array({{{"text", message}}})}} : message;
  if (!m.is_object()) bad_message("expected a text or a JSON object with \"parts\"");
  for (auto it = m.begin(); it != m.end(); ++it) {
    const std::string& k = it.key();
    if (k != "parts" && k != "metadata" && k != "contextId" && k != "taskId")
      bad_message("unknown member \"" + k + "\" (expected parts, metadata, contextId, taskId)");
  }
  auto parts = m.find("parts");
  if (parts == m.end() || !parts->is_array() || parts->empty())
    bad_message("\"parts\" must be a non-empty array");
  for (const json& p : *parts) {
    if (!p.is_object()) bad_message("a part is not an object");
    int kinds = p.contains("text") + p.contains("data") + p.contains("file");
    if (kinds != 1) bad_message("a part must have exactly one of \"text\", \"data\", \"file\"");
    if (p.contains("text") && !p["text"].is_string()) bad_message("\"text\" must be a string");
    if (p.contains("file")) {
      const json& f = p["file"];
      if (!f.is_object() || (f.contains("uri") == f.contains("bytes")))
        bad_message("a file part needs exactly one of \"uri\" and \"bytes\"");
    }
    if (p.contains("metadata") && !p["metadata"].is_object())
      bad_message("a part's \"metadata\" must be an object");
  }
  if (m.contains("metadata") && !m["metadata"].is_object())
    bad_message("\"metadata\" must be an object");
  for (const char* id : {"contextId", "taskId"}) {
    if (m.contains(id) && !m[id].is_string())
      bad_message(std::string("\"") + id + "\" must be a string");
  }
  return m;
}

json draft_context(const json& metadata) {
  json ctx = json::object();
  const json md = metadata.is_object() ? metadata : json::object();
  ctx["trace_id"] = hex_trace_id(string_member(md, "trace_id"));
  auto depth = md.find("depth");
  // Parsed JSON holds a non-negative integer as unsigned, one built in code as signed.
  bool has_depth =
      depth != md.end() && depth->is_number_integer() && depth->get<std::int64_t>() >= 0;
  ctx["depth"] = has_depth ? depth->get<std::int64_t>() : 0;
  std::string parent = string_member(md, "parent_task");
  if (!parent.empty()) ctx["parent_task_id"] = parent;
  std::string root = "ruvector-postgres";
  json visited = json::array();
  const json* inbound = nullptr;
  if (auto r = md.find("ruvector"); r != md.end() && r->is_object()) {
    if (auto c = r->find("context"); c != r->end() && c->is_object()) inbound = &*c;
  }
  if (inbound != nullptr) {
    if (std::string r = string_member(*inbound, "root_agent_id"); !r.empty()) root = r;
    if (auto v = inbound->find("visited_agents"); v != inbound->end() && v->is_array()) {
      for (const json& a : *v) {
        if (a.is_string()) visited.push_back(a);
      }
    }
    if (std::string cur = string_member(*inbound, "current_agent"); !cur.empty())
      visited.push_back(cur);
    // Keep the most recent hops: a cycle check needs the near ones, and a peer must not be
    // able to grow every later message without bound.
    while (visited.size() > kMaxVisitedAgents) visited.erase(visited.begin());
  }
  ctx["root_agent_id"] = root;
  ctx["current_agent"] = "";
  ctx["visited_agents"] = std::move(visited);
  return ctx;
}

std::string draft_subscribe_url(const std::string& rpc_url, const std::string& task_id) {
  std::string base = rpc_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  // Our task ids are UUIDs: nothing in them needs escaping in a query.
  return base + "/tasks/sendSubscribe?id=" + task_id;
}

namespace {

// rvagent-a2a's tasks/send params: a TaskSpec. Its skill comes from the message metadata's
// "skill" (the draft routes on it); the context travels both at the top, where the
// recursion guard reads it, and in the message metadata, where agents relay it.
json draft_send_request(bool streaming, const json& message, const std::string& task_id,
                        std::int64_t rpc_id) {
  json metadata = message.value("metadata", json::object());
  json ctx = draft_context(metadata);
  std::string skill = string_member(metadata, "skill");
  if (!metadata["ruvector"].is_object()) metadata["ruvector"] = json::object();
  metadata["ruvector"]["context"] = ctx;
  json parts = json::array();
  for (const json& p : message.at("parts")) parts.push_back(draft_part(p));
  json params{{"id", task_id},
              {"skill", skill},
              {"message", {{"role", "user"}, {"parts", std::move(parts)}, {"metadata", metadata}}},
              {"context", ctx},
              {"metadata", {{"ruvector", {{"context", ctx}}}}}};
  // The draft's tasks/sendSubscribe is tasks/send whose events are read from the GET
  // stream opened before it (draft_subscribe_url).
  return rpc(rpc_id, streaming ? "tasks/sendSubscribe" : "tasks/send", std::move(params));
}

}  // namespace

json send_request(Version v, bool streaming, const json& message, const std::string& message_id,
                  std::int64_t rpc_id) {
  if (v == Version::kDraft) return draft_send_request(streaming, message, message_id, rpc_id);
  json wire = json::object();
  wire["messageId"] = message_id;
  wire["role"] = v == Version::kV1 ? "ROLE_USER" : "user";
  if (v == Version::kV03) wire["kind"] = "message";
  json parts = json::array();
  for (const json& p : message.at("parts")) parts.push_back(wire_part(v, p));
  wire["parts"] = std::move(parts);
  for (const char* k : {"metadata", "contextId", "taskId"}) {
    if (message.contains(k)) wire[k] = message[k];
  }
  json params{{"message", std::move(wire)}};
  if (!streaming) {
    // Never hold a connection open for the whole task: the worker polls instead.
    params["configuration"] =
        v == Version::kV1 ? json{{"returnImmediately", true}} : json{{"blocking", false}};
  }
  const char* method = v == Version::kV1 ? (streaming ? "SendStreamingMessage" : "SendMessage")
                                         : (streaming ? "message/stream" : "message/send");
  return rpc(rpc_id, method, std::move(params));
}

json get_task_request(Version v, const std::string& task_id, std::int64_t rpc_id) {
  return rpc(rpc_id, v == Version::kV1 ? "GetTask" : "tasks/get", json{{"id", task_id}});
}

json cancel_task_request(Version v, const std::string& task_id, std::int64_t rpc_id) {
  return rpc(rpc_id, v == Version::kV1 ? "CancelTask" : "tasks/cancel", json{{"id", task_id}});
}

const char* version_header(Version v) { return v == Version::kV1 ? "A2A-Version: 1.0" : nullptr; }

Update read_response(Version v, const json& response, std::int64_t rpc_id) {
  if (!response.is_object()) bad_response("not a JSON object");
  check_rpc_id(response, rpc_id);
  if (auto e = response.find("error"); e != response.end()) {
    long code = 0;
    std::string message = "error without a message";
    if (e->is_object()) {
      if (auto c = e->find("code"); c != e->end() && c->is_number_integer()) code = c->get<long>();
      if (auto m = e->find("message"); m != e->end() && m->is_string())
        message = m->get<std::string>();
    }
    throw RpcError(code, message);
  }
  auto r = response.find("result");
  if (r == response.end()) bad_response("neither \"result\" nor \"error\"");
  Update u;
  if (v == Version::kDraft && r->is_object() && r->contains("canceled") && !r->contains("status")) {
    // The draft acknowledges tasks/cancel with {"id", "canceled": true} instead of the task.
    auto c = r->find("canceled");
    if (!c->is_boolean()) bad_response("\"canceled\" is not a boolean");
    u.kind = c->get<bool>() ? Update::Kind::kStatus : Update::Kind::kMessage;
    u.task_id = string_member(*r, "id");
    u.state = c->get<bool>() ? TaskState::kCanceled : TaskState::kUnknown;
    u.payload = *r;
    return u;
  }
  const json* object = nullptr;
  u.kind = result_kind(v, *r, &object);
  u.payload = *object;
  u.context_id = string_member(*object, "contextId");
  switch (u.kind) {
    case Update::Kind::kTask: {
      u.task_id = string_member(*object, "id");
      auto status = object->find("status");
      if (u.task_id.empty() || status == object->end() || !status->is_object())
        bad_response("a task without \"id\" or \"status\"");
      u.state = parse_state(string_member(*status, "state"));
      break;
    }
    case Update::Kind::kStatus: {
      u.task_id = string_member(*object, "taskId");
      auto status = object->find("status");
      if (status == object->end() || !status->is_object())
        bad_response("a status update without \"status\"");
      u.state = parse_state(string_member(*status, "state"));
      break;
    }
    case Update::Kind::kArtifact:
      u.task_id = string_member(*object, "taskId");
      if (!object->contains("artifact")) bad_response("an artifact update without \"artifact\"");
      break;
    case Update::Kind::kMessage:
      // A direct answer without a task ends the exchange; a message inside a task's
      // stream says nothing of its state.
      u.task_id = string_member(*object, "taskId");
      u.state = u.task_id.empty() ? TaskState::kCompleted : TaskState::kUnknown;
      break;
  }
  if ((u.kind == Update::Kind::kTask || u.kind == Update::Kind::kStatus) &&
      u.state == TaskState::kUnknown)
    bad_response("unknown task state");
  return u;
}

std::optional<Update> read_draft_event(const std::string& type, const json& data) {
  if (type != "status" && type != "artifact") return std::nullopt;
  if (!data.is_object()) bad_response("a stream event is not a JSON object");
  Update u;
  u.task_id = string_member(data, "id");
  if (u.task_id.empty()) bad_response("a stream event without \"id\"");
  u.payload = data;
  if (type == "artifact") {
    u.kind = Update::Kind::kArtifact;
    if (!data.contains("artifact")) bad_response("an artifact event without \"artifact\"");
    return u;
  }
  u.kind = Update::Kind::kStatus;
  auto status = data.find("status");
  if (status == data.end() || !status->is_object())
    bad_response("a status event without \"status\"");
  u.state = parse_state(string_member(*status, "state"));
  if (u.state == TaskState::kUnknown) bad_response("unknown task state");
  return u;
}

const char* kind_name(Update::Kind kind) {
  switch (kind) {
    case Update::Kind::kTask:
      return "task";
    case Update::Kind::kStatus:
      return "status-update";
    case Update::Kind::kArtifact:
      return "artifact-update";
    case Update::Kind::kMessage:
      return "message";
  }
  return "unknown";
}

}  // namespace ruvector::a2a
