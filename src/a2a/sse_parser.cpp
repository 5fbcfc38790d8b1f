// See sse_parser.h. Follows the WHATWG algorithm: lines end in CRLF, LF or CR; a blank
// line dispatches; a leading ':' is a comment; "field: value" drops one leading space.
#include "a2a/sse_parser.h"

#include <string_view>

#include "util/error.h"

namespace ruvector::a2a {

SseParser::SseParser(Handler handler, std::size_t max_event_bytes)
    : handler_(std::move(handler)), max_event_bytes_(max_event_bytes) {}

void SseParser::feed(const char* bytes, std::size_t size) {
  if (bom_checked_) {
    consume(bytes, size);
    return;
  }
  // A UTF-8 byte order mark may start the stream and may arrive split across chunks:
  // hold the first bytes until they can no longer be the start of one.
  constexpr std::string_view kBom = "\xEF\xBB\xBF";
  pending_.append(bytes, size);
  std::string_view seen(pending_);
  if (seen.size() < kBom.size() && kBom.substr(0, seen.size()) == seen) return;
  bom_checked_ = true;
  std::string head;
  head.swap(pending_);
  std::size_t skip = std::string_view(head).substr(0, kBom.size()) == kBom ? kBom.size() : 0;
  consume(head.data() + skip, head.size() - skip);
}

void SseParser::consume(const char* bytes, std::size_t size) {
  for (std::size_t i = 0; i < size; i++) {
    char c = bytes[i];
    if (c == '\n' && last_was_cr_) {  // the LF of a CRLF pair: the CR already ended the line
      last_was_cr_ = false;
      continue;
    }
    last_was_cr_ = (c == '\r');
    if (c == '\r' || c == '\n') {
      process_line(line_);
      line_.clear();
      continue;
    }
    line_.push_back(c);
    if (line_.size() > max_event_bytes_) {
      fail(ErrorKind::kResourceLimit,
           "event stream line exceeds " + std::to_string(max_event_bytes_) + " bytes");
    }
  }
}

void SseParser::process_line(const std::string& line) {
  if (line.empty()) {
    dispatch();
    return;
  }
  if (line[0] == ':') return;  // comment, often a keep-alive
  std::size_t colon = line.find(':');
  std::string field = line.substr(0, colon);
  std::string value;
  if (colon != std::string::npos) {
    value = line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.erase(0, 1);
  }
  if (field == "event") {
    event_type_ = value;
  } else if (field == "data") {
    if (has_data_) data_.push_back('\n');
    data_ += value;
    has_data_ = true;
    if (data_.size() > max_event_bytes_) {
      fail(ErrorKind::kResourceLimit,
           "event stream event exceeds " + std::to_string(max_event_bytes_) + " bytes");
    }
  } else if (field == "id") {
    if (value.find('\0') == std::string::npos) last_id_ = value;
  } else if (field == "retry") {
    bool digits = !value.empty() && value.find_first_not_of("0123456789") == std::string::npos;
    if (digits && value.size() < 10) retry_ms_ = std::stol(value);
  }
  // Other fields are ignored, as the standard requires.
}

void SseParser::dispatch() {
  if (has_data_) {
    SseEvent event{event_type_.empty() ? "message" : event_type_, data_, last_id_};
    handler_(event);
  }
  event_type_.clear();
  data_.clear();
  has_data_ = false;
}

}  // namespace ruvector::a2a
