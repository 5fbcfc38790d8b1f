// avg(ruvector): transition, combine and final functions over a float8[] state
// {count, sum_1, ..., sum_dim}, summed in double. sum(ruvector) reuses ruvector_add.
#include "extension/boundary.h"
#include "extension/vector/vector_type.h"

#include "util/error.h"
#include "vector/vector_check.h"
#include "vector/vector_math.h"

using ruvector::ErrorKind;
using ruvector::fail;
using ruvector::pg::new_ruvector;
using ruvector::pg::RuVector;
namespace vec = ruvector::vector;

namespace {

// Validates an aggregate state array and returns its values and length.
double* state_values(ArrayType* state, const char* caller, int* length) {
  if (ARR_NDIM(state) != 1 || ARR_DIMS(state)[0] < 1 || ARR_HASNULL(state) ||
      ARR_ELEMTYPE(state) != FLOAT8OID) {
    fail(ErrorKind::kInternal, std::string(caller) + ": expected a non-empty float8 array");
  }
  *length = ARR_DIMS(state)[0];
  return reinterpret_cast<double*>(ARR_DATA_PTR(state));
}

ArrayType* make_state(const double* values, int length) {
  Datum* datums = static_cast<Datum*>(palloc(sizeof(Datum) * length));
  for (int i = 0; i < length; i++) datums[i] = Float8GetDatum(values[i]);
  ArrayType* result =
      construct_array(datums, length, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
  pfree(datums);
  return result;
}

void check_sums_finite(const double* state, int length) {
  for (int i = 1; i < length; i++) {
    if (std::isinf(state[i])) fail(ErrorKind::kOutOfRange, "value out of range: overflow");
  }
}

}  // namespace

RUVECTOR_FUNCTION(ruvector_accum) {
  ArrayType* state = PG_GETARG_ARRAYTYPE_P(0);
  RuVector* value = PG_GETARG_RUVECTOR_P(1);
  int length;
  double* values = state_values(state, "ruvector_accum", &length);

  if (values[0] == 0) {
    // First row: the state takes this vector's dimension.
    double* fresh = static_cast<double*>(palloc0(sizeof(double) * (value->dim + 1)));
    vec::accumulate(fresh, value->x, value->dim);
    PG_RETURN_ARRAYTYPE_P(make_state(fresh, value->dim + 1));
  }
  vec::check_same_dim(length - 1, value->dim);
  // Inside an aggregate the state array is ours to update in place; elsewhere copy it.
  if (!AggCheckCallContext(fcinfo, nullptr)) {
    state = make_state(values, length);
    values = reinterpret_cast<double*>(ARR_DATA_PTR(state));
  }
  vec::accumulate(values, value->x, value->dim);
  check_sums_finite(values, length);
  PG_RETURN_ARRAYTYPE_P(state);
}

RUVECTOR_FUNCTION(ruvector_combine) {
  ArrayType* state_a = PG_GETARG_ARRAYTYPE_P(0);
  ArrayType* state_b = PG_GETARG_ARRAYTYPE_P(1);
  int length_a, length_b;
  double* a = state_values(state_a, "ruvector_combine", &length_a);
  double* b = state_values(state_b, "ruvector_combine", &length_b);
  if (b[0] == 0) PG_RETURN_ARRAYTYPE_P(make_state(a, length_a));
  if (a[0] == 0) PG_RETURN_ARRAYTYPE_P(make_state(b, length_b));
  vec::check_same_dim(length_a - 1, length_b - 1);
  ArrayType* result = make_state(a, length_a);
  double* sums = reinterpret_cast<double*>(ARR_DATA_PTR(result));
  vec::combine(sums, b, length_a - 1);
  check_sums_finite(sums, length_a);
  PG_RETURN_ARRAYTYPE_P(result);
}

RUVECTOR_FUNCTION(ruvector_avg) {
  ArrayType* state = PG_GETARG_ARRAYTYPE_P(0);
  int length;
  double* values = state_values(state, "ruvector_avg", &length);
  if (values[0] == 0) PG_RETURN_NULL();  // avg of no rows, as for numbers
  RuVector* result = new_ruvector(length - 1);
  vec::average(values, result->x, length - 1);
  PG_RETURN_RUVECTOR_P(result);
}
