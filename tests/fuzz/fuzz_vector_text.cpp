// The vector text parser: '[1, 2.5, -3e-2]'. What it accepts must print and read back to the
// same floats, bit for bit.
#include <cstring>
#include <vector>

#include "fuzz.h"
#include "vector/vector_text.h"

namespace {

namespace rv = ruvector::vector;

std::vector<std::string> seeds() {
  return {"[1,2,3]", "[ 1.5 , -2e-3,3e+4 ]", "[0]", "[-0, 1e-45, 3.4028235e38, -3.4028235e38]",
          "[1.17549435e-38,\t0.1]"};
}

std::string many(std::size_t n) {
  std::string text = "[";
  for (std::size_t i = 0; i < n; i++) text += i == 0 ? "1" : ",1";
  return text + "]";
}

std::string mutate(const std::vector<std::string>& s, fuzz::Rng& rng) {
  static const char* const kNumbers[] = {
      "1e400", "-1e400", "1e-400", "nan", "NaN", "inf", "-Infinity",    "18446744073709551616",
      "0x10",  "1e",     "--1",    "+1",  "1.",  ".5",  "3.4028236e38", "1e39",
      "",      " "};
  switch (rng.below(5)) {
    case 0: {  // one element replaced
      std::string text = s[rng.below(s.size())];
      std::size_t at = text.find_first_of("0123456789-");
      std::size_t end = text.find_first_of(",]", at);
      return text.replace(at, end - at, kNumbers[rng.below(std::size(kNumbers))]);
    }
    case 1:  // around the dimension limit
      return many(rv::kMaxDim - 1 + rng.below(3));
    case 2:
      return std::string(1 + rng.below(100000), '[') + "1" + std::string(rng.below(3), ']');
    default:
      return fuzz::mutate_bytes(s[rng.below(s.size())], rng);
  }
}

void run(const std::string& input, fuzz::Rng&) {
  static std::vector<float> values(rv::kMaxDim), again(rv::kMaxDim);
  int dim = rv::parse_text(input.c_str(), values.data(), "vector");
  std::string text(rv::format_text_capacity(dim), '\0');
  text.resize(rv::format_text(values.data(), dim, text.data()));
  if (rv::parse_text(text.c_str(), again.data(), "vector") != dim ||
      std::memcmp(values.data(), again.data(), sizeof(float) * dim) != 0)
    throw fuzz::Mismatch("does not read back as printed: " + text.substr(0, 200));
}

const bool registered = fuzz::register_driver({"vector_text", seeds, mutate, run, nullptr});

}  // namespace
