// See json_parse.h. nlohmann's parser is iterative; what recurses is everything done with
// the value afterwards. So the SAX handler below builds the value itself, one container at
// a time, and refuses before opening one past the limit. It keeps the key or index of
// every open container so that an error can name the field.
#include "util/json_parse.h"

#include <cstdio>
#include <utility>
#include <vector>

namespace ruvector {
namespace {

using nlohmann::json;

// Paths and causes quoted in messages are cut to this many bytes.
constexpr std::size_t kMaxQuoted = 200;

// `s` cut to at most `max` bytes at a UTF-8 character boundary.
std::string clip(std::string s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) cut--;
  s.resize(cut);
  return s + "...";
}

std::string message(std::string_view what, const std::string& path, std::string_view problem) {
  std::string m(what);
  if (!path.empty()) m += " field \"" + clip(path, kMaxQuoted) + "\"";
  m += ": ";
  m += problem;
  return m;
}

// nlohmann's message without its "[json.exception.parse_error.101] " prefix, in ASCII: the
// token it quotes may be the very byte that is not UTF-8.
std::string syntax_cause(const json::exception& e) {
  std::string what = e.what();
  std::size_t bracket = what.find("] ");
  std::string cause = clip(bracket == std::string::npos ? what : what.substr(bracket + 2), 300);
  for (char& c : cause) {
    if (static_cast<unsigned char>(c) >= 0x80) c = '?';
  }
  return cause;
}

class BoundedBuilder {
 public:
  BoundedBuilder(json& root, std::string_view what, const JsonBounds& bounds)
      : root_(root), what_(what), bounds_(bounds) {}

  bool null() { return value(json(nullptr)); }
  bool boolean(bool v) { return value(json(v)); }
  bool number_integer(json::number_integer_t v) { return value(json(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return value(json(v)); }
  bool number_float(json::number_float_t v, const json::string_t&) { return value(json(v)); }
  bool binary(json::binary_t& b) { return value(json::binary(std::move(b))); }
  bool string(json::string_t& s) {
    if (bounds_.nul == NulStrings::kRefuse && s.find('\0') != std::string::npos) refuse_nul();
    return value(json(std::move(s)));
  }

  bool start_object(std::size_t) { return open(json::object()); }
  bool start_array(std::size_t) { return open(json::array()); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool key(json::string_t& k) {
    Frame& f = frames_.back();
    f.key = k;
    f.has_key = true;
    if (bounds_.nul == NulStrings::kRefuse && k.find('\0') != std::string::npos) refuse_nul();
    if (bounds_.duplicates == DuplicateKeys::kRefuse && f.node->contains(k))
      fail(ErrorKind::kDataException, "key appears more than once");
    return true;
  }

  bool parse_error(std::size_t, const std::string&, const json::exception& e) {
    // 406: a number beyond double's range (1e400); everything else is syntax.
    if (e.id == 406) fail(ErrorKind::kDataException, "number out of range");
    throw JsonError(ErrorKind::kDataException,
                    std::string(what_) + " is not valid JSON: " + syntax_cause(e), {});
  }

 private:
  struct Frame {
    json* node = nullptr;
    std::size_t index = 0;  // arrays: the element being read
    std::string key;        // objects: the member being read
    bool has_key = false;
  };

  // Where the value being read sits, as "a.b[2]".
  std::string path() const {
    std::string p;
    for (const Frame& f : frames_) {
      if (f.node->is_array()) {
        p += "[" + std::to_string(f.index) + "]";
      } else if (f.has_key) {
        if (!p.empty()) p += '.';
        for (unsigned char c : f.key) {
          if (c < 0x20 || c == '"' || c == '\\') {
            char escaped[8];
            std::snprintf(escaped, sizeof(escaped), "\\u%04x", c);
            p += escaped;
          } else {
            p.push_back(static_cast<char>(c));
          }
        }
      }
    }
    return p;
  }

  [[noreturn]] void fail(ErrorKind kind, std::string_view problem) const {
    std::string p = path();
    throw JsonError(kind, message(what_, p, problem), p);
  }
  [[noreturn]] void refuse_nul() const {
    fail(ErrorKind::kDataException, "NUL character (\\u0000), which cannot be stored");
  }

  // Puts `v` where the value being read goes; returns where it is.
  json* place(json&& v) {
    if (frames_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    Frame& f = frames_.back();
    if (f.node->is_array()) {
      f.node->push_back(std::move(v));
      return &f.node->back();
    }
    json& slot = (*f.node)[f.key];
    slot = std::move(v);
    return &slot;
  }

  bool value(json&& v) {
    place(std::move(v));
    if (!frames_.empty()) frames_.back().index++;
    return true;
  }

  bool open(json&& container) {
    if (static_cast<int>(frames_.size()) >= bounds_.max_depth)
      fail_json_too_deep(what_, path(), bounds_.max_depth);
    Frame f;
    f.node = place(std::move(container));
    frames_.push_back(std::move(f));
    return true;
  }

  bool close() {
    frames_.pop_back();
    if (!frames_.empty()) frames_.back().index++;
    return true;
  }

  json& root_;
  std::string_view what_;
  const JsonBounds& bounds_;
  std::vector<Frame> frames_;
};

}  // namespace

json parse_json(std::string_view text, std::string_view what, const JsonBounds& bounds) {
  json root;
  BoundedBuilder builder(root, what, bounds);
  json::sax_parse(text.begin(), text.end(), &builder);
  return root;
}

bool json_deeper_than(const json& value, int max_depth) {
  std::vector<std::pair<const json*, int>> stack{{&value, 0}};
  while (!stack.empty()) {
    auto [v, depth] = stack.back();
    stack.pop_back();
    if (!v->is_structured()) continue;
    if (depth + 1 > max_depth) return true;
    for (const json& child : *v) stack.emplace_back(&child, depth + 1);
  }
  return false;
}

void fail_json_too_deep(std::string_view what, const std::string& path, int max_depth) {
  throw JsonError(
      ErrorKind::kProgramLimit,
      message(what, path, "JSON nested deeper than " + std::to_string(max_depth) + " levels"),
      path);
}

}  // namespace ruvector
