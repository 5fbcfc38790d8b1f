// Reading MNIST / Fashion-MNIST IDX files (gzip'd or not) for the benchmark tools
// (idx_to_copy, gen_hard): through `gzip -dcf`, so no zlib dependency is needed.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

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
