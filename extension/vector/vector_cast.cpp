// Casts between ruvector and Postgres arrays (integer[], real[], double precision[],
// numeric[] in; real[] out), with pgvector's rules: 1-D, no NULLs, finite values.
#include "extension/boundary.h"
#include "extension/vector/vector_type.h"

#include "util/error.h"
#include "vector/vector_check.h"

using ruvector::ErrorKind;
using ruvector::fail;
using ruvector::pg::kVectorTypeName;
using ruvector::pg::new_ruvector;
using ruvector::pg::RuVector;
namespace vec = ruvector::vector;

RUVECTOR_FUNCTION(array_to_ruvector) {
  ArrayType* array = PG_GETARG_ARRAYTYPE_P(0);
  int32 typmod = PG_GETARG_INT32(1);
  if (ARR_NDIM(array) > 1) fail(ErrorKind::kDataException, "array must be 1-D");
  if (ARR_HASNULL(array) && array_contains_nulls(array)) {
    fail(ErrorKind::kDataException, "array must not contain nulls");
  }
  Oid elem_type = ARR_ELEMTYPE(array);
  if (elem_type != INT4OID && elem_type != FLOAT4OID && elem_type != FLOAT8OID &&
      elem_type != NUMERICOID) {
    fail(ErrorKind::kDataException, "unsupported array type");
  }

  int16 typlen;
  bool typbyval;
  char typalign;
  get_typlenbyvalalign(elem_type, &typlen, &typbyval, &typalign);
  Datum* elems;
  int n;
  deconstruct_array(array, elem_type, typlen, typbyval, typalign, &elems, nullptr, &n);
  vec::check_dim(n, kVectorTypeName);
  vec::check_typmod_dim(typmod, n);

  RuVector* result = new_ruvector(n);
  for (int i = 0; i < n; i++) {
    switch (elem_type) {
      case INT4OID:
        result->x[i] = static_cast<float>(DatumGetInt32(elems[i]));
        break;
      case FLOAT4OID:
        result->x[i] = DatumGetFloat4(elems[i]);
        break;
      case FLOAT8OID:
        result->x[i] = static_cast<float>(DatumGetFloat8(elems[i]));
        break;
      default:  // NUMERICOID: numeric_float4 rounds once and reports its own overflow.
        result->x[i] = DatumGetFloat4(DirectFunctionCall1(numeric_float4, elems[i]));
        break;
    }
  }
  pfree(elems);
  for (int i = 0; i < n; i++) vec::check_element(result->x[i], kVectorTypeName);
  PG_RETURN_RUVECTOR_P(result);
}

RUVECTOR_FUNCTION(ruvector_to_float4) {
  RuVector* v = PG_GETARG_RUVECTOR_P(0);
  Datum* datums = static_cast<Datum*>(palloc(sizeof(Datum) * v->dim));
  for (int i = 0; i < v->dim; i++) datums[i] = Float4GetDatum(v->x[i]);
  ArrayType* result =
      construct_array(datums, v->dim, FLOAT4OID, sizeof(float4), true, TYPALIGN_INT);
  pfree(datums);
  PG_FREE_IF_COPY(v, 0);
  PG_RETURN_POINTER(result);
}
