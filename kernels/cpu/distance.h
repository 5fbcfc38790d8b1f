// Distance kernels over float32 vectors, one table per ISA (AVX-512, AVX2+FMA, or portable
// scalar); isa.h decides which one a process uses. Callers hold the returned table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ruvector::kernels {

struct CosineParts {
  float dot;
  float norm_a_sq;
  float norm_b_sq;
};

// How often l2_squared_until compares its partial sum with the limit: every 1 KB of a row.
inline constexpr std::size_t kCheckFloats = 256;

struct DistanceKernels {
  const char* isa;  // "avx512", "avx2", "scalar"
  float (*l2_squared)(const float* a, const float* b, std::size_t n);
  // l2_squared bit for bit, or, once a partial sum over a multiple of kCheckFloats
  // dimensions exceeds `limit`, that partial sum: more than limit and at most l2_squared.
  // For an exact rerank that only needs to know that a row is farther than the k-th.
  float (*l2_squared_until)(const float* a, const float* b, std::size_t n, float limit);
  float (*inner_product)(const float* a, const float* b, std::size_t n);
  float (*l1)(const float* a, const float* b, std::size_t n);
  float (*norm_squared)(const float* a, std::size_t n);
  CosineParts (*cosine_parts)(const float* a, const float* b, std::size_t n);
  // RaBitQ: sum_j 2^j popcount(code AND plane_j) over 4 query bit planes of `words` words.
  std::uint32_t (*bitplane_dot4)(const std::uint64_t* code, const std::uint64_t* planes,
                                 std::size_t words);
  // out[j] = <a, b + j * stride> for j < 4: one row against four centroids, reading the
  // row once (IVF assignment and k-means). Sums in another order than inner_product.
  void (*inner_product_1x4)(const float* a, const float* b, std::size_t stride, std::size_t n,
                            float* out);
  // out[r * 4 + j] = <a + r * a_stride, b + j * b_stride> for r, j < 4: four rows against
  // four centroids. Bit for bit what inner_product_1x4 gives for each row, in fewer loads.
  void (*inner_product_4x4)(const float* a, std::size_t a_stride, const float* b,
                            std::size_t b_stride, std::size_t n, float* out);
  // <a, b> of unsigned bytes a and signed bytes b in [-127, 127], exact (int8 centroid codes
  // stored offset by 128 against an int8 query, for a probe order that reads a quarter of
  // the bytes); exact up to n = 2^31 / (255 · 127).
  std::int32_t (*dot_u8i8)(const std::uint8_t* a, const std::int8_t* b, std::size_t n);
  // The unnormalised Walsh-Hadamard transform of n = 2^k floats, in place (the RaBitQ
  // rotation); the same bits on every ISA.
  void (*hadamard)(float* x, std::uint32_t n);
  // The rotation's other steps, the same bits on every ISA: x[i] = -x[i] where bit i of
  // signs is set (n a multiple of 64); x[i] *= s; and the butterfly between two halves,
  // (x[i], x[i + half]) = ((a + b) s, (a - b) s).
  void (*flip_signs)(float* x, const std::uint64_t* signs, std::uint32_t n);
  void (*scale)(float* x, std::uint32_t n, float s);
  void (*butterfly)(float* x, std::uint32_t half, float s);
  // out[i] = a[i] - b[i]: a query's residual against a centroid, once per probed list.
  void (*subtract)(const float* a, const float* b, float* out, std::uint32_t n);
};

// The table of the process's ISA (isa.h).
const DistanceKernels& distance_kernels();

// The table for a named ISA, or nullptr when this CPU (or this build) lacks it. For tests
// and benchmarks that compare every implementation.
const DistanceKernels* distance_kernels_for(const char* isa);

// Every table this CPU can run, each AVX-512 extension's variant included (named
// "avx512" all the same): for tests that compare them all. Not for use inside a backend.
std::vector<const DistanceKernels*> usable_distance_kernels();

}  // namespace ruvector::kernels
