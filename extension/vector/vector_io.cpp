// Text and binary I/O of ruvector, its typmod, and the typmod-applying cast.
#include "extension/boundary.h"
#include "extension/vector/vector_type.h"

#include "util/error.h"
#include "vector/vector_check.h"
#include "vector/vector_text.h"

using ruvector::pg::kVectorTypeName;
using ruvector::pg::new_ruvector;
using ruvector::pg::RuVector;
namespace vec = ruvector::vector;

RUVECTOR_FUNCTION(ruvector_in) {
  const char* text = PG_GETARG_CSTRING(0);
  int32 typmod = PG_GETARG_INT32(2);
  float* values = static_cast<float*>(palloc(sizeof(float) * vec::kMaxDim));
  int dim = vec::parse_text(text, values, kVectorTypeName);
  vec::check_typmod_dim(typmod, dim);
  RuVector* result = new_ruvector(dim);
  memcpy(result->x, values, sizeof(float) * dim);
  pfree(values);
  PG_RETURN_RUVECTOR_P(result);
}

RUVECTOR_FUNCTION(ruvector_out) {
  RuVector* v = PG_GETARG_RUVECTOR_P(0);
  char* buf = static_cast<char*>(palloc(vec::format_text_capacity(v->dim)));
  vec::format_text(v->x, v->dim, buf);
  PG_FREE_IF_COPY(v, 0);
  PG_RETURN_CSTRING(buf);
}

RUVECTOR_FUNCTION(ruvector_typmod_in) {
  ArrayType* ta = PG_GETARG_ARRAYTYPE_P(0);
  int n = 0;
  int32* mods = ArrayGetIntegerTypmods(ta, &n);
  if (n != 1) ruvector::fail(ruvector::ErrorKind::kInvalidParameter, "invalid type modifier");
  vec::check_typmod(mods[0], kVectorTypeName);
  PG_RETURN_INT32(mods[0]);
}

RUVECTOR_FUNCTION(ruvector_recv) {
  StringInfo buf = reinterpret_cast<StringInfo>(PG_GETARG_POINTER(0));
  int32 typmod = PG_GETARG_INT32(2);
  // Both are int16 on the wire (pgvector's layout): read them signed, so that -1 is -1.
  int dim = static_cast<int16>(pq_getmsgint(buf, sizeof(int16)));
  int unused = static_cast<int16>(pq_getmsgint(buf, sizeof(int16)));
  if (dim < 0) {
    ruvector::fail(ruvector::ErrorKind::kDataException,
                   "binary ruvector has a negative dimension count (" + std::to_string(dim) + ")");
  }
  vec::check_dim(dim, kVectorTypeName);
  vec::check_typmod_dim(typmod, dim);
  if (unused != 0) {
    ruvector::fail(ruvector::ErrorKind::kDataException,
                   "expected unused to be 0, not " + std::to_string(unused));
  }
  // The values must be all there: a short message is an error, never a padded vector.
  if (buf->len - buf->cursor < static_cast<int>(sizeof(float)) * dim) {
    ruvector::fail(ruvector::ErrorKind::kDataException,
                   "binary ruvector of " + std::to_string(dim) + " dimensions needs " +
                       std::to_string(4 * dim) + " bytes of values, got " +
                       std::to_string(buf->len - buf->cursor));
  }
  RuVector* result = new_ruvector(dim);
  for (int i = 0; i < dim; i++) {
    result->x[i] = pq_getmsgfloat4(buf);
    vec::check_element(result->x[i], kVectorTypeName);
  }
  PG_RETURN_RUVECTOR_P(result);
}

RUVECTOR_FUNCTION(ruvector_send) {
  RuVector* v = PG_GETARG_RUVECTOR_P(0);
  StringInfoData buf;
  pq_begintypsend(&buf);
  pq_sendint(&buf, v->dim, sizeof(int16));
  pq_sendint(&buf, v->unused, sizeof(int16));
  for (int i = 0; i < v->dim; i++) pq_sendfloat4(&buf, v->x[i]);
  PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

// ruvector(ruvector, typmod, explicit): applies a column's dimension to a value.
RUVECTOR_FUNCTION(ruvector_apply_typmod) {
  RuVector* v = PG_GETARG_RUVECTOR_P(0);
  vec::check_typmod_dim(PG_GETARG_INT32(1), v->dim);
  PG_RETURN_RUVECTOR_P(v);
}
