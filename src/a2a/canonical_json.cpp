// See canonical_json.h.
#include "a2a/canonical_json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "util/error.h"
#include "util/json_parse.h"

namespace ruvector::a2a {
namespace {

// Decodes UTF-8 into UTF-16 code units, rejecting malformed input (overlong forms,
// surrogates, truncated sequences), so keys can be ordered as RFC 8785 requires.
std::u16string utf16_of(const std::string& s) {
  std::u16string out;
  std::size_t i = 0;
  auto bad = []() -> void { fail(ErrorKind::kDataException, "JSON string is not valid UTF-8"); };
  while (i < s.size()) {
    unsigned char c = s[i];
    char32_t cp;
    int extra;
    if (c < 0x80) {
      cp = c;
      extra = 0;
    } else if ((c & 0xE0) == 0xC0) {
      cp = c & 0x1F;
      extra = 1;
    } else if ((c & 0xF0) == 0xE0) {
      cp = c & 0x0F;
      extra = 2;
    } else if ((c & 0xF8) == 0xF0) {
      cp = c & 0x07;
      extra = 3;
    } else {
      bad();
      return out;
    }
    if (i + extra >= s.size()) bad();  // truncated sequence
    for (int k = 1; k <= extra; k++) {
      unsigned char cc = s[i + k];
      if ((cc & 0xC0) != 0x80) bad();
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr char32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) bad();
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out.push_back(static_cast<char16_t>(0xD800 + (cp >> 10)));
      out.push_back(static_cast<char16_t>(0xDC00 + (cp & 0x3FF)));
    } else {
      out.push_back(static_cast<char16_t>(cp));
    }
    i += extra + 1;
  }
  return out;
}

void append_string(std::string& out, const std::string& s) {
  utf16_of(s);  // validates
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

// `depth`: the containers around `v`. Input comes through parse_json, which bounds the
// nesting; the check here keeps the recursion bounded for any other caller.
void append_value(std::string& out, const nlohmann::json& v, int depth) {
  if (v.is_structured() && depth >= kMaxJsonDepth) fail_json_too_deep("JSON to canonicalize", {});
  switch (v.type()) {
    case nlohmann::json::value_t::null:
      out += "null";
      break;
    case nlohmann::json::value_t::boolean:
      out += v.get<bool>() ? "true" : "false";
      break;
    case nlohmann::json::value_t::number_integer:
      out += ecmascript_number(static_cast<double>(v.get<int64_t>()));
      break;
    case nlohmann::json::value_t::number_unsigned:
      out += ecmascript_number(static_cast<double>(v.get<uint64_t>()));
      break;
    case nlohmann::json::value_t::number_float:
      out += ecmascript_number(v.get<double>());
      break;
    case nlohmann::json::value_t::string:
      append_string(out, v.get_ref<const std::string&>());
      break;
    case nlohmann::json::value_t::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& item : v) {
        if (!first) out.push_back(',');
        first = false;
        append_value(out, item, depth + 1);
      }
      out.push_back(']');
      break;
    }
    case nlohmann::json::value_t::object: {
      std::vector<std::pair<std::u16string, const std::string*>> keys;
      for (auto it = v.begin(); it != v.end(); ++it)
        keys.emplace_back(utf16_of(it.key()), &it.key());
      std::sort(keys.begin(), keys.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      out.push_back('{');
      bool first = true;
      for (const auto& [utf16, key] : keys) {
        if (!first) out.push_back(',');
        first = false;
        append_string(out, *key);
        out.push_back(':');
        append_value(out, v.at(*key), depth + 1);
      }
      out.push_back('}');
      break;
    }
    default:
      fail(ErrorKind::kDataException, "JSON value cannot be canonicalized (binary or discarded)");
  }
}

}  // namespace

std::string ecmascript_number(double value) {
  if (!std::isfinite(value)) fail(ErrorKind::kDataException, "JSON numbers must be finite");
  if (value == 0) return "0";  // also -0
  std::string sign = value < 0 ? "-" : "";
  value = std::fabs(value);

  // Shortest round-trip digits s (k of them) and exponent n with value = 0.s x 10^n.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf) - 1, value, std::chars_format::scientific);
  *res.ptr = '\0';
  char* e = std::strchr(buf, 'e');
  int n = std::atoi(e + 1) + 1;
  std::string digits;
  for (char* p = buf; p < e; p++) {
    if (*p != '.') digits.push_back(*p);
  }
  int k = static_cast<int>(digits.size());

  if (k <= n && n <= 21) return sign + digits + std::string(n - k, '0');
  if (0 < n && n <= 21) return sign + digits.substr(0, n) + "." + digits.substr(n);
  if (-6 < n && n <= 0) return sign + "0." + std::string(-n, '0') + digits;
  std::string exponent = (n - 1 >= 0 ? "+" : "-") + std::to_string(std::abs(n - 1));
  if (k == 1) return sign + digits + "e" + exponent;
  return sign + digits.substr(0, 1) + "." + digits.substr(1) + "e" + exponent;
}

std::string canonical_json(const nlohmann::json& value) {
  std::string out;
  append_value(out, value, 0);
  return out;
}

}  // namespace ruvector::a2a
