// Converts an IDX image file and its label file (MNIST / Fashion-MNIST format, gzip'd or
// not) to COPY text rows "id<TAB>label<TAB>[p1,...,pN]" on stdout, for loading with
// \copy. Usage: idx_to_copy IMAGES LABELS [LIMIT]
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "idx_file.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s IMAGES LABELS [LIMIT]\n", argv[0]);
    return 2;
  }
  FILE* images = open_idx(argv[1]);
  FILE* labels = open_idx(argv[2]);
  if (read_be32(images, argv[1]) != 0x803 || read_be32(labels, argv[2]) != 0x801) {
    std::fprintf(stderr, "idx_to_copy: not an IDX image/label pair\n");
    return 1;
  }
  uint32_t count = read_be32(images, argv[1]);
  uint32_t rows = read_be32(images, argv[1]);
  uint32_t cols = read_be32(images, argv[1]);
  if (read_be32(labels, argv[2]) != count) {
    std::fprintf(stderr, "idx_to_copy: image and label counts differ\n");
    return 1;
  }
  if (argc > 3) count = std::min<uint32_t>(count, std::strtoul(argv[3], nullptr, 10));

  std::vector<unsigned char> pixels(size_t(rows) * cols);
  for (uint32_t i = 0; i < count; i++) {
    int label = std::fgetc(labels);
    if (std::fread(pixels.data(), 1, pixels.size(), images) != pixels.size() || label == EOF) {
      std::fprintf(stderr, "idx_to_copy: truncated data at row %u\n", i);
      return 1;
    }
    std::printf("%u\t%d\t[", i + 1, label);
    for (size_t j = 0; j < pixels.size(); j++) std::printf(j ? ",%d" : "%d", pixels[j]);
    std::printf("]\n");
  }
  pclose(images);
  pclose(labels);
  return 0;
}
