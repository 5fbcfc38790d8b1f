// Validation shared by every way a vector enters the system (text, binary, arrays,
// arithmetic): pgvector's rules and messages, with the type name as a parameter.
#pragma once

#include <cmath>

namespace ruvector::vector {

// Throws unless `value` is finite: NaN and infinities are not allowed in vectors.
void check_element_slow(float value, const char* type_name);
inline void check_element(float value, const char* type_name) {
  if (!std::isfinite(value)) check_element_slow(value, type_name);
}

// Throws unless 1 <= dim <= kMaxDim.
void check_dim(int dim, const char* type_name);

// Throws when two operands differ in dimensions.
void check_same_dim(int a, int b);

// Throws when a value of `dim` dimensions is stored into a column of `typmod` (-1: any).
void check_typmod_dim(int typmod, int dim);

// Validates a typmod given in a column definition: 1 <= dims <= kMaxDim.
void check_typmod(int typmod, const char* type_name);

}  // namespace ruvector::vector
