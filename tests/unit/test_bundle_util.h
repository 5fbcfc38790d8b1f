// Shared fixtures of the bundle tests: a self-removing temp directory, the worked example
// of docs/bundle-format.md, and small file helpers.
#pragma once

#include <stdlib.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "bundle/hex.h"
#include "bundle/publish.h"
#include "bundle/sidecar.h"
#include "bundle/witness.h"

namespace bundle_test {

namespace fs = std::filesystem;
namespace rb = ruvector::bundle;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "ruvector-bundle-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data()) ? pattern : std::string();
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::vector<std::string> list_dir(const std::string& path) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(path)) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

inline std::string unhex(const std::string& spaced) {
  std::string out;
  std::string digits;
  for (char c : spaced)
    if (c != ' ' && c != '\n') digits.push_back(c);
  for (std::size_t i = 0; i + 1 < digits.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(digits.substr(i, 2), nullptr, 16)));
  return out;
}

// The worked example of docs/bundle-format.md: two rows of dim 3.
inline const char kWorkedVectorsHex[] =
    "5256424e444c5646 01000000 03000000 0200000000000000 00000000 00000000"
    " 0100000000000000 0200000000000000"
    " 0000803f 00000040 00004040 00008040 0000a040 0000c040";
inline const char kWorkedDataDigest[] =
    "134a7a1f16915eced7eaff6f1cf312f128164497079a65fd05ca5db3daec106b";
inline const char kWorkedWitness[] =
    "c78bd138cc6486b5566b9d7f45a5174a4ffd7789ee859db99a97271e588cc47e";

inline const std::vector<std::int64_t> kWorkedIds = {1, 2};
inline const std::vector<float> kWorkedRows = {1, 2, 3, 4, 5, 6};

inline rb::BundleMeta worked_meta() {
  rb::BundleMeta meta;
  meta.rotation_seed = 12345678901234567890ULL;
  meta.rerank_factor = 20;
  meta.generation = std::uint64_t{7};
  meta.pii_policy = "none";
  meta.lineage_id = "example/items";
  return meta;
}

// The worked example's sidecar, witness included.
inline rb::Sidecar worked_sidecar() {
  rb::Sidecar s;
  s.format_version = 1;
  s.data_digest = *rb::digest_from_hex(kWorkedDataDigest);
  s.data_ref = std::string("vectors-") + kWorkedDataDigest + ".rvb";
  s.dim = 3;
  s.rotation_seed = 12345678901234567890ULL;
  s.rerank_factor = 20;
  s.generation = std::uint64_t{7};
  s.pii_policy = "none";
  s.lineage_id = "example/items";
  s.rvf_witness = rb::compute_witness(s);
  return s;
}

// Deterministic rows in [-1, 1) for larger bundles.
inline std::vector<float> pseudo_rows(std::size_t count, std::uint32_t dim, std::uint64_t seed) {
  std::vector<float> rows(count * dim);
  std::uint64_t x = seed * 6364136223846793005ULL + 1442695040888963407ULL;
  for (float& v : rows) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    v = static_cast<float>(static_cast<double>(x >> 40) / (1 << 23)) - 1.0f;
  }
  return rows;
}

}  // namespace bundle_test
