// Text form of vectors: parsing rules and errors as pgvector, shortest round-trip output
// in Postgres' float4out notation.
#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "util/error.h"
#include "vector/vector_text.h"

namespace vec = ruvector::vector;
using ruvector::Error;
using ruvector::ErrorKind;

namespace {

std::vector<float> parse(const std::string& text) {
  std::vector<float> out(vec::kMaxDim);
  int dim = vec::parse_text(text.c_str(), out.data(), "ruvector");
  out.resize(dim);
  return out;
}

std::string format(const std::vector<float>& v) {
  std::string out(vec::format_text_capacity(static_cast<int>(v.size())), '\0');
  out.resize(vec::format_text(v.data(), static_cast<int>(v.size()), out.data()));
  return out;
}

std::string format_one(float f) {
  char buf[64];
  return std::string(buf, vec::format_float(f, buf));
}

// Returns the error the parser raises for `text`, failing the test if it raises none.
Error parse_error(const std::string& text) {
  try {
    parse(text);
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no error for " << text;
  return Error(ErrorKind::kInternal, "none");
}

}  // namespace

TEST(VectorText, ParsesPgvectorSyntax) {
  EXPECT_EQ(parse("[1,2,3]"), (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(parse("  [ 1 , 2.5 ,-3e-2 ]\n"), (std::vector<float>{1, 2.5f, -3e-2f}));
  EXPECT_EQ(parse("[+1]"), (std::vector<float>{1}));
  EXPECT_EQ(parse("[1e-50]"), (std::vector<float>{0}));  // underflow rounds, as float4in
}

TEST(VectorText, SyntaxErrors) {
  for (const char* bad : {"", "1,2", "[1,2", "[1,,2]", "[1 2]", "[a]", "[1]x", "[1,]", "(1)"}) {
    Error e = parse_error(bad);
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidText) << bad;
    EXPECT_EQ(std::string(e.what()),
              std::string("invalid input syntax for type ruvector: \"") + bad + "\"");
  }
  EXPECT_EQ(parse_error("1").detail(), "Vector contents must start with \"[\".");
  EXPECT_EQ(parse_error("[1] 2").detail(), "Junk after closing right bracket.");
}

TEST(VectorText, ValueErrors) {
  EXPECT_STREQ(parse_error("[]").what(), "ruvector must have at least 1 dimension");
  EXPECT_STREQ(parse_error("[nan]").what(), "NaN not allowed in ruvector");
  EXPECT_STREQ(parse_error("[1,-Infinity]").what(), "infinite value not allowed in ruvector");
  Error range = parse_error("[1e39]");
  EXPECT_EQ(range.kind(), ErrorKind::kOutOfRange);
  EXPECT_STREQ(range.what(), "\"1e39\" is out of range for type ruvector");
}

TEST(VectorText, DimensionLimit) {
  std::string ok = "[1";
  for (int i = 1; i < vec::kMaxDim; i++) ok += ",1";
  EXPECT_EQ(parse(ok + "]").size(), static_cast<size_t>(vec::kMaxDim));
  Error e = parse_error(ok + ",1]");
  EXPECT_EQ(e.kind(), ErrorKind::kProgramLimit);
  EXPECT_STREQ(e.what(), "ruvector cannot have more than 16000 dimensions");
}

TEST(VectorText, FormatsLikeFloat4Out) {
  EXPECT_EQ(format_one(1), "1");
  EXPECT_EQ(format_one(-0.0f), "-0");
  EXPECT_EQ(format_one(0.1f), "0.1");
  EXPECT_EQ(format_one(2.5f), "2.5");
  EXPECT_EQ(format_one(0.0001f), "0.0001");
  EXPECT_EQ(format_one(0.00001f), "1e-05");
  EXPECT_EQ(format_one(123456), "123456");
  EXPECT_EQ(format_one(1234567), "1.234567e+06");
  EXPECT_EQ(format_one(1e6f), "1e+06");
  EXPECT_EQ(format_one(3.4028235e38f), "3.4028235e+38");
  EXPECT_EQ(format_one(1.17549435e-38f), "1.1754944e-38");
  EXPECT_EQ(format_one(std::numeric_limits<float>::denorm_min()), "1e-45");
  EXPECT_EQ(format({1, -2.5f, 3}), "[1,-2.5,3]");
}

TEST(VectorText, RoundTripsRandomFloats) {
  std::mt19937 rng(42);
  std::vector<float> values;
  for (int i = 0; i < 20000; i++) {
    uint32_t bits = rng();
    float f;
    std::memcpy(&f, &bits, sizeof(f));
    if (std::isfinite(f)) values.push_back(f);
  }
  // Chunks of up to kMaxDim values, each formatted and parsed back bit for bit.
  for (size_t start = 0; start < values.size(); start += vec::kMaxDim) {
    size_t end = std::min(values.size(), start + vec::kMaxDim);
    std::vector<float> chunk(values.begin() + start, values.begin() + end);
    std::string text = format(chunk);
    EXPECT_LE(text.size() + 1, vec::format_text_capacity(static_cast<int>(chunk.size())));
    std::vector<float> back = parse(text);
    ASSERT_EQ(back.size(), chunk.size());
    EXPECT_EQ(std::memcmp(back.data(), chunk.data(), chunk.size() * sizeof(float)), 0);
  }
}

TEST(VectorText, CapacityCoversWorstCase) {
  std::vector<float> worst(100, -1.1754944e-38f);
  EXPECT_LE(format(worst).size() + 1, vec::format_text_capacity(100));
  std::vector<float> worst_fixed(100, -0.00012345679f);
  EXPECT_LE(format(worst_fixed).size() + 1, vec::format_text_capacity(100));
}

namespace {

// The printer before it wrote fixed notation from the scientific digits itself: two
// std::to_chars conversions, fixed when the decimal exponent is in [-4, 6).
std::string format_reference(float value) {
  char sci[32];
  auto sci_result = std::to_chars(sci, sci + sizeof(sci) - 1, value, std::chars_format::scientific);
  *sci_result.ptr = '\0';
  const char* e = static_cast<const char*>(std::memchr(sci, 'e', sci_result.ptr - sci));
  int exponent = e ? std::atoi(e + 1) : 0;
  if (!std::isfinite(value) || exponent < -4 || exponent >= 6) return std::string(sci);
  char out[64];
  auto fixed_result = std::to_chars(out, out + sizeof(out), value, std::chars_format::fixed);
  return std::string(out, fixed_result.ptr);
}

}  // namespace

TEST(VectorText, PrintsAsBeforeForEveryKindOfFloat) {
  std::vector<float> values = {0.0f, -0.0f, 1, -1, 255, 999999, -999999, 1e6f, -1e6f, 1e6f + 64,
                               999999.9f, 123456.7f, 0.1f, 0.0001f, 0.00012345f, 0.00001f,
                               9.99999e-5f, 1.5e-05f, 3e38f, 1e-45f, 16777216.0f, 16777218.0f,
                               2147483647.0f, -2147483648.0f, 0.5f, 100000, 12345.678f};
  std::uint32_t state = 12345;
  for (int i = 0; i < 200000; i++) {  // random bit patterns: every exponent and mantissa
    state = state * 1664525u + 1013904223u;
    float f;
    std::memcpy(&f, &state, sizeof(f));
    if (std::isfinite(f)) values.push_back(f);
  }
  for (int i = -2000; i <= 2000; i++) values.push_back(static_cast<float>(i) / 8);
  for (float f : values) ASSERT_EQ(format_one(f), format_reference(f)) << "bits of " << f;
}

TEST(VectorText, ParsesEveryNumberAsStrtofDoes) {
  // The parser reads with std::from_chars and falls back to strtof; the values must be
  // strtof's, bit for bit, in every spelling a client sends.
  std::vector<std::string> numbers = {"0", "-0", "+1", "1.", ".5", "-.5", "00012", "1e5", "1E-3",
                                      "0x1p3", "1e-45", "1.4e-45", "7e-46", "1e-50", "3.4028235e38",
                                      "1.17549435e-38", "123456789", "0.1000000000000000055511"};
  std::uint32_t state = 99;
  char buf[64];
  for (int i = 0; i < 100000; i++) {
    state = state * 1664525u + 1013904223u;
    float f;
    std::memcpy(&f, &state, sizeof(f));
    if (!std::isfinite(f)) continue;
    const char* formats[] = {"%.9g", "%.3e", "%.6f", "%a", "%g"};
    std::snprintf(buf, sizeof(buf), formats[i % 5], static_cast<double>(f));
    numbers.push_back(buf);
  }
  // Whole numbers, which take a path of their own up to 7 digits: around that limit, with
  // signs and leading zeros, and followed by each delimiter below.
  for (int i = 0; i <= 300; i++) numbers.push_back(std::to_string(i));
  for (long i : {999999L, 1000000L, 9999999L, 10000000L, 16777215L, 16777216L, 16777217L,
                 99999999L, 123456789L, 4294967295L, 4294967296L, 99999999999L}) {
    numbers.push_back(std::to_string(i));
    numbers.push_back("-" + std::to_string(i));
  }
  for (const char* n : {"0000000", "00000000", "0000007", "-0000007", "00000007", "-", "--1",
                        "1-", "-00", "7.", "7.0", "7e0", "0x7"}) {
    numbers.push_back(n);
  }
  for (int i = 0; i < 2000; i++) {
    state = state * 1664525u + 1013904223u;
    numbers.push_back(std::to_string(static_cast<int>(state % 20000000u) - 10000000));
  }
  for (const std::string& n : numbers) {
    char* end = nullptr;
    float expected = std::strtof(n.c_str(), &end);
    if (end == n.c_str() || *end != '\0') {  // not a number for strtof: an error here too
      EXPECT_EQ(parse_error("[" + n + "]").kind(), ErrorKind::kInvalidText) << n;
      continue;
    }
    for (const std::string& text : {"[" + n + " , " + n + "]", "[" + n + "," + n + "\t]"}) {
      std::vector<float> got = parse(text);
      ASSERT_EQ(got.size(), 2u) << text;
      ASSERT_EQ(std::memcmp(&got[0], &expected, sizeof(float)), 0) << text;
      ASSERT_EQ(std::memcmp(&got[1], &expected, sizeof(float)), 0) << text;
    }
  }
  EXPECT_EQ(parse_error("[1e39]").kind(), ErrorKind::kOutOfRange);
  EXPECT_EQ(parse_error("[1,inf]").kind(), parse_error("[1,Infinity]").kind());
}
