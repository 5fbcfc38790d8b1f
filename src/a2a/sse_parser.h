// Incremental parser for Server-Sent Events (WHATWG HTML, "event stream interpretation"),
// the framing of A2A's streaming methods. Bytes arrive in arbitrary chunks; complete
// events come out. Limits keep a hostile peer from growing memory without bound.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

namespace ruvector::a2a {

struct SseEvent {
  std::string type;  // "event:" field; "message" when absent
  std::string data;  // "data:" lines joined with '\n'
  std::string id;    // last "id:" seen on the stream so far
};

class SseParser {
 public:
  using Handler = std::function<void(const SseEvent&)>;

  // `max_event_bytes` bounds one event's data (and any single line); exceeding it throws
  // ruvector::Error(kResourceLimit) naming the limit.
  SseParser(Handler handler, std::size_t max_event_bytes);

  // Feeds the next chunk of the stream; calls the handler for each completed event.
  void feed(const char* bytes, std::size_t size);

  // The retry interval the server asked for in milliseconds, or -1 if none.
  long retry_ms() const { return retry_ms_; }

 private:
  void consume(const char* bytes, std::size_t size);
  void process_line(const std::string& line);
  void dispatch();

  Handler handler_;
  std::size_t max_event_bytes_;
  std::string line_;
  bool last_was_cr_ = false;
  bool bom_checked_ = false;
  std::string pending_;  // first bytes, until we know whether they are a BOM
  std::string event_type_;
  std::string data_;
  bool has_data_ = false;
  std::string last_id_;
  long retry_ms_ = -1;
};

}  // namespace ruvector::a2a
