// Reading MNIST / Fashion-MNIST IDX files (gzip'd or not) for the benchmark tools
// (idx_to_copy, gen_hard) and benchmarks: through `gzip -dcf`, so no zlib dependency is needed.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

inline FILE* open_idx(const std::string& path) {
  std::string cmd = "gzip -dcf '" + path + "'";
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) {
    std::perror(path.c_str());
    std::exit(1);
  }
  return f;
}

// A big-endian header word; exits naming `what` if the file ends first.
inline uint32_t read_be32(FILE* f, const char* what) {
  unsigned char b[4];
  if (std::fread(b, 1, 4, f) != 4) {
    std::fprintf(stderr, "truncated IDX header in %s\n", what);
    std::exit(1);
  }
  return (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | b[3];
}

// The first `max_rows` images of an IDX image file as floats 0..255 (the values idx_to_copy
// loads), row after row; `*dim` is their pixel count. Exits naming the file if it is short.
inline std::vector<float> read_idx_images(const std::string& path, std::size_t max_rows,
                                          std::size_t* dim) {
  FILE* f = open_idx(path);
  if (read_be32(f, path.c_str()) != 0x803) {
    std::fprintf(stderr, "%s: not an IDX image file\n", path.c_str());
    std::exit(1);
  }
  std::size_t rows = read_be32(f, path.c_str());
  const std::size_t h = read_be32(f, path.c_str()), w = read_be32(f, path.c_str());
  *dim = h * w;
  rows = std::min(rows, max_rows);
  std::vector<unsigned char> bytes(rows * *dim);
  if (std::fread(bytes.data(), 1, bytes.size(), f) != bytes.size()) {
    std::fprintf(stderr, "%s: truncated\n", path.c_str());
    std::exit(1);
  }
  pclose(f);
  return std::vector<float>(bytes.begin(), bytes.end());
}
