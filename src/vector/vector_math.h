// Element-wise arithmetic, ordering and aggregation state for vectors. Distances live in
// kernels/cpu/distance.h; these are the operations that are not on a hot path.
#pragma once

namespace ruvector::vector {

// out[i] = a[i] op b[i]; throws "value out of range: overflow" (or underflow for mul) when
// a finite input gives an infinite (or, for mul, a zero from non-zero) result.
void add(const float* a, const float* b, float* out, int dim);
void subtract(const float* a, const float* b, float* out, int dim);
void multiply(const float* a, const float* b, float* out, int dim);

// Euclidean norm computed in double, as pgvector's vector_norm does.
double norm(const float* a, int dim);

// out = a / |a|; a zero vector normalizes to itself (all zeros).
void l2_normalize(const float* a, float* out, int dim);

// Cosine distance 1 - cos(a, b) from the kernel's parts, clamped to [0, 2]. NaN when
// either vector is zero, as in pgvector: the angle to a zero vector is undefined.
double cosine_distance_from_parts(float dot, float norm_a_sq, float norm_b_sq);

// Total order used by the btree opclass: element-wise, then the shorter vector first.
int compare(const float* a, int dim_a, const float* b, int dim_b);

// avg() state: state[0] = count, state[1..dim] = running sums in double.
void accumulate(double* state, const float* value, int dim);
void combine(double* state, const double* other, int dim);
// Finishes the average; throws on overflow of the float result.
void average(const double* state, float* out, int dim);

}  // namespace ruvector::vector
