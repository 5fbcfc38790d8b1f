// See vector_math.h.
#include "vector/vector_math.h"

#include <cmath>

#include "util/error.h"

namespace ruvector::vector {
namespace {

[[noreturn]] void overflow() { fail(ErrorKind::kOutOfRange, "value out of range: overflow"); }
[[noreturn]] void underflow() { fail(ErrorKind::kOutOfRange, "value out of range: underflow"); }

}  // namespace

void add(const float* a, const float* b, float* out, int dim) {
  for (int i = 0; i < dim; i++) out[i] = a[i] + b[i];
  for (int i = 0; i < dim; i++) {
    if (std::isinf(out[i])) overflow();
  }
}

void subtract(const float* a, const float* b, float* out, int dim) {
  for (int i = 0; i < dim; i++) out[i] = a[i] - b[i];
  for (int i = 0; i < dim; i++) {
    if (std::isinf(out[i])) overflow();
  }
}

void multiply(const float* a, const float* b, float* out, int dim) {
  for (int i = 0; i < dim; i++) out[i] = a[i] * b[i];
  for (int i = 0; i < dim; i++) {
    if (std::isinf(out[i])) overflow();
    if (out[i] == 0 && a[i] != 0 && b[i] != 0) underflow();
  }
}

double norm(const float* a, int dim) {
  double sum = 0.0;
  for (int i = 0; i < dim; i++) sum += static_cast<double>(a[i]) * a[i];
  return std::sqrt(sum);
}

void l2_normalize(const float* a, float* out, int dim) {
  double n = norm(a, dim);
  if (n > 0) {
    for (int i = 0; i < dim; i++) out[i] = static_cast<float>(a[i] / n);
  } else {
    for (int i = 0; i < dim; i++) out[i] = 0.0f;
  }
}

double cosine_distance_from_parts(float dot, float norm_a_sq, float norm_b_sq) {
  double similarity = static_cast<double>(dot) /
                      std::sqrt(static_cast<double>(norm_a_sq) * static_cast<double>(norm_b_sq));
  if (std::isnan(similarity)) return similarity;
  // Rounding can push |similarity| past 1; keep the distance inside [0, 2].
  if (similarity > 1) similarity = 1;
  if (similarity < -1) similarity = -1;
  return 1 - similarity;
}

int compare(const float* a, int dim_a, const float* b, int dim_b) {
  int n = dim_a < dim_b ? dim_a : dim_b;
  for (int i = 0; i < n; i++) {
    if (a[i] < b[i]) return -1;
    if (a[i] > b[i]) return 1;
  }
  if (dim_a < dim_b) return -1;
  if (dim_a > dim_b) return 1;
  return 0;
}

void accumulate(double* state, const float* value, int dim) {
  state[0] += 1;
  for (int i = 0; i < dim; i++) state[i + 1] += value[i];
}

void combine(double* state, const double* other, int dim) {
  for (int i = 0; i <= dim; i++) state[i] += other[i];
}

void average(const double* state, float* out, int dim) {
  for (int i = 0; i < dim; i++) {
    out[i] = static_cast<float>(state[i + 1] / state[0]);
    if (std::isinf(out[i])) overflow();
  }
}

}  // namespace ruvector::vector
