// Elementwise kernels, reductions, indexing and printing (tensor/ops.h), and the
// threaded paths they take on large tensors (tensor/parallel.h).
#include "tensor/ops.h"

#include "tensor/errors.h"
#include "tensor/parallel.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <numbers>
#include <vector>

using tensor::Shape;
using tensor::Tensor;
using Values = std::vector<float>;

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// Each element equals its row-major position: 0, 1, 2, ...
Tensor counting(const Shape& shape) { return Tensor::arange(tensor::numel(shape)).reshape(shape); }

// The shape matches and every value is within a relative `eps` of the expected one
// (equal to it, rounded to float, when `eps` is 0).
void check_close(const Tensor& got, const Shape& shape, const std::vector<double>& expected, double eps = 1e-6) {
  REQUIRE(got.shape() == shape);
  const Values v = got.to_vector();
  REQUIRE(v.size() == expected.size());
  for (size_t i = 0; i < v.size(); ++i) {
    CAPTURE(i);
    if (eps == 0.0) {
      CHECK(v[i] == static_cast<float>(expected[i]));
    } else {
      CHECK(v[i] == doctest::Approx(expected[i]).epsilon(eps));
    }
  }
}

// A naive reduction of a rank-3 row-major array along `axis`, in double: the reference
// the reductions are checked against. Output elements are in row-major order of the
// remaining two dimensions (the same order with or without keepdim).
std::vector<double> naive_reduce3(const Values& x, const Shape& s, int axis,
                                  const std::function<double(double, double)>& combine) {
  std::vector<double> out;
  auto at = [&](int64_t i, int64_t j, int64_t k) { return static_cast<double>(x[(i * s[1] + j) * s[2] + k]); };
  const int64_t n = s[axis];
  for (int64_t p = 0; p < s[axis == 0 ? 1 : 0]; ++p) {
    for (int64_t q = 0; q < s[axis == 2 ? 1 : 2]; ++q) {
      auto element = [&](int64_t r) {
        if (axis == 0) return at(r, p, q);
        if (axis == 1) return at(p, r, q);
        return at(p, q, r);
      };
      double acc = element(0);
      for (int64_t r = 1; r < n; ++r) acc = combine(acc, element(r));
      out.push_back(acc);
    }
  }
  return out;
}

// A rank-3 input whose maxima fall at scattered positions: x_ijk = (7i + 5j + 3k) mod 11 - 5.25.
Tensor scattered(const Shape& s) {
  Values v;
  for (int64_t i = 0; i < s[0]; ++i) {
    for (int64_t j = 0; j < s[1]; ++j) {
      for (int64_t k = 0; k < s[2]; ++k) v.push_back(static_cast<float>((7 * i + 5 * j + 3 * k) % 11) - 5.25f);
    }
  }
  return Tensor::from_vector(s, v);
}

// The parallel path: a [1024, 1024] input, far above the threshold for splitting loops.
constexpr int64_t kRows = 1024;
constexpr int64_t kCols = 1024;
static_assert(kRows * kCols > 16 * tensor::kParallelMinElements, "large enough to split across threads");

// Small integers (-8..8), so every sum below is exact in float and the reference exact.
Tensor big_integers() {
  Values v(static_cast<size_t>(kRows * kCols));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(static_cast<int64_t>((i * 7919) % 17) - 8);
  return Tensor::from_vector({kRows, kCols}, v);
}

struct Results {
  Values add_row, add_col, exp_flat, exp_transposed, exp_strided_row, sum0, sum1, max0;
  float sum_all = 0.0f;
};

Results run_all(const Tensor& x, const Tensor& row, const Tensor& col) {
  Results r;
  r.add_row = tensor::add(x, row).to_vector();
  r.add_col = tensor::add(col, x).to_vector();
  const Tensor small = tensor::mul(x, 0.125f);
  r.exp_flat = tensor::exp(small).to_vector();
  r.exp_transposed = tensor::exp(small.t()).to_vector();
  // One row of every other element: rank 2, one row, stride 2 along it.
  r.exp_strided_row = tensor::exp(small.reshape({-1, 2}).t().narrow(0, 1, 1)).to_vector();
  r.sum0 = tensor::sum(x, 0).to_vector();
  r.sum1 = tensor::sum(x, 1).to_vector();
  r.max0 = tensor::max(tensor::add(x, row), 0).to_vector();
  r.sum_all = tensor::sum(x).item();
  return r;
}

}  // namespace

