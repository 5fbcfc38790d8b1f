// See vector_check.h.
#include "vector/vector_check.h"

#include <string>

#include "util/error.h"
#include "vector/vector_text.h"

namespace ruvector::vector {

void check_element_slow(float value, const char* type_name) {
  if (std::isnan(value))
    fail(ErrorKind::kDataException, std::string("NaN not allowed in ") + type_name);
  if (std::isinf(value)) {
    fail(ErrorKind::kDataException, std::string("infinite value not allowed in ") + type_name);
  }
}

void check_dim(int dim, const char* type_name) {
  if (dim < 1)
    fail(ErrorKind::kDataException, std::string(type_name) + " must have at least 1 dimension");
  if (dim > kMaxDim) {
    fail(ErrorKind::kProgramLimit, std::string(type_name) + " cannot have more than " +
                                       std::to_string(kMaxDim) + " dimensions");
  }
}

void check_same_dim(int a, int b) {
  if (a != b) {
    fail(ErrorKind::kDataException,
         "different vector dimensions " + std::to_string(a) + " and " + std::to_string(b));
  }
}

void check_typmod_dim(int typmod, int dim) {
  if (typmod != -1 && typmod != dim) {
    fail(ErrorKind::kDataException,
         "expected " + std::to_string(typmod) + " dimensions, not " + std::to_string(dim));
  }
}

void check_typmod(int typmod, const char* type_name) {
  if (typmod < 1) {
    fail(ErrorKind::kInvalidParameter,
         std::string("dimensions for type ") + type_name + " must be at least 1");
  }
  if (typmod > kMaxDim) {
    fail(ErrorKind::kInvalidParameter, std::string("dimensions for type ") + type_name +
                                           " cannot exceed " + std::to_string(kMaxDim));
  }
}

}  // namespace ruvector::vector
