// Generates the data sets that are hard for a rabitq scan's error bound (bench/recall_probes.sh),
// deterministically from a seed (own generator and normal draws: the same rows on every
// platform), as COPY text rows "id<TAB>[x1,...,xD]" on stdout:
//   gen_hard dup IMAGES ROWS COPIES SIGMA SEED
//     the first ROWS images of an IDX file (Fashion-MNIST), each COPIES times: the image
//     itself, then copies with rounded Gaussian noise of SIGMA per pixel. A query's ten
//     nearest rows are then two or three groups of near-duplicates at almost one distance,
//     so a row whose estimate misses its bound is lost even by a small miss.
//   gen_hard mix ROWS DIM CLUSTERS SEED FIRST_ID
//     a heavy-tailed mixture: cluster sizes Zipf-like (weight 1 / (rank + 1)), radii spread
//     log-uniformly over three orders of magnitude, centres N(0, 1) per coordinate; queries
//     are another draw with another seed.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "idx_file.h"

namespace {

// splitmix64: a fixed generator, so the data do not depend on the standard library.
struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return (next() >> 11) * (1.0 / 9007199254740992.0); }  // [0, 1)
  double normal() {                                                         // Box-Muller
    double u = uniform(), v = uniform();
    return std::sqrt(-2 * std::log(1 - u)) * std::cos(6.283185307179586 * v);
  }
};

void print_row(long id, const std::vector<double>& x, const char* format) {
  std::printf("%ld\t[", id);
  for (size_t i = 0; i < x.size(); i++) {
    if (i) std::putchar(',');
    std::printf(format, x[i]);
  }
  std::printf("]\n");
}

int dup(const char* images, long rows, int copies, double sigma, uint64_t seed) {
  FILE* f = open_idx(images);
  read_be32(f, images);  // magic
  long n = read_be32(f, images);
  long dim = static_cast<long>(read_be32(f, images)) * read_be32(f, images);
  if (rows > n) rows = n;
  Rng rng{seed};
  std::vector<unsigned char> pixels(dim);
  std::vector<double> x(dim);
  for (long r = 0; r < rows; r++) {
    if (std::fread(pixels.data(), 1, dim, f) != static_cast<size_t>(dim)) {
      std::fprintf(stderr, "gen_hard: truncated images\n");
      return 1;
    }
    for (int c = 0; c < copies; c++) {
      for (long i = 0; i < dim; i++) {
        double noise = c == 0 ? 0 : std::round(sigma * rng.normal());
        x[i] = std::fmin(255, std::fmax(0, pixels[i] + noise));
      }
      print_row(r * copies + c, x, "%.0f");
    }
  }
  pclose(f);
  return 0;
}

int mix(long rows, int dim, int clusters, uint64_t seed, long first_id) {
  // The clusters come from a fixed seed, the rows from SEED: base and queries share them.
  Rng shape{12345};
  std::vector<double> centre(static_cast<size_t>(clusters) * dim), radius(clusters),
      cumulative(clusters);
  double total = 0;
  for (int c = 0; c < clusters; c++) {
    for (int i = 0; i < dim; i++) centre[static_cast<size_t>(c) * dim + i] = shape.normal();
    radius[c] = std::pow(10.0, -3 * shape.uniform());  // 0.001 .. 1 per coordinate
    total += 1.0 / (c + 1);
    cumulative[c] = total;
  }
  Rng rng{seed};
  std::vector<double> x(dim);
  for (long r = 0; r < rows; r++) {
    double pick = rng.uniform() * total;
    int c = 0;
    while (c + 1 < clusters && cumulative[c] < pick) c++;
    for (int i = 0; i < dim; i++) {
      x[i] = centre[static_cast<size_t>(c) * dim + i] + radius[c] * rng.normal();
    }
    print_row(first_id + r, x, "%.6g");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "dup" && argc == 7) {
    return dup(argv[2], std::atol(argv[3]), std::atoi(argv[4]), std::atof(argv[5]),
               std::strtoull(argv[6], nullptr, 10));
  }
  if (mode == "mix" && argc == 7) {
    return mix(std::atol(argv[2]), std::atoi(argv[3]), std::atoi(argv[4]),
               std::strtoull(argv[5], nullptr, 10), std::atol(argv[6]));
  }
  std::fprintf(stderr,
               "usage: gen_hard dup IMAGES ROWS COPIES SIGMA SEED\n"
               "       gen_hard mix ROWS DIM CLUSTERS SEED FIRST_ID\n");
  return 2;
}