TEST_SUITE("tensor/ops") {

TEST_CASE("binary ops broadcast a row over every row of a matrix") {
  const Tensor a = Tensor::from_vector({2, 3}, {1, 2, 3, 4, 5, 6});
  // Every expected value below is the hand-computed elementwise result.
  SUBCASE("add") {
    CHECK(tensor::add(a, Tensor::from_vector({3}, {10, 20, 30})).to_vector() == Values{11, 22, 33, 14, 25, 36});
  }
  SUBCASE("sub, with the broadcast operand on the left") {
    const Tensor r = tensor::sub(Tensor::from_vector({3}, {10, 20, 30}), a);
    CHECK(r.shape() == Shape{2, 3});
    CHECK(r.to_vector() == Values{9, 18, 27, 6, 15, 24});
  }
  SUBCASE("mul") {
    CHECK(tensor::mul(a, Tensor::from_vector({3}, {10, 20, 30})).to_vector() == Values{10, 40, 90, 40, 100, 180});
  }
  SUBCASE("div, exact in binary") {
    CHECK(tensor::div(a, Tensor::from_vector({3}, {1, 2, 4})).to_vector() == Values{1, 1, 0.75f, 4, 2.5f, 1.5f});
  }
  SUBCASE("div by zero is IEEE infinity") {
    const Values r = tensor::div(Tensor::from_vector({2}, {1, -1}), Tensor::zeros({2})).to_vector();
    CHECK(r[0] == kInf);
    CHECK(r[1] == -kInf);
  }
  SUBCASE("maximum") {
    CHECK(tensor::maximum(a, Tensor::from_vector({3}, {2, 2, 7})).to_vector() == Values{2, 2, 7, 4, 5, 7});
  }
}

TEST_CASE("a column and a row broadcast to a full matrix") {
  const Tensor col = Tensor::from_vector({2, 1}, {1, 2});
  const Tensor row = Tensor::from_vector({1, 3}, {10, 20, 30});
  const Tensor r = tensor::add(col, row);
  CHECK(r.shape() == Shape{2, 3});
  CHECK(r.to_vector() == Values{11, 21, 31, 12, 22, 32});
  const Tensor s = tensor::sub(row, col);
  CHECK(s.shape() == Shape{2, 3});
  CHECK(s.to_vector() == Values{9, 19, 29, 8, 18, 28});
}

TEST_CASE("a rank-0 tensor broadcasts against any shape") {
  const Tensor a = Tensor::from_vector({2, 2}, {1, 2, 3, 4});
  const Tensor s = Tensor::scalar(10.0f);
  CHECK(tensor::mul(a, s).to_vector() == Values{10, 20, 30, 40});
  CHECK(tensor::sub(s, a).to_vector() == Values{9, 8, 7, 6});
  const Tensor both = tensor::add(s, Tensor::scalar(0.5f));
  CHECK(both.shape() == Shape{});
  CHECK(both.item() == 10.5f);
}

TEST_CASE("binary ops name themselves and both shapes when the shapes do not broadcast") {
  const Tensor a = Tensor::zeros({32, 10});
  const Tensor b = Tensor::zeros({3});
  CHECK_THROWS_WITH_AS(tensor::add(a, b), "add: shapes [32, 10] and [3] do not broadcast", tensor::ShapeError);
  CHECK_THROWS_WITH_AS(tensor::sub(a, b), "sub: shapes [32, 10] and [3] do not broadcast", tensor::ShapeError);
  CHECK_THROWS_WITH_AS(tensor::mul(b, a), "mul: shapes [3] and [32, 10] do not broadcast", tensor::ShapeError);
  CHECK_THROWS_WITH_AS(tensor::div(a, b), "div: shapes [32, 10] and [3] do not broadcast", tensor::ShapeError);
  CHECK_THROWS_WITH_AS(tensor::maximum(a, b), "maximum: shapes [32, 10] and [3] do not broadcast",
                       tensor::ShapeError);
  CHECK_THROWS_WITH_AS(tensor::eq(a, b), "eq: shapes [32, 10] and [3] do not broadcast", tensor::ShapeError);
  CHECK_THROWS_WITH_AS(tensor::gt(a, b), "gt: shapes [32, 10] and [3] do not broadcast", tensor::ShapeError);
  CHECK_THROWS_WITH_AS(tensor::lt(a, b), "lt: shapes [32, 10] and [3] do not broadcast", tensor::ShapeError);
}

TEST_CASE("binary ops read transposed and narrowed inputs through their strides") {
  const Tensor a = counting({2, 3});  // a.t() = [[0, 3], [1, 4], [2, 5]]
  SUBCASE("both operands transposed") {
    const Tensor b = tensor::mul(counting({2, 3}), 10.0f);
    const Tensor r = tensor::add(a.t(), b.t());
    CHECK(r.shape() == Shape{3, 2});
    CHECK(r.is_contiguous());
    CHECK(r.to_vector() == Values{0, 33, 11, 44, 22, 55});
  }
  SUBCASE("a transposed operand plus a broadcast row") {
    CHECK(tensor::add(a.t(), Tensor::from_vector({2}, {10, 20})).to_vector() == Values{10, 23, 11, 24, 12, 25});
  }
  SUBCASE("a transposed operand against a contiguous one") {
    CHECK(tensor::sub(Tensor::full({3, 2}, 10.0f), a.t()).to_vector() == Values{10, 7, 9, 6, 8, 5});
  }
  SUBCASE("a narrowed column block") {
    const Tensor c = counting({3, 4}).narrow(1, 1, 2);  // [[1, 2], [5, 6], [9, 10]]
    CHECK(tensor::mul(c, c).to_vector() == Values{1, 4, 25, 36, 81, 100});
  }
  SUBCASE("the inputs are left untouched") {
    const Tensor x = counting({2, 3});
    (void)tensor::add(x, x);
    CHECK(x.to_vector() == Values{0, 1, 2, 3, 4, 5});
  }
}

TEST_CASE("scalar forms apply the scalar to every element") {
  const Tensor x = Tensor::from_vector({2, 2}, {1, 2, 3, 4}).t();  // [[1, 3], [2, 4]]
  CHECK(tensor::add(x, 0.5f).to_vector() == Values{1.5f, 3.5f, 2.5f, 4.5f});
  CHECK(tensor::sub(x, 1.0f).to_vector() == Values{0, 2, 1, 3});
  CHECK(tensor::mul(x, -2.0f).to_vector() == Values{-2, -6, -4, -8});
  CHECK(tensor::div(x, 4.0f).to_vector() == Values{0.25f, 0.75f, 0.5f, 1});
  CHECK(tensor::maximum(x, 2.5f).to_vector() == Values{2.5f, 3, 2.5f, 4});
}

TEST_CASE("comparison masks hold 1 where the relation is true and 0 elsewhere") {
  const Tensor a = Tensor::from_vector({2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor row = Tensor::from_vector({3}, {1, 5, 4});
  CHECK(tensor::eq(a, row).to_vector() == Values{1, 0, 0, 0, 1, 0});
  CHECK(tensor::gt(a, row).to_vector() == Values{0, 0, 0, 1, 0, 1});
  CHECK(tensor::lt(a, row).to_vector() == Values{0, 1, 1, 0, 0, 0});
  CHECK(tensor::eq(a, 3.0f).to_vector() == Values{0, 0, 1, 0, 0, 0});
  CHECK(tensor::gt(a, 3.0f).to_vector() == Values{0, 0, 0, 1, 1, 1});
  CHECK(tensor::lt(a, 3.0f).to_vector() == Values{1, 1, 0, 0, 0, 0});
  SUBCASE("NaN compares false to everything, itself included") {
    const Tensor n = Tensor::from_vector({1}, {kNaN});
    CHECK(tensor::eq(n, n).item() == 0.0f);
    CHECK(tensor::gt(n, 0.0f).item() == 0.0f);
    CHECK(tensor::lt(n, 0.0f).item() == 0.0f);
  }
}

TEST_CASE("unary ops compute the textbook values") {
  SUBCASE("neg") { CHECK(tensor::neg(Tensor::from_vector({3}, {1, -2, 0})).to_vector() == Values{-1, 2, 0}); }
  SUBCASE("exp") {
    // e^0 = 1, e^1 = e, e^-1 = 1/e, e^-inf = 0.
    check_close(tensor::exp(Tensor::from_vector({3}, {0, 1, -1})), {3}, {1.0, std::numbers::e, 1.0 / std::numbers::e});
    CHECK(tensor::exp(Tensor::from_vector({1}, {-kInf})).item() == 0.0f);
  }
  SUBCASE("log") {
    // ln 1 = 0, ln e = 1, ln 0.5 = -ln 2.
    check_close(tensor::log(Tensor::from_vector({3}, {1, std::numbers::e_v<float>, 0.5f})), {3},
                {0.0, 1.0, -std::numbers::ln2});
    const Values edge = tensor::log(Tensor::from_vector({2}, {0, -1})).to_vector();
    CHECK(edge[0] == -kInf);
    CHECK(std::isnan(edge[1]));
  }
  SUBCASE("sqrt") {
    check_close(tensor::sqrt(Tensor::from_vector({3}, {4, 2, 0})), {3}, {2.0, std::numbers::sqrt2, 0.0});
    CHECK(std::isnan(tensor::sqrt(Tensor::from_vector({1}, {-1})).item()));
  }
  SUBCASE("relu") {
    CHECK(tensor::relu(Tensor::from_vector({4}, {-3, 0, 0.5f, 2})).to_vector() == Values{0, 0, 0.5f, 2});
  }
  SUBCASE("on a transposed view") {
    const Tensor x = Tensor::from_vector({2, 2}, {-1, -2, 3, 4}).t();  // [[-1, 3], [-2, 4]]
    CHECK(tensor::relu(x).to_vector() == Values{0, 3, 0, 4});
    CHECK(tensor::neg(x).to_vector() == Values{1, -3, 2, -4});
  }
}

TEST_CASE("add_ accumulates in place, broadcasting the source") {
  SUBCASE("same shape") {
    Tensor y = Tensor::from_vector({2}, {1, 2});
    Tensor& r = tensor::add_(y, Tensor::from_vector({2}, {10, 20}));
    CHECK(&r == &y);
    CHECK(y.to_vector() == Values{11, 22});
  }
  SUBCASE("a broadcast row") {
    Tensor y = counting({2, 3});
    tensor::add_(y, Tensor::from_vector({3}, {10, 20, 30}));
    CHECK(y.to_vector() == Values{10, 21, 32, 13, 24, 35});
  }
  SUBCASE("a scalar") {
    Tensor y = counting({2, 2});
    tensor::add_(y, Tensor::scalar(1.0f));
    CHECK(y.to_vector() == Values{1, 2, 3, 4});
  }
  SUBCASE("into a transposed view of the storage") {
    Tensor y = Tensor::zeros({2, 3});
    Tensor view = y.t();
    tensor::add_(view, Tensor::from_vector({2}, {1, 2}));  // adds 1 to row 0 of y and 2 to row 1
    CHECK(y.to_vector() == Values{1, 1, 1, 2, 2, 2});
  }
  SUBCASE("into a narrowed block, from a transposed source") {
    Tensor y = Tensor::zeros({3, 3});
    Tensor block = y.narrow(0, 1, 2).narrow(1, 1, 2);
    tensor::add_(block, counting({2, 2}).t());  // [[0, 2], [1, 3]]
    CHECK(y.to_vector() == Values{0, 0, 0, 0, 0, 2, 0, 1, 3});
  }
}

TEST_CASE("add_ refuses a source that does not broadcast to the target") {
  Tensor y = Tensor::zeros({2, 2});
  CHECK_THROWS_WITH_AS(tensor::add_(y, Tensor::zeros({3})), "add_: cannot broadcast [3] to [2, 2]",
                       tensor::ShapeError);
  Tensor small = Tensor::zeros({3});
  CHECK_THROWS_WITH_AS(tensor::add_(small, Tensor::zeros({2, 3})), "add_: cannot broadcast [2, 3] to [3]",
                       tensor::ShapeError);
}

TEST_CASE("sum, mean and max over all elements give rank-0 tensors") {
  const Tensor a = counting({2, 3});  // 0..5
  // 0 + 1 + ... + 5 = 15, mean 15 / 6 = 2.5, max 5.
  CHECK(tensor::sum(a).shape() == Shape{});
  CHECK(tensor::sum(a).item() == 15.0f);
  CHECK(tensor::mean(a).item() == 2.5f);
  CHECK(tensor::max(a).item() == 5.0f);
  SUBCASE("on a transposed view") {
    CHECK(tensor::sum(a.t()).item() == 15.0f);
    CHECK(tensor::max(a.t()).item() == 5.0f);
  }
  SUBCASE("on a narrowed view") {
    const Tensor c = a.narrow(1, 0, 2);  // [[0, 1], [3, 4]]
    CHECK(tensor::sum(c).item() == 8.0f);
    CHECK(tensor::mean(c).item() == 2.0f);
    CHECK(tensor::max(c).item() == 4.0f);
  }
  SUBCASE("negative values") { CHECK(tensor::max(Tensor::from_vector({3}, {-3, -1, -2})).item() == -1.0f); }
  SUBCASE("a scalar") { CHECK(tensor::max(Tensor::scalar(-7.0f)).item() == -7.0f); }
  SUBCASE("empty: the sum is 0, the mean NaN, and the max an error") {
    const Tensor e = Tensor::zeros({0});
    CHECK(tensor::sum(e).item() == 0.0f);
    CHECK(std::isnan(tensor::mean(e).item()));
    CHECK_THROWS_WITH_AS(tensor::max(e), "max: empty tensor of shape [0]", tensor::ShapeError);
  }
}

TEST_CASE("reductions along each axis of a rank-3 tensor match a naive double loop") {
  const Shape s{3, 4, 5};
  const Tensor x = scattered(s);
  const Values xv = x.to_vector();
  const auto plus = [](double a, double b) { return a + b; };
  const auto bigger = [](double a, double b) { return std::max(a, b); };
  const Shape dropped[3] = {{4, 5}, {3, 5}, {3, 4}};
  const Shape kept[3] = {{1, 4, 5}, {3, 1, 5}, {3, 4, 1}};
  for (int axis = 0; axis < 3; ++axis) {
    CAPTURE(axis);
    const std::vector<double> sums = naive_reduce3(xv, s, axis, plus);
    std::vector<double> means = sums;
    for (double& m : means) m /= static_cast<double>(s[static_cast<size_t>(axis)]);
    const std::vector<double> maxes = naive_reduce3(xv, s, axis, bigger);

    check_close(tensor::sum(x, axis), dropped[axis], sums, 1e-5);
    check_close(tensor::sum(x, axis, true), kept[axis], sums, 1e-5);
    check_close(tensor::mean(x, axis), dropped[axis], means, 1e-5);
    check_close(tensor::mean(x, axis, true), kept[axis], means, 1e-5);
    check_close(tensor::max(x, axis), dropped[axis], maxes, 0.0);
    check_close(tensor::max(x, axis, true), kept[axis], maxes, 0.0);

    // The same along the axis counted from the end.
    check_close(tensor::sum(x, axis - 3), dropped[axis], sums, 1e-5);
    check_close(tensor::max(x, axis - 3, true), kept[axis], maxes, 0.0);
  }
}

TEST_CASE("sum along an axis agrees with hand-computed sums") {
  // x_ijk = 12 i + 4 j + k for shape [2, 3, 4]; summing over k gives 4 (12 i + 4 j) + 6.
  const Tensor x = counting({2, 3, 4});
  CHECK(tensor::sum(x, 2).to_vector() == Values{6, 22, 38, 54, 70, 86});
  // Over i: 12 + 2 (4 j + k).
  CHECK(tensor::sum(x, 0).to_vector() == Values{12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34});
  // Means over j: 12 i + 4 + k.
  check_close(tensor::mean(x, 1), {2, 4}, {4, 5, 6, 7, 16, 17, 18, 19});
}

TEST_CASE("reductions read transposed inputs through their strides") {
  const Tensor a = counting({2, 3});  // a.t() = [[0, 3], [1, 4], [2, 5]]
  CHECK(tensor::sum(a.t(), 0).to_vector() == Values{3, 12});
  CHECK(tensor::sum(a.t(), 1).to_vector() == Values{3, 5, 7});
  CHECK(tensor::max(a.t(), 1).to_vector() == Values{3, 4, 5});
  CHECK(tensor::argmax(a.t(), 0).to_vector() == Values{2, 2});
}

TEST_CASE("an empty axis sums to 0 and averages to NaN") {
  const Tensor e = Tensor::zeros({2, 0});
  CHECK(tensor::sum(e, 1).to_vector() == Values{0, 0});
  const Values m = tensor::mean(e, 1).to_vector();
  REQUIRE(m.size() == 2);
  CHECK(std::isnan(m[0]));
  CHECK(std::isnan(m[1]));
}

TEST_CASE("reductions reject an axis out of range and max-like ones an empty axis") {
  const Tensor x = Tensor::zeros({2, 3, 4});
  CHECK_THROWS_WITH_AS(tensor::sum(x, 3), "sum: axis 3 out of range for shape [2, 3, 4]", tensor::IndexError);
  CHECK_THROWS_WITH_AS(tensor::mean(x, -4), "mean: axis -4 out of range for shape [2, 3, 4]", tensor::IndexError);
  CHECK_THROWS_WITH_AS(tensor::max(x, 5, true), "max: axis 5 out of range for shape [2, 3, 4]", tensor::IndexError);
  CHECK_THROWS_WITH_AS(tensor::argmax(x, -5), "argmax: axis -5 out of range for shape [2, 3, 4]",
                       tensor::IndexError);
  CHECK_THROWS_WITH_AS(tensor::logsumexp(x, 3), "logsumexp: axis 3 out of range for shape [2, 3, 4]",
                       tensor::IndexError);

  const Tensor e = Tensor::zeros({2, 0});
  CHECK_THROWS_WITH_AS(tensor::max(e, 1), "max: axis 1 of shape [2, 0] is empty", tensor::ShapeError);
  CHECK_THROWS_WITH_AS(tensor::argmax(e, 1), "argmax: axis 1 of shape [2, 0] is empty", tensor::ShapeError);
  CHECK_THROWS_WITH_AS(tensor::logsumexp(e, -1), "logsumexp: axis -1 of shape [2, 0] is empty", tensor::ShapeError);
}

TEST_CASE("argmax gives the index of the largest element, the first one on ties") {
  const Tensor x = Tensor::from_vector({2, 3}, {1, 3, 3, 5, 2, 5});
  SUBCASE("along rows: ties at columns 1,2 and 0,2 pick the first") {
    const Tensor r = tensor::argmax(x, 1);
    CHECK(r.shape() == Shape{2});
    CHECK(r.to_vector() == Values{1, 0});
  }
  SUBCASE("along columns, keeping the dimension") {
    const Tensor r = tensor::argmax(x, 0, true);
    CHECK(r.shape() == Shape{1, 3});
    CHECK(r.to_vector() == Values{1, 0, 1});
  }
  SUBCASE("all equal gives 0") { CHECK(tensor::argmax(Tensor::full({4}, 2.0f), 0).item() == 0.0f); }
  SUBCASE("negative axis on a rank-3 tensor matches a naive scan") {
    const Shape s{3, 4, 5};
    const Tensor t = scattered(s);
    const Values v = t.to_vector();
    const Values got = tensor::argmax(t, -2).to_vector();  // [3, 5]
    for (int64_t i = 0; i < 3; ++i) {
      for (int64_t k = 0; k < 5; ++k) {
        int64_t best = 0;
        for (int64_t j = 1; j < 4; ++j) {
          if (v[static_cast<size_t>((i * 4 + j) * 5 + k)] > v[static_cast<size_t>((i * 4 + best) * 5 + k)]) best = j;
        }
        CHECK(got[static_cast<size_t>(i * 5 + k)] == static_cast<float>(best));
      }
    }
  }
}

TEST_CASE("a NaN anywhere makes max NaN") {
  SUBCASE("over all elements, wherever the NaN is") {
    CHECK(std::isnan(tensor::max(Tensor::from_vector({3}, {1, kNaN, 3})).item()));
    CHECK(std::isnan(tensor::max(Tensor::from_vector({3}, {kNaN, 1, 3})).item()));
    CHECK(std::isnan(tensor::max(Tensor::from_vector({3}, {1, 3, kNaN})).item()));
  }
  SUBCASE("along an axis, only in the affected row") {
    const Values r = tensor::max(Tensor::from_vector({2, 3}, {1, kNaN, 0, 4, 5, 6}), 1).to_vector();
    CHECK(std::isnan(r[0]));
    CHECK(r[1] == 6.0f);
  }
  SUBCASE("maximum, on either side") {
    CHECK(std::isnan(tensor::maximum(Tensor::scalar(kNaN), Tensor::scalar(1.0f)).item()));
    CHECK(std::isnan(tensor::maximum(Tensor::scalar(1.0f), Tensor::scalar(kNaN)).item()));
    CHECK(std::isnan(tensor::maximum(Tensor::scalar(kNaN), 1.0f).item()));
  }
}

TEST_CASE("logsumexp equals log(sum(exp(x))) on small inputs") {
  const Values v{0.5f, -1.0f, 2.0f, 0.0f, 0.25f, -0.75f};
  const Tensor x = Tensor::from_vector({2, 3}, v);
  auto naive = [](std::initializer_list<float> xs) {
    double s = 0.0;
    for (float e : xs) s += std::exp(static_cast<double>(e));
    return std::log(s);
  };
  check_close(tensor::logsumexp(x, 1), {2}, {naive({0.5f, -1.0f, 2.0f}), naive({0.0f, 0.25f, -0.75f})});
  check_close(tensor::logsumexp(x, 0, true), {1, 3},
              {naive({0.5f, 0.0f}), naive({-1.0f, 0.25f}), naive({2.0f, -0.75f})});
  check_close(tensor::logsumexp(x.t(), -1), {3}, {naive({0.5f, 0.0f}), naive({-1.0f, 0.25f}), naive({2.0f, -0.75f})});
  // One element: logsumexp is the element itself.
  CHECK(tensor::logsumexp(Tensor::from_vector({1}, {-3.0f}), 0).item() == -3.0f);
}

TEST_CASE("logsumexp stays finite and correct for logits of magnitude 1e4") {
  // exp(1e4) overflows float, so only the max-shifted form can get these right.
  // log(e^m + e^m) = m + ln 2.
  CHECK(tensor::logsumexp(Tensor::from_vector({2}, {1e4f, 1e4f}), 0).item() ==
        doctest::Approx(1e4 + std::numbers::ln2).epsilon(1e-7));
  CHECK(tensor::logsumexp(Tensor::from_vector({2}, {-1e4f, -1e4f}), 0).item() ==
        doctest::Approx(-1e4 + std::numbers::ln2).epsilon(1e-7));
  // e^(-2e4) is far below float's smallest value, so the small term vanishes.
  CHECK(tensor::logsumexp(Tensor::from_vector({2}, {1e4f, -1e4f}), 0).item() == 1e4f);
  // log(e^m (1 + e^-1)) = m + log(1 + 1/e).
  CHECK(tensor::logsumexp(Tensor::from_vector({2}, {1e4f, 1e4f - 1.0f}), 0).item() ==
        doctest::Approx(1e4 + std::log1p(1.0 / std::numbers::e)).epsilon(1e-7));
}

TEST_CASE("logsumexp of infinities is the infinity itself, never NaN") {
  CHECK(tensor::logsumexp(Tensor::from_vector({3}, {-kInf, -kInf, -kInf}), 0).item() == -kInf);
  CHECK(tensor::logsumexp(Tensor::from_vector({2}, {-kInf, 0.0f}), 0).item() == 0.0f);  // log(0 + 1)
  CHECK(tensor::logsumexp(Tensor::from_vector({2}, {1.0f, kInf}), 0).item() == kInf);
}

TEST_CASE("log_softmax equals x - log(sum(exp(x))) along the axis") {
  const Values v{0.5f, -1.0f, 2.0f, 0.0f, 0.25f, -0.75f};
  const Tensor x = Tensor::from_vector({2, 3}, v);
  // Reference in double: log p_ij = x_ij - log sum_k exp(x_ik), along rows or columns.
  auto naive = [&](int axis) {
    std::vector<double> out(6);
    for (int i = 0; i < 2; ++i) {
      for (int j = 0; j < 3; ++j) {
        double s = 0.0;
        if (axis == 1) {
          for (int k = 0; k < 3; ++k) s += std::exp(static_cast<double>(v[static_cast<size_t>(i * 3 + k)]));
        } else {
          for (int k = 0; k < 2; ++k) s += std::exp(static_cast<double>(v[static_cast<size_t>(k * 3 + j)]));
        }
        out[static_cast<size_t>(i * 3 + j)] = v[static_cast<size_t>(i * 3 + j)] - std::log(s);
      }
    }
    return out;
  };
  check_close(tensor::log_softmax(x, 1), {2, 3}, naive(1), 1e-6);
  check_close(tensor::log_softmax(x, -1), {2, 3}, naive(1), 1e-6);
  check_close(tensor::log_softmax(x, 0), {2, 3}, naive(0), 1e-6);
  SUBCASE("on a transposed view, along what were columns") {
    const std::vector<double> by_column = naive(0);
    // log_softmax(x.t(), 1)[j][i] = log_softmax(x, 0)[i][j].
    std::vector<double> transposed(6);
    for (size_t i = 0; i < 2; ++i) {
      for (size_t j = 0; j < 3; ++j) transposed[j * 2 + i] = by_column[i * 3 + j];
    }
    check_close(tensor::log_softmax(x.t(), 1), {3, 2}, transposed, 1e-6);
  }
  SUBCASE("the probabilities of a rank-3 tensor sum to 1 along the middle axis") {
    const Tensor p = tensor::exp(tensor::log_softmax(scattered({3, 4, 5}), 1));
    check_close(tensor::sum(p, 1), {3, 5}, std::vector<double>(15, 1.0), 1e-6);
  }
}

TEST_CASE("log_softmax stays accurate for logits of magnitude 1e4") {
  // Two equal logits: each has probability 1/2, log p = -ln 2. Forming x - logsumexp(x)
  // in float would lose about 2e-4 here (the spacing of floats near 1e4 is 2^-10).
  check_close(tensor::log_softmax(Tensor::from_vector({2}, {1e4f, 1e4f}), 0), {2},
              {-std::numbers::ln2, -std::numbers::ln2}, 1e-6);
  // Logits m and m - 1: log p = -log(1 + 1/e) and -1 - log(1 + 1/e).
  const double l = std::log1p(1.0 / std::numbers::e);
  check_close(tensor::log_softmax(Tensor::from_vector({1, 2}, {-1e4f, -1e4f - 1.0f}), 1), {1, 2}, {-l, -1.0 - l}, 1e-6);
}

TEST_CASE("log_softmax rejects a bad axis and an empty one") {
  CHECK_THROWS_WITH_AS(tensor::log_softmax(Tensor::zeros({2, 3}), 2),
                       "log_softmax: axis 2 out of range for shape [2, 3]", tensor::IndexError);
  CHECK_THROWS_WITH_AS(tensor::log_softmax(Tensor::zeros({2, 0}), 1), "log_softmax: axis 1 of shape [2, 0] is empty",
                       tensor::ShapeError);
}

TEST_CASE("sum_to undoes a broadcast by summing leading and size-1 dimensions") {
  const Tensor x = counting({2, 3});  // [[0, 1, 2], [3, 4, 5]]
  SUBCASE("a missing leading dimension") {
    const Tensor r = tensor::sum_to(x, {3});
    CHECK(r.shape() == Shape{3});
    CHECK(r.to_vector() == Values{3, 5, 7});
  }
  SUBCASE("a size-1 dimension") {
    const Tensor r = tensor::sum_to(x, {2, 1});
    CHECK(r.shape() == Shape{2, 1});
    CHECK(r.to_vector() == Values{3, 12});
  }
  SUBCASE("size 1 in front") {
    const Tensor r = tensor::sum_to(x, {1, 3});
    CHECK(r.shape() == Shape{1, 3});
    CHECK(r.to_vector() == Values{3, 5, 7});
  }
  SUBCASE("everything, to a scalar or to [1, 1]") {
    CHECK(tensor::sum_to(x, {}).shape() == Shape{});
    CHECK(tensor::sum_to(x, {}).item() == 15.0f);
    CHECK(tensor::sum_to(x, {1, 1}).to_vector() == Values{15});
  }
  SUBCASE("both at once on a rank-3 tensor") {
    // counting [2, 3, 4] down to [3, 1], by hand:
    // sum over i in 0..1 and k in 0..3 of (12 i + 4 j + k) = 4 * 12 + 2 * 4 * 4 j + 2 * 6 = 60 + 32 j.
    const Tensor r = tensor::sum_to(counting({2, 3, 4}), {3, 1});
    CHECK(r.shape() == Shape{3, 1});
    CHECK(r.to_vector() == Values{60, 92, 124});
  }
  SUBCASE("the same shape keeps the values") { CHECK(tensor::sum_to(x, {2, 3}).to_vector() == x.to_vector()); }
  SUBCASE("the result is the broadcast's gradient: sum_to(broadcast) = n * the original") {
    const Tensor row = Tensor::from_vector({3}, {1, 2, 3});
    const Tensor wide = tensor::add(Tensor::zeros({4, 3}), row);
    CHECK(tensor::sum_to(wide, {3}).to_vector() == Values{4, 8, 12});
  }
}

TEST_CASE("sum_to refuses a shape that does not broadcast to the input's") {
  const Tensor x = Tensor::zeros({2, 3});
  CHECK_THROWS_WITH_AS(tensor::sum_to(x, {4}), "sum_to: cannot sum [2, 3] down to [4]", tensor::ShapeError);
  CHECK_THROWS_WITH_AS(tensor::sum_to(x, {2, 3, 1}), "sum_to: cannot sum [2, 3] down to [2, 3, 1]",
                       tensor::ShapeError);
  CHECK_THROWS_WITH_AS(tensor::sum_to(Tensor::zeros({3}), {2, 3}), "sum_to: cannot sum [3] down to [2, 3]",
                       tensor::ShapeError);
}

TEST_CASE("index_select picks entries along an axis, repeats allowed") {
  const Tensor x = counting({3, 4});  // [[0..3], [4..7], [8..11]]
  SUBCASE("rows") {
    const Tensor r = tensor::index_select(x, 0, {2, 0, 2});
    CHECK(r.shape() == Shape{3, 4});
    CHECK(r.to_vector() == Values{8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11});
  }
  SUBCASE("columns, by a negative axis") {
    const Tensor r = tensor::index_select(x, -1, {3, 1});
    CHECK(r.shape() == Shape{3, 2});
    CHECK(r.to_vector() == Values{3, 1, 7, 5, 11, 9});
  }
  SUBCASE("the middle axis of a rank-3 tensor") {
    const Tensor r = tensor::index_select(counting({2, 3, 2}), 1, {1});
    CHECK(r.shape() == Shape{2, 1, 2});
    CHECK(r.to_vector() == Values{2, 3, 8, 9});
  }
  SUBCASE("from a transposed view") {
    const Tensor r = tensor::index_select(x.t(), 0, {1});  // column 1 of x
    CHECK(r.to_vector() == Values{1, 5, 9});
  }
  SUBCASE("no indices give an empty axis") {
    CHECK(tensor::index_select(x, 1, {}).shape() == Shape{3, 0});
  }
}

TEST_CASE("index_select rejects indices and axes outside the tensor") {
  const Tensor x = Tensor::zeros({3, 4});
  CHECK_THROWS_WITH_AS(tensor::index_select(x, 0, {0, 3}),
                       "index_select: index 3 out of range for axis 0 of shape [3, 4]", tensor::IndexError);
  CHECK_THROWS_WITH_AS(tensor::index_select(x, -1, {-1}),
                       "index_select: index -1 out of range for axis -1 of shape [3, 4]", tensor::IndexError);
  CHECK_THROWS_WITH_AS(tensor::index_select(x, 2, {0}), "index_select: axis 2 out of range for shape [3, 4]",
                       tensor::IndexError);
}

TEST_CASE("index_add_ adds rows of the source at the indices, repeated indices accumulating") {
  SUBCASE("along axis 0, index 1 twice") {
    Tensor y = Tensor::ones({4, 3});
    const Tensor src = Tensor::from_vector({3, 3}, {1, 2, 3, 10, 20, 30, 100, 200, 300});
    Tensor& r = tensor::index_add_(y, 0, {1, 3, 1}, src);
    CHECK(&r == &y);
    // Row 1 gets 1 + [1, 2, 3] + [100, 200, 300], row 3 gets 1 + [10, 20, 30].
    CHECK(y.to_vector() == Values{1, 1, 1, 102, 203, 304, 1, 1, 1, 11, 21, 31});
  }
  SUBCASE("along the middle axis of a rank-3 tensor, from a transposed source") {
    Tensor y = Tensor::zeros({2, 3, 2});
    // src [2, 2, 2] = counting({2, 2, 2}).transpose(1, 2): src[o][r][i] = 4 o + 2 i + r.
    const Tensor src = counting({2, 2, 2}).transpose(1, 2);
    tensor::index_add_(y, -2, {2, 2}, src);
    // y[o][2][i] = src[o][0][i] + src[o][1][i] = 2 (4 o + 2 i) + 1; other rows stay 0.
    CHECK(y.to_vector() == Values{0, 0, 0, 0, 1, 5, 0, 0, 0, 0, 9, 13});
  }
  SUBCASE("it undoes index_select: summing the selected gradient back") {
    Tensor grad = Tensor::zeros({3});
    tensor::index_add_(grad, 0, {0, 2, 0, 0}, Tensor::ones({4}));
    CHECK(grad.to_vector() == Values{3, 0, 1});
  }
}

TEST_CASE("index_add_ rejects a strided target, a mismatching source, bad indices and bad axes") {
  Tensor y = Tensor::zeros({4, 3});
  Tensor transposed = Tensor::zeros({2, 3}).t();
  CHECK_THROWS_WITH_AS(tensor::index_add_(transposed, 0, {0}, Tensor::zeros({1, 2})),
                       "index_add_: target of shape [3, 2] is not contiguous", tensor::ShapeError);
  CHECK_THROWS_WITH_AS(tensor::index_add_(y, 0, {0, 1}, Tensor::zeros({2, 2})),
                       "index_add_: source [2, 2] does not match [2, 3] (target [4, 3] with 2 indices)",
                       tensor::ShapeError);
  CHECK_THROWS_WITH_AS(tensor::index_add_(y, 0, {4}, Tensor::zeros({1, 3})),
                       "index_add_: index 4 out of range for axis 0 of shape [4, 3]", tensor::IndexError);
  CHECK_THROWS_WITH_AS(tensor::index_add_(y, 1, {-1}, Tensor::zeros({4, 1})),
                       "index_add_: index -1 out of range for axis 1 of shape [4, 3]", tensor::IndexError);
  CHECK_THROWS_WITH_AS(tensor::index_add_(y, 2, {0}, Tensor::zeros({4, 3})),
                       "index_add_: axis 2 out of range for shape [4, 3]", tensor::IndexError);
  CHECK(y.to_vector() == Values(12, 0.0f));  // nothing was written by the failed calls
}

TEST_CASE("allclose compares shapes and values within atol + rtol * |b|") {
  const Tensor a = Tensor::from_vector({2}, {1.0f, 100.0f});
  CHECK(tensor::allclose(a, a));
  CHECK(tensor::allclose(a, a.clone()));
  // 1e-6 off at 1 and 1e-4 off at 100: both within 1e-6 + 1e-5 |b|.
  CHECK(tensor::allclose(a, Tensor::from_vector({2}, {1.000001f, 100.0001f})));
  CHECK_FALSE(tensor::allclose(a, Tensor::from_vector({2}, {1.001f, 100.0f})));
  CHECK(tensor::allclose(a, Tensor::from_vector({2}, {1.001f, 100.0f}), 0.0f, 0.01f));
  CHECK_FALSE(tensor::allclose(a, Tensor::from_vector({1, 2}, {1.0f, 100.0f})));
  CHECK_FALSE(tensor::allclose(Tensor::scalar(kNaN), Tensor::scalar(kNaN)));
  CHECK(tensor::allclose(counting({2, 3}).t(), counting({2, 3}).t().contiguous()));
}

TEST_CASE("a tensor prints as nested brackets") {
  CHECK(tensor::to_string(Tensor::from_vector({2, 2}, {1, 2, 3, 4})) == "[[1, 2],\n [3, 4]]");
  CHECK(tensor::to_string(Tensor::from_vector({2, 2}, {1, 2, 3, 4}).t()) == "[[1, 3],\n [2, 4]]");
  CHECK(tensor::to_string(Tensor::from_vector({3}, {1, 2.5f, -3})) == "[1, 2.5, -3]");
  CHECK(tensor::to_string(Tensor::from_vector({2, 1, 2}, {0, 1, 2, 3})) == "[[[0, 1]],\n [[2, 3]]]");
  CHECK(tensor::to_string(Tensor::scalar(3.5f)) == "3.5");
  CHECK(tensor::to_string(Tensor::zeros({0})) == "[]");
  CHECK(tensor::to_string(Tensor()) == "(undefined)");
  SUBCASE("with a chosen number of significant digits") {
    CHECK(tensor::to_string(Tensor::scalar(3.14159f)) == "3.142");  // 4 digits by default
    CHECK(tensor::to_string(Tensor::scalar(3.14159f), 2) == "3.1");
  }
}

}  // TEST_SUITE

TEST_SUITE("tensor/parallel") {

TEST_CASE("large tensors give the same results on one thread and on two") {
  const Tensor x = big_integers();
  const Values xv = x.to_vector();
  Values row_values(static_cast<size_t>(kCols));
  for (size_t j = 0; j < row_values.size(); ++j) row_values[j] = static_cast<float>(j % 5);
  Values col_values(static_cast<size_t>(kRows));
  for (size_t i = 0; i < col_values.size(); ++i) col_values[i] = static_cast<float>(i % 3) * 100.0f;
  const Tensor row = Tensor::from_vector({kCols}, row_values);
  const Tensor col = Tensor::from_vector({kRows, 1}, col_values);

  tensor::set_num_threads(1);
  CHECK(tensor::num_threads() == 1);
  const Results one = run_all(x, row, col);
  tensor::set_num_threads(2);
  CHECK(tensor::num_threads() == 2);
  const Results two = run_all(x, row, col);

  // Elementwise results and per-axis sums accumulate in the same order whatever the
  // thread count, so they agree bit for bit; the total of small integers is exact.
  CHECK(one.add_row == two.add_row);
  CHECK(one.add_col == two.add_col);
  CHECK(one.exp_flat == two.exp_flat);
  CHECK(one.exp_transposed == two.exp_transposed);
  CHECK(one.exp_strided_row == two.exp_strided_row);
  CHECK(one.sum0 == two.sum0);
  CHECK(one.sum1 == two.sum1);
  CHECK(one.max0 == two.max0);
  CHECK(one.sum_all == two.sum_all);

  // And both agree with naive loops, so no element was skipped or visited twice.
  const auto at = [&](int64_t i, int64_t j) { return xv[static_cast<size_t>(i * kCols + j)]; };
  double total = 0.0;
  std::vector<double> sum0(static_cast<size_t>(kCols), 0.0);
  std::vector<double> sum1(static_cast<size_t>(kRows), 0.0);
  std::vector<double> max0(static_cast<size_t>(kCols), -1e30);
  int add_errors = 0;
  int exp_errors = 0;
  for (int64_t i = 0; i < kRows; ++i) {
    for (int64_t j = 0; j < kCols; ++j) {
      const float v = at(i, j);
      total += v;
      sum0[static_cast<size_t>(j)] += v;
      sum1[static_cast<size_t>(i)] += v;
      const float shifted = v + row_values[static_cast<size_t>(j)];
      max0[static_cast<size_t>(j)] = std::max(max0[static_cast<size_t>(j)], static_cast<double>(shifted));
      const size_t flat = static_cast<size_t>(i * kCols + j);
      if (two.add_row[flat] != shifted) ++add_errors;
      if (two.add_col[flat] != v + col_values[static_cast<size_t>(i)]) ++add_errors;
      if (two.exp_flat[flat] != std::exp(v * 0.125f)) ++exp_errors;
      // exp(small.t())[j][i] = exp(small[i][j]).
      if (two.exp_transposed[static_cast<size_t>(j * kRows + i)] != std::exp(v * 0.125f)) ++exp_errors;
      // Every other element starting at 1: flat positions 1, 3, 5, ...
      if (flat % 2 == 1 && two.exp_strided_row[flat / 2] != std::exp(v * 0.125f)) ++exp_errors;
    }
  }
  CHECK(add_errors == 0);
  CHECK(exp_errors == 0);
  CHECK(two.exp_strided_row.size() == static_cast<size_t>(kRows * kCols / 2));
  CHECK(two.sum_all == static_cast<float>(total));
  int reduce_errors = 0;
  for (size_t j = 0; j < sum0.size(); ++j) {
    if (two.sum0[j] != static_cast<float>(sum0[j])) ++reduce_errors;
    if (two.max0[j] != static_cast<float>(max0[j])) ++reduce_errors;
  }
  for (size_t i = 0; i < sum1.size(); ++i) {
    if (two.sum1[i] != static_cast<float>(sum1[i])) ++reduce_errors;
  }
  CHECK(reduce_errors == 0);
}

TEST_CASE("large reductions and selections of fractional values agree with a double reference") {
  Values v(static_cast<size_t>(kRows * kCols));
  // 0.5 + sin(i): fractional values with a total far from 0, so a relative tolerance bites.
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(0.5 + std::sin(static_cast<double>(i)));
  const Tensor x = Tensor::from_vector({kRows, kCols}, v);
  double total = 0.0;
  for (float e : v) total += e;
  // The float result of a double accumulation: within one float rounding of the total.
  CHECK(tensor::sum(x).item() == doctest::Approx(total).epsilon(1e-6));
  CHECK(tensor::mean(x).item() == doctest::Approx(total / static_cast<double>(v.size())).epsilon(1e-6));

  // index_select of every row in reverse is a large parallel copy.
  std::vector<int64_t> reverse(static_cast<size_t>(kRows));
  for (size_t i = 0; i < reverse.size(); ++i) reverse[i] = kRows - 1 - static_cast<int64_t>(i);
  const Values picked = tensor::index_select(x, 0, reverse).to_vector();
  int errors = 0;
  for (int64_t i = 0; i < kRows; ++i) {
    for (int64_t j = 0; j < kCols; ++j) {
      if (picked[static_cast<size_t>(i * kCols + j)] != v[static_cast<size_t>((kRows - 1 - i) * kCols + j)]) ++errors;
    }
  }
  CHECK(errors == 0);
}

TEST_CASE("set_num_threads refuses fewer than one thread") {
  CHECK_THROWS_WITH_AS(tensor::set_num_threads(0), "set_num_threads: need at least 1 thread, got 0",
                       tensor::ValueError);
  CHECK_THROWS_WITH_AS(tensor::set_num_threads(-3), "set_num_threads: need at least 1 thread, got -3",
                       tensor::ValueError);
  CHECK(tensor::num_threads() >= 1);
}

TEST_CASE("run_side_by_side runs every task once, each on single-threaded kernels, and gives the caller its threads back") {
  tensor::set_num_threads(3);
  constexpr int64_t kTasks = 7;
  std::vector<int> runs(kTasks, 0), threads_seen(kTasks, 0);
  std::vector<float> sums(kTasks, 0.0f);
  const Tensor big = big_integers();  // a sum that would split over threads on a multi-threaded kernel
  tensor::run_side_by_side(kTasks, 2, [&](int64_t i) {
    ++runs[static_cast<size_t>(i)];
    threads_seen[static_cast<size_t>(i)] = tensor::num_threads();
    sums[static_cast<size_t>(i)] = tensor::sum(big).item();
  });
  CHECK(runs == std::vector<int>(kTasks, 1));
  CHECK(threads_seen == std::vector<int>(kTasks, 1));
  CHECK(tensor::num_threads() == 3);
  CHECK(tensor::blas_info().threads == 3);
  tensor::set_num_threads(1);
  CHECK(sums == std::vector<float>(kTasks, tensor::sum(big).item()));
  tensor::set_num_threads(2);

  SUBCASE("the first error of a task is rethrown once every task has run") {
    std::vector<int> ran(kTasks, 0);
    CHECK_THROWS_WITH_AS(tensor::run_side_by_side(kTasks, 2,
                                                  [&](int64_t i) {
                                                    ran[static_cast<size_t>(i)] = 1;
                                                    if (i == 3) throw tensor::ValueError("task 3 failed");
                                                  }),
                         "task 3 failed", tensor::ValueError);
    CHECK(ran == std::vector<int>(kTasks, 1));
    CHECK(tensor::num_threads() == 2);
  }
  SUBCASE("fewer than one worker is refused; no task is no work") {
    CHECK_THROWS_WITH_AS(tensor::run_side_by_side(3, 0, [](int64_t) {}), "run_side_by_side: need at least 1 worker, got 0",
                         tensor::ValueError);
    tensor::run_side_by_side(0, 2, [](int64_t) { FAIL("no task should run"); });
  }
  SUBCASE("every worker flushes subnormals as the caller does") {
    tensor::set_flush_denormal(true);
    std::vector<float> tiny(kTasks, 1.0f);
    volatile float subnormal_input = 1e-39f;
    tensor::run_side_by_side(kTasks, 2, [&](int64_t i) { tiny[static_cast<size_t>(i)] = subnormal_input * 1.0f; });
    CHECK(tiny == std::vector<float>(kTasks, 0.0f));
    tensor::set_flush_denormal(false);
    tensor::run_side_by_side(kTasks, 2, [&](int64_t i) { tiny[static_cast<size_t>(i)] = subnormal_input * 1.0f; });
    CHECK(tiny[0] != 0.0f);
  }
}

TEST_CASE("add_ of a view of the same storage reads every value before writing it") {
  // a = [[0, 1], [2, 3]]; a + a^T = [[0, 3], [3, 6]].
  Tensor a = Tensor::arange(4).reshape({2, 2});
  tensor::add_(a, a.t());
  CHECK(a.to_vector() == std::vector<float>{0, 3, 3, 6});
}

TEST_CASE("set_flush_denormal makes subnormal results zero on every kernel thread, and can be undone") {
  // 1e-39 is subnormal in float32 (the smallest normal is about 1.2e-38).
  const Tensor tiny = Tensor::full({1 << 20}, 1e-39f);  // large enough to be split across threads
  tensor::set_flush_denormal(true);
  const std::vector<float> flushed = tensor::mul(tiny, 1.0f).to_vector();
  tensor::set_flush_denormal(false);
  const std::vector<float> kept = tensor::mul(tiny, 1.0f).to_vector();
  CHECK(std::all_of(flushed.begin(), flushed.end(), [](float v) { return v == 0.0f; }));
  CHECK(std::all_of(kept.begin(), kept.end(), [](float v) { return v == 1e-39f; }));
}

}  // TEST_SUITE
