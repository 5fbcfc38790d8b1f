// Server-Sent Event streams as the dispatcher reads them: bytes in random chunks into the
// SSE parser, each event's data through the bounded parse and read_response. Mutations
// damage the framing (line ends, BOM, comments, fields, over-long lines) or put a hostile
// answer in an event.
#include "a2a/protocol.h"
#include "a2a/sse_parser.h"
#include "fuzz.h"
#include "util/json_parse.h"

namespace {

namespace a2a = ruvector::a2a;
using nlohmann::json;

const char* const kEvent =
    R"({"jsonrpc":"2.0","id":1,"result":{"statusUpdate":{"taskId":"T","status":{"state":"TASK_STATE_WORKING"}}}})";

std::vector<std::string> seeds() {
  std::string e = kEvent;
  return {
      "data: " + e + "\n\n",
      "\xEF\xBB\xBF: keep-alive\r\nevent: message\r\nid: 7\r\ndata: " + e +
          "\r\n\r\nretry: 1000\r\ndata:" + e + "\r\r",
      "data: {\"jsonrpc\":\"2.0\",\n" + std::string("data: \"id\":1,\"result\":{\"kind\":") +
          "\"status-update\",\"taskId\":\"T\",\"status\":{\"state\":\"completed\"}}}\n\n",
      "data: {\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700}}\n\n",
      "event: status\ndata: {\"id\":\"T\",\"status\":{\"state\":\"working\"},\"final\":false}\n\n"
      "event: artifact\ndata: {\"id\":\"T\",\"artifact\":{\"parts\":[]}}\n\n"};
}

std::string mutate(const std::vector<std::string>& s, fuzz::Rng& rng) {
  static const char* const kEnds[] = {"\n", "\r", "\r\n"};
  if (rng.chance(50)) {
    std::string end = kEnds[rng.below(3)];
    std::string data = fuzz::mutate_json(json::parse(kEvent), rng);
    if (rng.chance(10)) data = std::string(70000, 'x');  // one line over the event limit
    std::string stream = std::string("data: ") + kEvent + end + end + "data: " + data + end + end;
    return rng.chance(20) ? fuzz::mutate_bytes(stream, rng) : stream;
  }
  return fuzz::mutate_bytes(s[rng.below(s.size())], rng);
}

bool documented(const std::exception& e) { return dynamic_cast<const a2a::RpcError*>(&e); }

void run(const std::string& input, fuzz::Rng& rng) {
  a2a::SseParser parser(
      [](const a2a::SseEvent& ev) {
        json body = ruvector::parse_json(ev.data, "stream event", ruvector::kJsonbBounds);
        // A draft (rvagent-a2a) stream: bare events named by their SSE type.
        if (ev.type == "status" || ev.type == "artifact") {
          if (auto u = a2a::read_draft_event(ev.type, body)) u->payload.dump();
          return;
        }
        a2a::read_response(a2a::Version::kV1, body, 1).payload.dump();
      },
      64 * 1024);
  for (std::size_t at = 0; at < input.size();) {
    std::size_t n = std::min(input.size() - at, 1 + rng.below(rng.chance(50) ? 8 : 4096));
    parser.feed(input.data() + at, n);
    at += n;
  }
}

const bool registered = fuzz::register_driver({"sse", seeds, mutate, run, documented});

}  // namespace
