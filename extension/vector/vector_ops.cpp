// Distances, element-wise arithmetic, norms and ordering of ruvector values. Distances go
// through the SIMD kernels chosen at load time; results are float8 like pgvector's.
#include "extension/boundary.h"
#include "extension/rabitq/rabitq_returned.h"
#include "extension/vector/vector_type.h"

#include <cmath>

#include "kernels/cpu/distance.h"
#include "util/error.h"
#include "vector/vector_check.h"
#include "vector/vector_math.h"

using ruvector::pg::new_ruvector;
using ruvector::pg::RuVector;
using ruvector::pg::rabitq::returned_distance;
using ruvector::rabitq::Metric;
namespace vec = ruvector::vector;

namespace {

const ruvector::kernels::DistanceKernels& kernels() {
  return ruvector::kernels::distance_kernels();
}

}  // namespace

// The distance a rabitq scan just returned for this row and query, instead of detoasting
// the row again (rabitq_returned.h).
#define RUVECTOR_RETURNED_DISTANCE(metric)                                              \
  do {                                                                                  \
    double returned;                                                                    \
    if (returned_distance(metric, PG_GETARG_DATUM(0), PG_GETARG_DATUM(1), &returned)) { \
      PG_RETURN_FLOAT8(returned);                                                       \
    }                                                                                   \
  } while (0)

// Fetches two vector arguments of equal dimension as `a` and `b`.
#define RUVECTOR_TWO_ARGS()              \
  RuVector* a = PG_GETARG_RUVECTOR_P(0); \
  RuVector* b = PG_GETARG_RUVECTOR_P(1); \
  vec::check_same_dim(a->dim, b->dim)

RUVECTOR_FUNCTION(ruvector_l2_distance) {
  RUVECTOR_RETURNED_DISTANCE(Metric::kL2);
  RUVECTOR_TWO_ARGS();
  PG_RETURN_FLOAT8(std::sqrt(static_cast<double>(kernels().l2_squared(a->x, b->x, a->dim))));
}

RUVECTOR_FUNCTION(ruvector_l2_squared_distance) {
  RUVECTOR_TWO_ARGS();
  PG_RETURN_FLOAT8(static_cast<double>(kernels().l2_squared(a->x, b->x, a->dim)));
}

RUVECTOR_FUNCTION(ruvector_inner_product) {
  RUVECTOR_TWO_ARGS();
  PG_RETURN_FLOAT8(static_cast<double>(kernels().inner_product(a->x, b->x, a->dim)));
}

RUVECTOR_FUNCTION(ruvector_negative_inner_product) {
  RUVECTOR_RETURNED_DISTANCE(Metric::kInnerProduct);
  RUVECTOR_TWO_ARGS();
  PG_RETURN_FLOAT8(-static_cast<double>(kernels().inner_product(a->x, b->x, a->dim)));
}

RUVECTOR_FUNCTION(ruvector_cosine_distance) {
  RUVECTOR_RETURNED_DISTANCE(Metric::kCosine);
  RUVECTOR_TWO_ARGS();
  auto parts = kernels().cosine_parts(a->x, b->x, a->dim);
  PG_RETURN_FLOAT8(vec::cosine_distance_from_parts(parts.dot, parts.norm_a_sq, parts.norm_b_sq));
}

RUVECTOR_FUNCTION(ruvector_l1_distance) {
  RUVECTOR_TWO_ARGS();
  PG_RETURN_FLOAT8(static_cast<double>(kernels().l1(a->x, b->x, a->dim)));
}

RUVECTOR_FUNCTION(ruvector_dims) {
  RuVector* a = PG_GETARG_RUVECTOR_P(0);
  PG_RETURN_INT32(a->dim);
}

RUVECTOR_FUNCTION(ruvector_norm) {
  RuVector* a = PG_GETARG_RUVECTOR_P(0);
  PG_RETURN_FLOAT8(vec::norm(a->x, a->dim));
}

RUVECTOR_FUNCTION(ruvector_l2_normalize) {
  RuVector* a = PG_GETARG_RUVECTOR_P(0);
  RuVector* result = new_ruvector(a->dim);
  vec::l2_normalize(a->x, result->x, a->dim);
  PG_RETURN_RUVECTOR_P(result);
}

// subvector(v, start, count): `count` elements from 1-based `start`, clipped to the
// vector like substring(); an empty result is an error.
RUVECTOR_FUNCTION(ruvector_subvector) {
  RuVector* a = PG_GETARG_RUVECTOR_P(0);
  int64 start = PG_GETARG_INT32(1);
  int64 count = PG_GETARG_INT32(2);
  if (count < 1) {
    ruvector::fail(ruvector::ErrorKind::kDataException, "ruvector must have at least 1 dimension");
  }
  int64 end = start + count;  // exclusive; int64 so that start + count cannot overflow
  if (start < 1) start = 1;
  if (end > a->dim + 1) end = a->dim + 1;
  int dim = static_cast<int>(end - start);
  vec::check_dim(dim, ruvector::pg::kVectorTypeName);
  RuVector* result = new_ruvector(dim);
  memcpy(result->x, a->x + (start - 1), sizeof(float) * dim);
  PG_RETURN_RUVECTOR_P(result);
}

#define RUVECTOR_ELEMENTWISE(name, op)       \
  RUVECTOR_FUNCTION(name) {                  \
    RUVECTOR_TWO_ARGS();                     \
    RuVector* result = new_ruvector(a->dim); \
    op(a->x, b->x, result->x, a->dim);       \
    PG_RETURN_RUVECTOR_P(result);            \
  }

RUVECTOR_ELEMENTWISE(ruvector_add, vec::add)
RUVECTOR_ELEMENTWISE(ruvector_sub, vec::subtract)
RUVECTOR_ELEMENTWISE(ruvector_mul, vec::multiply)

// Comparisons run inside sorts and btree builds, where detoasted copies would pile up
// until the end of the sort: free them at once.
static int compare_args(FunctionCallInfo fcinfo) {
  RuVector* a = PG_GETARG_RUVECTOR_P(0);
  RuVector* b = PG_GETARG_RUVECTOR_P(1);
  int c = vec::compare(a->x, a->dim, b->x, b->dim);
  PG_FREE_IF_COPY(a, 0);
  PG_FREE_IF_COPY(b, 1);
  return c;
}

RUVECTOR_FUNCTION(ruvector_cmp) { PG_RETURN_INT32(compare_args(fcinfo)); }

#define RUVECTOR_COMPARISON(name, test) \
  RUVECTOR_FUNCTION(name) {             \
    int c = compare_args(fcinfo);       \
    PG_RETURN_BOOL(test);               \
  }

RUVECTOR_COMPARISON(ruvector_lt, c < 0)
RUVECTOR_COMPARISON(ruvector_le, c <= 0)
RUVECTOR_COMPARISON(ruvector_eq, c == 0)
RUVECTOR_COMPARISON(ruvector_ne, c != 0)
RUVECTOR_COMPARISON(ruvector_ge, c >= 0)
RUVECTOR_COMPARISON(ruvector_gt, c > 0)
