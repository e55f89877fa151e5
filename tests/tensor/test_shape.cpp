// Shapes, strides and broadcasting rules (tensor/shape.h).
#include "tensor/shape.h"

#include "tensor/errors.h"

#include <doctest/doctest.h>

using tensor::Shape;
using tensor::Strides;

TEST_SUITE("tensor/shape") {

TEST_CASE("numel is the product of the sizes, 1 for a scalar and 0 when any size is 0") {
  CHECK(tensor::numel({}) == 1);
  CHECK(tensor::numel({7}) == 7);
  CHECK(tensor::numel({2, 3, 4}) == 24);  // 2 * 3 * 4
  CHECK(tensor::numel({5, 0, 3}) == 0);
}

TEST_CASE("contiguous strides are row-major: the last dimension moves fastest") {
  SUBCASE("rank 3") {
    // [2, 3, 4]: a step in dim 1 skips 4 values, a step in dim 0 skips 3 * 4 = 12.
    CHECK(tensor::contiguous_strides({2, 3, 4}) == Strides{12, 4, 1});
  }
  SUBCASE("rank 1") { CHECK(tensor::contiguous_strides({5}) == Strides{1}); }
  SUBCASE("a scalar has no strides") { CHECK(tensor::contiguous_strides({}).empty()); }
  SUBCASE("sizes of 1 still multiply into the outer strides") {
    CHECK(tensor::contiguous_strides({3, 1, 2}) == Strides{2, 2, 1});
  }
}

TEST_CASE("a shape prints as a bracketed, comma-separated list and a scalar as []") {
  CHECK(tensor::to_string(Shape{32, 10}) == "[32, 10]");
  CHECK(tensor::to_string(Shape{7}) == "[7]");
  CHECK(tensor::to_string(Shape{}) == "[]");
  CHECK(tensor::to_string(Shape{2, 1, 3}) == "[2, 1, 3]");
}

TEST_CASE("a number prints for a message with at most 6 significant digits and no trailing zeros") {
  // Hand-written: the %g-style form of each value.
  CHECK(tensor::to_string(0.05) == "0.05");
  CHECK(tensor::to_string(-1.0) == "-1");
  CHECK(tensor::to_string(1.5f) == "1.5");
  CHECK(tensor::to_string(0.1f) == "0.1");  // the float's 0.100000001... rounds back to 0.1
  CHECK(tensor::to_string(1.0 / 3.0) == "0.333333");
  CHECK(tensor::to_string(1e6) == "1e+06");
  CHECK(tensor::to_string(1e-5) == "1e-05");
}

TEST_CASE("broadcasting aligns shapes on their last dimension and stretches sizes of 1") {
  SUBCASE("equal shapes broadcast to themselves") {
    CHECK(tensor::broadcast_shapes({2, 3}, {2, 3}, "add") == Shape{2, 3});
  }
  SUBCASE("trailing sizes of 1 take the other operand's size") {
    CHECK(tensor::broadcast_shapes({2, 1}, {1, 3}, "add") == Shape{2, 3});
    CHECK(tensor::broadcast_shapes({4, 3}, {4, 1}, "add") == Shape{4, 3});
  }
  SUBCASE("missing leading dimensions count as 1") {
    CHECK(tensor::broadcast_shapes({2, 3}, {3}, "add") == Shape{2, 3});
    CHECK(tensor::broadcast_shapes({3}, {5, 2, 3}, "add") == Shape{5, 2, 3});
    CHECK(tensor::broadcast_shapes({5, 1, 3}, {4, 1}, "add") == Shape{5, 4, 3});
  }
  SUBCASE("a scalar broadcasts to anything") {
    CHECK(tensor::broadcast_shapes({}, {2, 3}, "add") == Shape{2, 3});
    CHECK(tensor::broadcast_shapes({}, {}, "add") == Shape{});
  }
  SUBCASE("a size of 0 against 1 gives 0") {
    CHECK(tensor::broadcast_shapes({0, 3}, {1, 3}, "add") == Shape{0, 3});
  }
}

TEST_CASE("shapes that do not broadcast throw a ShapeError naming the operation and both shapes") {
  CHECK_THROWS_WITH_AS(tensor::broadcast_shapes({32, 10}, {3}, "add"), "add: shapes [32, 10] and [3] do not broadcast",
                       tensor::ShapeError);
  CHECK_THROWS_WITH_AS(tensor::broadcast_shapes({2, 3}, {3, 3}, "mul"),
                       "mul: shapes [2, 3] and [3, 3] do not broadcast", tensor::ShapeError);
}

TEST_CASE("a negative axis counts from the end and an axis outside the rank throws an IndexError") {
  const Shape shape{2, 3, 4};
  CHECK(tensor::normalize_axis(0, shape, "sum") == 0);
  CHECK(tensor::normalize_axis(2, shape, "sum") == 2);
  CHECK(tensor::normalize_axis(-1, shape, "sum") == 2);
  CHECK(tensor::normalize_axis(-3, shape, "sum") == 0);
  CHECK_THROWS_WITH_AS(tensor::normalize_axis(3, {2, 3}, "sum"), "sum: axis 3 out of range for shape [2, 3]",
                       tensor::IndexError);
  CHECK_THROWS_WITH_AS(tensor::normalize_axis(-3, {2, 3}, "max"), "max: axis -3 out of range for shape [2, 3]",
                       tensor::IndexError);
  CHECK_THROWS_WITH_AS(tensor::normalize_axis(0, {}, "sum"), "sum: axis 0 out of range for shape []",
                       tensor::IndexError);
}

TEST_CASE("broadcasts_to accepts 1s and missing leading dimensions, and nothing else") {
  CHECK(tensor::broadcasts_to({3}, {2, 3}));
  CHECK(tensor::broadcasts_to({1, 3}, {2, 3}));
  CHECK(tensor::broadcasts_to({}, {2, 3}));
  CHECK(tensor::broadcasts_to({2, 3}, {2, 3}));
  CHECK_FALSE(tensor::broadcasts_to({2}, {2, 3}));
  CHECK_FALSE(tensor::broadcasts_to({3}, {1}));         // would grow the target
  CHECK_FALSE(tensor::broadcasts_to({1, 2, 3}, {2, 3}));  // an extra dimension
}

}  // TEST_SUITE
