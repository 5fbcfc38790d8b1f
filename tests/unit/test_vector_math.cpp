// Element-wise arithmetic, ordering, cosine from parts and avg state of vectors.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "util/error.h"
#include "vector/vector_check.h"
#include "vector/vector_math.h"

namespace vec = ruvector::vector;
using ruvector::Error;

TEST(VectorMath, Arithmetic) {
  float a[] = {1, 2, 3}, b[] = {4, 5, 6}, out[3];
  vec::add(a, b, out, 3);
  EXPECT_EQ(std::vector<float>(out, out + 3), (std::vector<float>{5, 7, 9}));
  vec::subtract(a, b, out, 3);
  EXPECT_EQ(std::vector<float>(out, out + 3), (std::vector<float>{-3, -3, -3}));
  vec::multiply(a, b, out, 3);
  EXPECT_EQ(std::vector<float>(out, out + 3), (std::vector<float>{4, 10, 18}));
}

TEST(VectorMath, OverflowAndUnderflowAreErrors) {
  float big[] = {3e38f}, tiny[] = {1e-30f}, out[1];
  EXPECT_THROW(vec::add(big, big, out, 1), Error);
  EXPECT_THROW(vec::multiply(big, big, out, 1), Error);
  EXPECT_THROW(vec::multiply(tiny, tiny, out, 1), Error);
}

TEST(VectorMath, NormAndNormalize) {
  float a[] = {3, 4}, z[] = {0, 0}, out[2];
  EXPECT_DOUBLE_EQ(vec::norm(a, 2), 5.0);
  vec::l2_normalize(a, out, 2);
  EXPECT_FLOAT_EQ(out[0], 0.6f);
  EXPECT_FLOAT_EQ(out[1], 0.8f);
  vec::l2_normalize(z, out, 2);
  EXPECT_EQ(out[0], 0.0f);
  EXPECT_EQ(out[1], 0.0f);
}

TEST(VectorMath, CosineFromParts) {
  EXPECT_DOUBLE_EQ(vec::cosine_distance_from_parts(0, 1, 1), 1.0);
  EXPECT_DOUBLE_EQ(vec::cosine_distance_from_parts(2, 1, 4), 0.0);
  EXPECT_DOUBLE_EQ(vec::cosine_distance_from_parts(-1, 1, 1), 2.0);
  // rounding past +-1 is clamped into [0, 2]
  EXPECT_DOUBLE_EQ(vec::cosine_distance_from_parts(1.0000001f, 1, 1), 0.0);
  EXPECT_TRUE(std::isnan(vec::cosine_distance_from_parts(0, 0, 1)));
}

TEST(VectorMath, CompareIsATotalOrder) {
  float a[] = {1, 2}, b[] = {1, 3}, c[] = {1, 2, 0};
  EXPECT_LT(vec::compare(a, 2, b, 2), 0);
  EXPECT_GT(vec::compare(b, 2, a, 2), 0);
  EXPECT_EQ(vec::compare(a, 2, a, 2), 0);
  EXPECT_LT(vec::compare(a, 2, c, 3), 0);  // a prefix sorts first
  EXPECT_GT(vec::compare(b, 2, c, 3), 0);
}

TEST(VectorMath, AverageState) {
  std::vector<double> s1(3, 0.0), s2(3, 0.0);
  float x[] = {1, 2}, y[] = {3, 6}, out[2];
  vec::accumulate(s1.data(), x, 2);
  vec::accumulate(s2.data(), y, 2);
  vec::combine(s1.data(), s2.data(), 2);
  EXPECT_EQ(s1[0], 2);
  vec::average(s1.data(), out, 2);
  EXPECT_EQ(out[0], 2);
  EXPECT_EQ(out[1], 4);
}

TEST(VectorCheck, Messages) {
  EXPECT_NO_THROW(vec::check_element(1.0f, "ruvector"));
  EXPECT_THROW(vec::check_element(NAN, "ruvector"), Error);
  EXPECT_THROW(vec::check_dim(0, "ruvector"), Error);
  EXPECT_THROW(vec::check_dim(16001, "ruvector"), Error);
  try {
    vec::check_same_dim(2, 3);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "different vector dimensions 2 and 3");
  }
  try {
    vec::check_typmod_dim(3, 2);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "expected 3 dimensions, not 2");
  }
  EXPECT_NO_THROW(vec::check_typmod_dim(-1, 7));
}
