// Seeded randomized drivers for the parsers that read outside input (issue #23). Each
// driver mutates valid seed inputs and feeds them to one parser: every case must end in
// success or a ruvector::Error (or an exception type the driver documents, which its
// caller maps); anything else, a crash or a sanitizer report fails the run. main.cpp
// runs them; CTest runs each with a few iterations, `make fuzz` with many.
#pragma once

#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace fuzz {

// A deterministic generator (SplitMix64), so that a failing seed and iteration reproduce.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next();
  std::size_t below(std::size_t n) { return n == 0 ? 0 : next() % n; }
  bool chance(int percent) { return below(100) < static_cast<std::size_t>(percent); }

 private:
  std::uint64_t state_;
};

// Mutations of a JSON text: a hostile value put in place of a random value of `seed` (deep
// arrays and objects up to 300,000 levels, numbers past double and 64 bits, \u0000,
// invalid UTF-8 and lone surrogates, a 1 MiB string, every wrong type), a hostile key, then
// sometimes byte-level damage. `seed` must be valid JSON.
std::string mutate_json(const nlohmann::json& seed, Rng& rng);

// Byte-level damage: truncation at a random point, flipped, inserted or deleted bytes,
// NULs, invalid UTF-8, a repeated slice.
std::string mutate_bytes(std::string text, Rng& rng);

// One of the hostile raw values mutate_json splices in, as JSON text (or almost JSON).
std::string hostile_value(Rng& rng);

struct Driver {
  const char* name;
  // Valid inputs to start from.
  std::vector<std::string> (*seeds)();
  // A mutated input, given the seeds; nullptr: mutate_json of a parsed seed, else bytes.
  std::string (*mutate)(const std::vector<std::string>& seeds, Rng& rng) = nullptr;
  // Runs the parser on `input`; throws ruvector::Error, or what `documented` accepts.
  void (*run)(const std::string& input, Rng& rng) = nullptr;
  // Exceptions other than ruvector::Error the parser's callers map; nullptr: none.
  bool (*documented)(const std::exception& e) = nullptr;
};

// Adds a driver at static initialisation; returns true.
bool register_driver(const Driver& driver);

// Thrown by a driver's own checks (a round trip that differs, a differential mismatch).
class Mismatch : public std::exception {
 public:
  explicit Mismatch(std::string what) : what_(std::move(what)) {}
  const char* what() const noexcept override { return what_.c_str(); }

 private:
  std::string what_;
};

}  // namespace fuzz
