// The ruvector varlena: the same bytes as pgvector's `vector` (int32 header, int16 dim,
// int16 unused = 0, float4 values), so a binary-coercible cast between the two is exact.
#pragma once

#include "extension/pg_wrapper.h"

namespace ruvector::pg {

constexpr const char* kVectorTypeName = "ruvector";

struct RuVector {
  int32 vl_len_;  // varlena header; never touch directly
  int16 dim;
  int16 unused;  // always 0; reserved, as in pgvector
  float x[FLEXIBLE_ARRAY_MEMBER];
};

inline Size ruvector_size(int dim) { return offsetof(RuVector, x) + sizeof(float) * dim; }

// A zeroed vector of `dim` dimensions in the current memory context.
inline RuVector* new_ruvector(int dim) {
  RuVector* result = static_cast<RuVector*>(palloc0(ruvector_size(dim)));
  SET_VARSIZE(result, ruvector_size(dim));
  result->dim = static_cast<int16>(dim);
  return result;
}

// An inline compressed vector, decompressed into the current memory context
// (vector_detoast.cpp).
RuVector* decompress_ruvector(struct varlena* compressed);

inline RuVector* datum_get_ruvector(Datum d) {
  auto* p = reinterpret_cast<struct varlena*>(DatumGetPointer(d));
  if (VARATT_IS_COMPRESSED(p)) return decompress_ruvector(p);
  return reinterpret_cast<RuVector*>(PG_DETOAST_DATUM(d));
}

}  // namespace ruvector::pg

#define PG_GETARG_RUVECTOR_P(n) ::ruvector::pg::datum_get_ruvector(PG_GETARG_DATUM(n))
#define PG_RETURN_RUVECTOR_P(v) PG_RETURN_POINTER(v)
