// Parser and printer for the pgvector-compatible text form; see vector_text.h.
#include "vector/vector_text.h"

#include <cerrno>
#include <charconv>
#include <cmath>
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

[[noreturn]] void syntax_error(const char* text, const char* type_name, const char* detail) {
  fail(ErrorKind::kInvalidText,
       std::string("invalid input syntax for type ") + type_name + ": \"" + text + "\"",
       detail ? detail : "");
}

}  // namespace

int parse_text(const char* text, float* out, const char* type_name) {
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

    // strtof, as float4in uses, rounds once from decimal to float. Postgres runs with
    // LC_NUMERIC=C, so the decimal point is always '.'.
    char* end = nullptr;
    errno = 0;
    float value = std::strtof(pt, &end);
    if (end == pt) syntax_error(text, type_name, nullptr);
    if (errno == ERANGE && std::isinf(value)) {
      fail(ErrorKind::kOutOfRange,
           "\"" + std::string(pt, end - pt) + "\" is out of range for type " + type_name);
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
  // Shortest round-trip digits in scientific form tell us the decimal exponent; Postgres
  // prints fixed notation when that exponent is in [-4, 6), like printf's %g.
  char sci[32];
  auto sci_result = std::to_chars(sci, sci + sizeof(sci) - 1, value, std::chars_format::scientific);
  *sci_result.ptr = '\0';
  const char* e = static_cast<const char*>(std::memchr(sci, 'e', sci_result.ptr - sci));
  int exponent = e ? std::atoi(e + 1) : 0;
  if (!std::isfinite(value) || exponent < -4 || exponent >= 6) {
    std::size_t n = sci_result.ptr - sci;
    std::memcpy(out, sci, n);
    return n;
  }
  auto fixed_result = std::to_chars(out, out + 32, value, std::chars_format::fixed);
  return fixed_result.ptr - out;
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
