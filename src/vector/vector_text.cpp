// Parser and printer for the pgvector-compatible text form; see vector_text.h.
#include "vector/vector_text.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "util/error.h"
#include "vector/vector_check.h"

namespace ruvector::vector {
namespace {

// Postgres' scanner_isspace: the set of characters pgvector skips.
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

bool is_delimiter(char c) { return c == ',' || c == ']' || is_space(c); }

// An element written as a whole number of at most 7 digits with an optional '-', directly
// followed by a delimiter: its value, exact in a float (below 2^24) and so what from_chars
// would give (-0 included), without its general conversion (about 10 ns an element, most
// of reading a text query of pixels). Returns the end of the number, or nullptr for any
// other form, which the general path then reads.
const char* whole_number(const char* pt, float* value) {
  const char* p = pt + (*pt == '-');
  const char* digits = p;
  std::uint32_t n = 0;
  while (p - digits < 7 && static_cast<unsigned char>(*p - '0') < 10) n = n * 10 + (*p++ - '0');
  if (p == digits || !is_delimiter(*p)) return nullptr;
  *value = *pt == '-' ? -static_cast<float>(n) : static_cast<float>(n);
  return p;
}

[[noreturn]] void syntax_error(const char* text, const char* type_name, const char* detail) {
  fail(ErrorKind::kInvalidText,
       std::string("invalid input syntax for type ") + type_name + ": \"" + text + "\"",
       detail ? detail : "");
}

}  // namespace

int parse_text(const char* text, float* out, const char* type_name) {
  const char* text_end = text + std::strlen(text);
  const char* pt = text;
  while (is_space(*pt)) pt++;
  if (*pt != '[') syntax_error(text, type_name, "Vector contents must start with \"[\".");
  pt++;
  while (is_space(*pt)) pt++;
  if (*pt == ']')
    fail(ErrorKind::kDataException, std::string(type_name) + " must have at least 1 dimension");

  int dim = 0;
  for (;;) {
    if (dim == kMaxDim) {
      fail(ErrorKind::kProgramLimit, std::string(type_name) + " cannot have more than " +
                                         std::to_string(kMaxDim) + " dimensions");
    }
    while (is_space(*pt)) pt++;
    if (*pt == '\0') syntax_error(text, type_name, nullptr);

    // std::from_chars rounds once from decimal to float, as strtof (float4in's) does, and
    // is several times faster. It takes no '+', no hex and no out-of-range value: when it
    // stops short of a delimiter or fails, strtof decides, as before. Postgres runs with
    // LC_NUMERIC=C, so the decimal point is always '.'.
    float value = 0;
    const char* end = whole_number(pt, &value);
    if (end != nullptr) {
      // done: an integer, as most vectors of pixels or counts are written
    } else if (auto fast = std::from_chars(pt, text_end, value);
               fast.ec == std::errc() && is_delimiter(*fast.ptr)) {
      end = fast.ptr;
    } else {
      char* slow_end = nullptr;
      errno = 0;
      value = std::strtof(pt, &slow_end);
      if (slow_end == pt) syntax_error(text, type_name, nullptr);
      if (errno == ERANGE && std::isinf(value)) {
        fail(ErrorKind::kOutOfRange,
             "\"" + std::string(pt, slow_end - pt) + "\" is out of range for type " + type_name);
      }
      end = slow_end;
    }
    check_element(value, type_name);
    out[dim++] = value;
    pt = end;

    while (is_space(*pt)) pt++;
    if (*pt == ',') {
      pt++;
    } else if (*pt == ']') {
      pt++;
      break;
    } else {
      syntax_error(text, type_name, nullptr);
    }
  }
  while (is_space(*pt)) pt++;
  if (*pt != '\0') syntax_error(text, type_name, "Junk after closing right bracket.");
  return dim;
}

std::size_t format_float(float value, char* out) {
  // Whole numbers below 10^6 (pixels, counts, one-hot features) print as the integer: the
  // shortest round-trip digits of such a float are its integer digits. -0 keeps its sign
  // through the general path.
  if (value > -1e6f && value < 1e6f) {
    auto whole = static_cast<std::int32_t>(value);
    if (static_cast<float>(whole) == value && (whole != 0 || !std::signbit(value))) {
      return std::to_chars(out, out + 16, whole).ptr - out;
    }
  }
  // Shortest round-trip digits in scientific form tell us the decimal exponent; Postgres
  // prints fixed notation when that exponent is in [-4, 6), like printf's %g. The fixed
  // form is written from the same digits (one conversion, not two).
  char sci[32];
  auto sci_result = std::to_chars(sci, sci + sizeof(sci) - 1, value, std::chars_format::scientific);
  const std::size_t n = sci_result.ptr - sci;
  const char* e = static_cast<const char*>(std::memchr(sci, 'e', n));
  int exponent = 0;
  if (e != nullptr) std::from_chars(e + (e[1] == '+' ? 2 : 1), sci_result.ptr, exponent);
  if (!std::isfinite(value) || e == nullptr || exponent < -4 || exponent >= 6) {
    std::memcpy(out, sci, n);
    return n;
  }
  // sci is [-]d[.ddd]e±XX: gather the digits, then place the decimal point.
  char* p = out;
  const char* d = sci;
  if (*d == '-') *p++ = *d++;
  char digits[16];
  int ndigits = 0;
  for (; d < e; d++) {
    if (*d != '.') digits[ndigits++] = *d;
  }
  if (exponent < 0) {
    *p++ = '0';
    *p++ = '.';
    for (int i = 0; i < -exponent - 1; i++) *p++ = '0';
    std::memcpy(p, digits, ndigits);
    return p + ndigits - out;
  }
  for (int i = 0; i <= exponent; i++) *p++ = i < ndigits ? digits[i] : '0';
  if (ndigits > exponent + 1) {
    *p++ = '.';
    std::memcpy(p, digits + exponent + 1, ndigits - exponent - 1);
    p += ndigits - exponent - 1;
  }
  return p - out;
}

std::size_t format_text(const float* values, int dim, char* out) {
  char* p = out;
  *p++ = '[';
  for (int i = 0; i < dim; i++) {
    if (i > 0) *p++ = ',';
    p += format_float(values[i], p);
  }
  *p++ = ']';
  *p = '\0';
  return p - out;
}

}  // namespace ruvector::vector
