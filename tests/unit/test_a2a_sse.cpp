// Server-Sent Events framing: line endings, multi-line data, comments, ids, chunking at
// every byte boundary, BOM, and the size limit.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "a2a/sse_parser.h"
#include "util/error.h"

using ruvector::a2a::SseEvent;
using ruvector::a2a::SseParser;

namespace {

std::vector<SseEvent> parse_in_chunks(const std::string& stream, std::size_t chunk) {
  std::vector<SseEvent> events;
  SseParser parser([&](const SseEvent& e) { events.push_back(e); }, 1 << 20);
  for (std::size_t i = 0; i < stream.size(); i += chunk) {
    parser.feed(stream.data() + i, std::min(chunk, stream.size() - i));
  }
  return events;
}

}  // namespace

TEST(A2aSse, ParsesEventsWithEveryLineEnding) {
  const std::string stream =
      "\xEF\xBB\xBF: keep-alive\r\n"
      "data: {\"a\":1}\r\n\r\n"
      "event: error\n"
      "data: line one\n"
      "data:line two\n"
      "id: 7\n\n"
      "data: cr only\r\r"
      "retry: 2500\n"
      "unknown: field\n"
      "data\n\n"
      "event: ignored-without-data\n\n";
  for (std::size_t chunk = 1; chunk <= stream.size(); chunk++) {
    SCOPED_TRACE("chunk " + std::to_string(chunk));
    std::vector<SseEvent> events = parse_in_chunks(stream, chunk);
    ASSERT_EQ(events.size(), 4u);
    EXPECT_EQ(events[0].type, "message");
    EXPECT_EQ(events[0].data, "{\"a\":1}");
    EXPECT_EQ(events[1].type, "error");
    EXPECT_EQ(events[1].data, "line one\nline two");
    EXPECT_EQ(events[1].id, "7");
    EXPECT_EQ(events[2].data, "cr only");
    EXPECT_EQ(events[2].id, "7");   // the last id persists
    EXPECT_EQ(events[3].data, "");  // "data" with no colon is an empty data line
  }
}

TEST(A2aSse, IncompleteEventIsNotDispatched) {
  EXPECT_TRUE(parse_in_chunks("data: partial\n", 4).empty());
  EXPECT_TRUE(parse_in_chunks("data: no newline", 4).empty());
}

TEST(A2aSse, RetryField) {
  long retry = 0;
  SseParser parser([](const SseEvent&) {}, 1024);
  std::string s = "retry: 1500\nretry: x\n\n";
  parser.feed(s.data(), s.size());
  retry = parser.retry_ms();
  EXPECT_EQ(retry, 1500);
}

TEST(A2aSse, OversizedEventIsAnError) {
  SseParser parser([](const SseEvent&) {}, 64);
  std::string line = "data: " + std::string(100, 'x') + "\n";
  EXPECT_THROW(parser.feed(line.data(), line.size()), ruvector::Error);
  SseParser parser2([](const SseEvent&) {}, 64);
  std::string lines;
  for (int i = 0; i < 10; i++) lines += "data: " + std::string(10, 'y') + "\n";
  EXPECT_THROW(parser2.feed(lines.data(), lines.size()), ruvector::Error);
}
