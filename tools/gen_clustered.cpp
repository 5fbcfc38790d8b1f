// Generates a clustered Gaussian data set for benchmarks, deterministic from a seed (with
// the same standard library): ROWS base vectors and QUERIES query vectors of DIM dimensions
// around CLUSTERS centres,
// written as PostgreSQL binary COPY files (id int4, embedding ruvector), plus the exact L2
// top 10 of every query (brute force, in double precision) as COPY text "qid\t{ids}".
//   gen_clustered ROWS DIM CLUSTERS QUERIES SEED OUTDIR
// OUTDIR gets base.copy, queries.copy and truth.copy.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "clustered_data.h"

namespace {

void put16(std::string* out, int16_t v) {
  uint16_t u = static_cast<uint16_t>(v);
  out->push_back(static_cast<char>(u >> 8));
  out->push_back(static_cast<char>(u & 0xff));
}
void put32(std::string* out, uint32_t u) {
  for (int s = 24; s >= 0; s -= 8) out->push_back(static_cast<char>((u >> s) & 0xff));
}

// Binary COPY of (id, vector) rows: signature, flags, header extension, tuples, trailer.
class CopyWriter {
 public:
  CopyWriter(const std::string& path, int dim) : dim_(dim) {
    f_ = std::fopen(path.c_str(), "wb");
    if (f_ == nullptr) {
      std::perror(path.c_str());
      std::exit(1);
    }
    std::string head("PGCOPY\n\377\r\n\0", 11);
    put32(&head, 0);
    put32(&head, 0);
    write(head);
  }
  ~CopyWriter() {
    std::string tail;
    put16(&tail, -1);
    write(tail);
    std::fclose(f_);
  }
  void row(int32_t id, const float* v) {
    std::string t;
    t.reserve(16 + 4 * dim_);
    put16(&t, 2);
    put32(&t, 4);
    put32(&t, static_cast<uint32_t>(id));
    put32(&t, static_cast<uint32_t>(4 + 4 * dim_));
    put16(&t, static_cast<int16_t>(dim_));
    put16(&t, 0);
    for (int i = 0; i < dim_; i++) {
      uint32_t u;
      std::memcpy(&u, &v[i], 4);
      put32(&t, u);
    }
    write(t);
  }

 private:
  void write(const std::string& s) {
    if (std::fwrite(s.data(), 1, s.size(), f_) != s.size()) {
      std::perror("gen_clustered: write");
      std::exit(1);
    }
  }
  FILE* f_;
  int dim_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: gen_clustered ROWS DIM CLUSTERS QUERIES SEED OUTDIR\n");
    return 2;
  }
  const long rows = std::atol(argv[1]);
  const int dim = std::atoi(argv[2]);
  const int clusters = std::atoi(argv[3]);
  const int queries = std::atoi(argv[4]);
  const uint64_t seed = std::strtoull(argv[5], nullptr, 10);
  const std::string out = argv[6];
  if (rows < 10 || dim < 1 || dim > 16000 || clusters < 1 || queries < 1) {
    std::fprintf(stderr, "gen_clustered: bad arguments\n");
    return 2;
  }

  ruvector::tools::ClusteredData data(dim, clusters, seed);
  auto draw = [&](float* v) { data.draw(v); };

  std::vector<float> base(static_cast<size_t>(rows) * dim);
  {
    CopyWriter w(out + "/base.copy", dim);
    for (long r = 0; r < rows; r++) {
      draw(&base[r * dim]);
      w.row(static_cast<int32_t>(r + 1), &base[r * dim]);
    }
  }
  std::vector<float> q(static_cast<size_t>(queries) * dim);
  {
    CopyWriter w(out + "/queries.copy", dim);
    for (int i = 0; i < queries; i++) {
      draw(&q[static_cast<size_t>(i) * dim]);
      w.row(i, &q[static_cast<size_t>(i) * dim]);
    }
  }

  // Exact top 10 per query, queries split over the hardware threads.
  std::vector<std::vector<long>> truth(queries);
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; t++) {
    pool.emplace_back([&, t] {
      for (int i = static_cast<int>(t); i < queries; i += static_cast<int>(threads)) {
        const float* qi = &q[static_cast<size_t>(i) * dim];
        std::vector<std::pair<double, long>> best;  // max-heap of the 10 nearest
        for (long r = 0; r < rows; r++) {
          const float* x = &base[r * dim];
          double d = 0;
          for (int k = 0; k < dim; k++) {
            double diff = static_cast<double>(x[k]) - qi[k];
            d += diff * diff;
          }
          if (best.size() < 10) {
            best.emplace_back(d, r + 1);
            std::push_heap(best.begin(), best.end());
          } else if (d < best.front().first) {
            std::pop_heap(best.begin(), best.end());
            best.back() = {d, r + 1};
            std::push_heap(best.begin(), best.end());
          }
        }
        std::sort_heap(best.begin(), best.end());
        for (auto& b : best) truth[i].push_back(b.second);
      }
    });
  }
  for (auto& th : pool) th.join();
  FILE* f = std::fopen((out + "/truth.copy").c_str(), "w");
  if (f == nullptr) {
    std::perror("truth.copy");
    return 1;
  }
  for (int i = 0; i < queries; i++) {
    std::fprintf(f, "%d\t{", i);
    for (size_t k = 0; k < truth[i].size(); k++) std::fprintf(f, k ? ",%ld" : "%ld", truth[i][k]);
    std::fprintf(f, "}\n");
  }
  std::fclose(f);
  return 0;
}
