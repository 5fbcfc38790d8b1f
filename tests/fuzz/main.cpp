// Runs the fuzz drivers: fuzz_drivers [--iterations N] [--seed S] [driver ...] (all when none
// is named; RUVECTOR_FUZZ_ITERATIONS sets the default count). Exits 1 at the first case that
// ends in anything but success, a ruvector::Error or a documented exception, printing the
// driver, seed, iteration and the start of the input so that it can be replayed.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <typeinfo>

#include "fuzz.h"
#include "util/error.h"

namespace fuzz {
namespace {

std::map<std::string, Driver>& registry() {
  static std::map<std::string, Driver> drivers;
  return drivers;
}

// The first bytes of `input`, printable.
std::string excerpt(const std::string& input) {
  std::string out;
  for (std::size_t i = 0; i < input.size() && i < 300; i++) {
    unsigned char c = input[i];
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "\\x%02x", c);
      out += hex;
    }
  }
  return input.size() > 300 ? out + "..." : out;
}

struct Counts {
  long ok = 0, refused = 0, documented = 0;
};

// Runs one case; returns false (after printing why) when it ended otherwise than allowed.
bool run_case(const Driver& d, const std::string& input, Rng& rng, Counts* counts,
              const std::string& where) {
  const char* type = nullptr;
  std::string what;
  try {
    d.run(input, rng);
    counts->ok++;
    return true;
  } catch (const ruvector::Error&) {
    counts->refused++;
    return true;
  } catch (const std::exception& e) {
    if (d.documented != nullptr && d.documented(e)) {
      counts->documented++;
      return true;
    }
    type = typeid(e).name();
    what = e.what();
  } catch (...) {
    type = "a non-std exception";
  }
  std::fprintf(stderr, "fuzz %s: %s: %s: %s\n  input (%zu bytes): %s\n", d.name, where.c_str(),
               type, what.substr(0, 500).c_str(), input.size(), excerpt(input).c_str());
  return false;
}

bool run_driver(const Driver& d, long iterations, std::uint64_t seed) {
  auto start = std::chrono::steady_clock::now();
  std::uint64_t name_hash = 1469598103934665603ULL;
  for (const char* p = d.name; *p != '\0'; p++) name_hash = (name_hash ^ *p) * 1099511628211ULL;
  Rng rng(seed ^ name_hash);
  const std::vector<std::string> seeds = d.seeds();
  Counts counts;
  // The seeds themselves first: one at least must be accepted, or the mutations of them
  // would test little but the first check.
  for (std::size_t i = 0; i < seeds.size(); i++) {
    if (!run_case(d, seeds[i], rng, &counts, "seed " + std::to_string(i))) return false;
  }
  if (counts.ok == 0) {
    std::fprintf(stderr, "fuzz %s: every seed input was refused\n", d.name);
    return false;
  }
  counts = Counts();
  for (long i = 0; i < iterations; i++) {
    std::string input;
    if (d.mutate != nullptr) {
      input = d.mutate(seeds, rng);
    } else {
      const std::string& s = seeds[rng.below(seeds.size())];
      input = rng.chance(80) ? mutate_json(nlohmann::json::parse(s), rng) : mutate_bytes(s, rng);
    }
    std::string where = "seed " + std::to_string(seed) + ", iteration " + std::to_string(i);
    if (!run_case(d, input, rng, &counts, where)) return false;
  }
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("fuzz %s: %ld cases: %ld accepted, %ld refused, %ld documented (%.1f s)\n", d.name,
              iterations, counts.ok, counts.refused, counts.documented, s);
  return true;
}

}  // namespace

bool register_driver(const Driver& driver) {
  registry().emplace(driver.name, driver);
  return true;
}

}  // namespace fuzz

int main(int argc, char** argv) {
  const char* env = std::getenv("RUVECTOR_FUZZ_ITERATIONS");
  long iterations = env != nullptr ? std::atol(env) : 200;
  std::uint64_t seed = 1;
  std::vector<std::string> names;
  for (int i = 1; i < argc; i++) {
    if (std::strcmp(argv[i], "--iterations") == 0 && i + 1 < argc) {
      iterations = std::atol(argv[++i]);
    } else if (std::strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (std::strcmp(argv[i], "--list") == 0) {
      for (const auto& [name, d] : fuzz::registry()) std::printf("%s\n", name.c_str());
      return 0;
    } else {
      names.push_back(argv[i]);
    }
  }
  if (names.empty()) {
    for (const auto& [name, d] : fuzz::registry()) names.push_back(name);
  }
  for (const std::string& name : names) {
    auto it = fuzz::registry().find(name);
    if (it == fuzz::registry().end()) {
      std::fprintf(stderr, "no fuzz driver named \"%s\" (see --list)\n", name.c_str());
      return 2;
    }
    if (!fuzz::run_driver(it->second, iterations, seed)) return 1;
  }
  return 0;
}
