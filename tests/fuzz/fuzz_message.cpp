// A2A messages as a2a.send checks them (a2a._normalize_message), then as the worker reads
// the stored message back and spells it for each protocol version.
#include "a2a/protocol.h"
#include "fuzz.h"
#include "util/json_parse.h"

namespace {

namespace a2a = ruvector::a2a;

std::vector<std::string> seeds() {
  return {R"("Summarise ticket 4711")",
          R"({"parts": [{"text": "hi", "metadata": {"k": 1}}, {"data": {"rows": [1, 2]}},
                        {"file": {"uri": "https://x.example/f", "mimeType": "text/plain",
                                  "name": "f"}},
                        {"file": {"bytes": "aGk="}}],
              "metadata": {"trace": "t"}, "contextId": "C", "taskId": "T"})"};
}

void run(const std::string& input, fuzz::Rng& rng) {
  nlohmann::json m = a2a::normalize_message(ruvector::parse_json(input, "A2A message"));
  m = ruvector::parse_json(m.dump(), "the task's message");
  const a2a::Version versions[] = {a2a::Version::kV1, a2a::Version::kV03, a2a::Version::kDraft};
  a2a::send_request(versions[rng.below(3)], rng.chance(50), m, "ours", 1).dump();
}

const bool registered = fuzz::register_driver({"message", seeds, nullptr, run, nullptr});

}  // namespace
