// Every differentiable op: its backward rule against finite differences, over several
// shapes (broadcasting ones included), and its values and errors.
#include "autograd/ops.h"

#include "autograd/gradcheck.h"
#include "tensor/errors.h"
#include "tensor/ops.h"
#include "tensor/random.h"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>

using autograd::Var;
using tensor::Shape;
using tensor::Tensor;

namespace {

using Inputs = std::vector<Var>;

// Values in [-2, 2], seeded by the shape so each call site is reproducible.
Tensor values(const Shape& shape, uint64_t seed = 1) {
  tensor::Generator gen(seed + static_cast<uint64_t>(tensor::numel(shape)));
  return tensor::uniform(shape, -2.0f, 2.0f, gen);
}

// Values in [0.5, 2]: away from zero, for log, division and relu's kink.
Tensor positive(const Shape& shape, uint64_t seed = 2) {
  tensor::Generator gen(seed + static_cast<uint64_t>(tensor::numel(shape)));
  return tensor::uniform(shape, 0.5f, 2.0f, gen);
}

// Values with |x| in [0.5, 2] and random sign: away from relu's kink at 0.
Tensor away_from_zero(const Shape& shape) {
  tensor::Generator gen(3);
  return tensor::mul(positive(shape), tensor::sub(tensor::mul(tensor::bernoulli(shape, 0.5f, gen), 2.0f), 1.0f));
}

void check_gradient(const std::function<Var(const Inputs&)>& f, const std::vector<Tensor>& inputs) {
  const autograd::GradcheckResult result = autograd::gradcheck(f, inputs);
  CHECK_MESSAGE(result.passed, result.report);
}

// The broadcasting pairs every binary op is checked on.
const std::vector<std::pair<Shape, Shape>> kBinaryShapes = {
    {{3}, {3}}, {{2, 3}, {2, 3}}, {{2, 3}, {3}}, {{4, 1}, {1, 3}}, {{2, 3, 4}, {3, 1}}, {{}, {2, 2}}};

}  // namespace

TEST_SUITE("autograd/ops") {
TEST_CASE("add, sub, mul and div pass gradcheck on equal and broadcast shapes") {
  for (const auto& [sa, sb] : kBinaryShapes) {
    CAPTURE(tensor::to_string(sa));
    CAPTURE(tensor::to_string(sb));
    check_gradient([](const Inputs& in) { return in[0] + in[1]; }, {values(sa), values(sb)});
    check_gradient([](const Inputs& in) { return in[0] - in[1]; }, {values(sa), values(sb)});
    check_gradient([](const Inputs& in) { return in[0] * in[1]; }, {values(sa), values(sb)});
    check_gradient([](const Inputs& in) { return in[0] / in[1]; }, {values(sa), positive(sb)});
    // The other way round too: the broadcast operand first.
    check_gradient([](const Inputs& in) { return in[0] * in[1]; }, {values(sb), values(sa)});
    check_gradient([](const Inputs& in) { return in[0] / in[1]; }, {values(sb), positive(sa)});
  }
}

TEST_CASE("masked_mul passes gradcheck and gives 0 where the weight is 0, even against infinity") {
  check_gradient([](const Inputs& in) { return autograd::masked_mul(in[0], Tensor::from_vector({3}, {0.5f, 0.0f, -2.0f})); },
                 {values({2, 3})});
  const float inf = std::numeric_limits<float>::infinity();
  const Var x(Tensor::from_vector({3}, {-inf, 2.0f, inf}));
  CHECK(autograd::masked_mul(x, Tensor::from_vector({3}, {0.0f, 3.0f, 0.0f})).value().to_vector() ==
        std::vector<float>{0.0f, 6.0f, 0.0f});
}

TEST_CASE("scalar add, mul and div and neg pass gradcheck") {
  const Tensor x = values({2, 3});
  check_gradient([](const Inputs& in) { return in[0] + 2.5f; }, {x});
  check_gradient([](const Inputs& in) { return in[0] * -1.5f; }, {x});
  check_gradient([](const Inputs& in) { return in[0] / 4.0f; }, {x});
  check_gradient([](const Inputs& in) { return -in[0]; }, {x});
}

TEST_CASE("exp, log and relu pass gradcheck") {
  for (const Shape& shape : {Shape{5}, Shape{2, 3}, Shape{2, 2, 3}}) {
    CAPTURE(tensor::to_string(shape));
    check_gradient([](const Inputs& in) { return autograd::exp(in[0]); }, {values(shape)});
    check_gradient([](const Inputs& in) { return autograd::log(in[0]); }, {positive(shape)});
    check_gradient([](const Inputs& in) { return autograd::relu(in[0]); }, {away_from_zero(shape)});
  }
}

TEST_CASE("relu passes the gradient where the input is positive and blocks it elsewhere") {
  Var x(Tensor::from_vector({4}, {-1.0f, 2.0f, -3.0f, 4.0f}), true);
  autograd::sum(autograd::relu(x)).backward();
  CHECK(x.grad().to_vector() == std::vector<float>{0.0f, 1.0f, 0.0f, 1.0f});
}

TEST_CASE("matmul passes gradcheck for matrices and batches") {
  check_gradient([](const Inputs& in) { return autograd::matmul(in[0], in[1]); }, {values({3, 4}), values({4, 2})});
  check_gradient([](const Inputs& in) { return autograd::matmul(in[0], in[1]); }, {values({1, 5}), values({5, 1})});
  check_gradient([](const Inputs& in) { return autograd::matmul(in[0], in[1]); },
                 {values({2, 3, 4}), values({2, 4, 3})});
  SUBCASE("with a transposed view as an operand, as a linear layer x W^T uses") {
    check_gradient([](const Inputs& in) { return autograd::matmul(in[0], autograd::transpose(in[1], 0, 1)); },
                   {values({3, 4}), values({2, 4})});
  }
}

TEST_CASE("matmul reports mismatched shapes with both shapes") {
  Var a(Tensor::zeros({32, 784}), true);
  Var b(Tensor::zeros({100, 10}), true);
  CHECK_THROWS_WITH_AS(autograd::matmul(a, b), "matmul: inner dimensions differ: [32, 784] @ [100, 10]",
                       tensor::ShapeError);
}

TEST_CASE("sum and mean pass gradcheck over all elements and along each axis") {
  const Tensor x = values({2, 3, 4});
  check_gradient([](const Inputs& in) { return autograd::sum(in[0]); }, {x});
  check_gradient([](const Inputs& in) { return autograd::mean(in[0]); }, {x});
  for (int64_t axis : {0, 1, 2, -1}) {
    for (bool keepdim : {false, true}) {
      CAPTURE(axis);
      CAPTURE(keepdim);
      check_gradient([axis, keepdim](const Inputs& in) { return autograd::sum(in[0], axis, keepdim); }, {x});
      check_gradient([axis, keepdim](const Inputs& in) { return autograd::mean(in[0], axis, keepdim); }, {x});
    }
  }
}

TEST_CASE("logsumexp passes gradcheck along each axis") {
  const Tensor x = values({3, 4});
  for (int64_t axis : {0, 1}) {
    for (bool keepdim : {false, true}) {
      check_gradient([axis, keepdim](const Inputs& in) { return autograd::logsumexp(in[0], axis, keepdim); }, {x});
    }
  }
}

TEST_CASE("reshape, transpose, permute, narrow and index_select pass gradcheck") {
  const Tensor x = values({3, 4});
  check_gradient([](const Inputs& in) { return autograd::reshape(in[0], {2, -1}); }, {x});
  check_gradient([](const Inputs& in) { return autograd::transpose(in[0], 0, 1); }, {x});
  check_gradient([](const Inputs& in) { return autograd::permute(in[0], {2, 0, 1}); }, {values({2, 3, 4})});
  check_gradient([](const Inputs& in) { return autograd::narrow(in[0], 0, 1, 2); }, {x});
  check_gradient([](const Inputs& in) { return autograd::narrow(in[0], 1, 2, 2); }, {x});
  SUBCASE("index_select with a repeated index accumulates its gradient") {
    check_gradient([](const Inputs& in) { return autograd::index_select(in[0], 0, {2, 0, 2}); }, {x});
    check_gradient([](const Inputs& in) { return autograd::index_select(in[0], 1, {3, 3, 1}); }, {x});
  }
}

TEST_CASE("log_softmax and softmax pass gradcheck at several temperatures") {
  const Tensor z = values({3, 5});
  for (float t : {0.5f, 1.0f, 4.0f}) {
    CAPTURE(t);
    check_gradient([t](const Inputs& in) { return autograd::log_softmax(in[0], t); }, {z});
    check_gradient([t](const Inputs& in) { return autograd::softmax(in[0], t); }, {z});
    check_gradient([t](const Inputs& in) { return autograd::softmax(in[0], t, 0); }, {z});
  }
}

TEST_CASE("softmax rows sum to one and T = 1 is the ordinary softmax") {
  // softmax([0, ln 2, ln 3]) = [1, 2, 3] / 6 by hand.
  const Var z(Tensor::from_vector({1, 3}, {0.0f, std::log(2.0f), std::log(3.0f)}));
  const std::vector<float> p = autograd::softmax(z).value().to_vector();
  CHECK(p[0] == doctest::Approx(1.0 / 6));
  CHECK(p[1] == doctest::Approx(2.0 / 6));
  CHECK(p[2] == doctest::Approx(3.0 / 6));
  // At T = 2 the same logits give weights 1, sqrt 2, sqrt 3 (e^{z/2}).
  const std::vector<float> q = autograd::softmax(z, 2.0f).value().to_vector();
  const double total = 1 + std::sqrt(2.0) + std::sqrt(3.0);
  CHECK(q[0] == doctest::Approx(1 / total));
  CHECK(q[2] == doctest::Approx(std::sqrt(3.0) / total));
}

TEST_CASE("the fused log_softmax agrees with its composed definition z/T - logsumexp(z/T)") {
  const Tensor z = tensor::mul(values({4, 6}), 5.0f);
  for (float t : {0.25f, 1.0f, 3.0f, 50.0f}) {
    CAPTURE(t);
    const Var logits(z);
    const Var composed = autograd::div(logits, t) - autograd::logsumexp(autograd::div(logits, t), -1, true);
    CHECK(tensor::allclose(autograd::log_softmax(logits, t).value(), composed.value(), 1e-5f, 1e-5f));
  }
}

TEST_CASE("log_softmax stays finite for logits of magnitude 1e4") {
  const Var z(Tensor::from_vector({2, 3}, {1e4f, -1e4f, 0.0f, -1e4f, -1e4f, -1e4f}));
  const std::vector<float> lp = autograd::log_softmax(z, 0.05f).value().to_vector();
  for (float v : lp) CHECK(!std::isnan(v));
  CHECK(lp[0] == doctest::Approx(0.0));
  // Three equal logits: log(1/3) whatever their size (the composed form gives -1.09375 here).
  CHECK(lp[3] == doctest::Approx(std::log(1.0 / 3)));
  CHECK(lp[1] == -4e5f);  // (-1e4 - 1e4) / 0.05 below the top logit, exactly
}

TEST_CASE("log_softmax and softmax reject a temperature that is not positive") {
  const Var z(Tensor::zeros({2, 3}));
  CHECK_THROWS_WITH_AS(autograd::log_softmax(z, 0.0f), "log_softmax: temperature must be > 0, got 0",
                       tensor::ValueError);
  CHECK_THROWS_WITH_AS(autograd::softmax(z, -1.0f), "softmax: temperature must be > 0, got -1",
                       tensor::ValueError);
}

TEST_CASE("dropout zeroes about p of the elements, scales the rest by 1/(1-p) and keeps the mean") {
  tensor::Generator gen(5);
  const Var x(Tensor::ones({100000}), true);
  const Var y = autograd::dropout(x, 0.25f, gen);
  const std::vector<float> v = y.value().to_vector();
  int64_t zeros = 0;
  int64_t wrongly_scaled = 0;
  for (float e : v) {
    if (e == 0.0f) {
      ++zeros;
    } else if (e != 1.0f / 0.75f) {
      ++wrongly_scaled;
    }
  }
  CHECK(wrongly_scaled == 0);
  // Binomial(100000, 0.25): standard deviation about 137 elements; allow 5 of them.
  CHECK(std::abs(zeros - 25000) < 700);
  autograd::sum(y).backward();
  CHECK(x.grad().to_vector() == v);  // dy/dx = mask / (1 - p) = y / x with x = 1
}

TEST_CASE("dropout passes gradcheck with a fixed mask") {
  check_gradient(
      [](const Inputs& in) {
        tensor::Generator gen(11);  // the same mask at every evaluation
        return autograd::dropout(in[0], 0.4f, gen);
      },
      {values({4, 5})});
}

TEST_CASE("dropout with p = 0 is the identity and p outside [0, 1) is rejected") {
  tensor::Generator gen(1);
  const Var x(values({3}), true);
  CHECK(autograd::dropout(x, 0.0f, gen).node() == x.node());
  CHECK_THROWS_WITH_AS(autograd::dropout(x, 1.0f, gen), "dropout: p must be in [0, 1), got 1",
                       tensor::ValueError);
}
TEST_CASE("the fused linear equals x W^T + b composed from matmul, transpose and add, gradients included") {
  const Tensor x = values({5, 4}), w = values({3, 4}, 7), b = values({3}, 8);
  Var xf(x, true), wf(w, true), bf(b, true);
  Var xc(x, true), wc(w, true), bc(b, true);
  const Var fused = autograd::linear(xf, wf, bf);
  const Var composed = autograd::matmul(xc, autograd::transpose(wc, 0, 1)) + bc;
  CHECK(tensor::allclose(fused.value(), composed.value(), 1e-5f, 1e-6f));
  const Tensor dy = values({5, 3}, 9);
  fused.backward(dy);
  composed.backward(dy);
  CHECK(tensor::allclose(xf.grad(), xc.grad(), 1e-5f, 1e-6f));
  CHECK(tensor::allclose(wf.grad(), wc.grad(), 1e-5f, 1e-6f));
  CHECK(tensor::allclose(bf.grad(), bc.grad(), 1e-5f, 1e-6f));
  CHECK(wf.grad().is_contiguous());
}

TEST_CASE("linear passes gradcheck with and without a bias, and reports mismatched shapes") {
  check_gradient([](const Inputs& in) { return autograd::linear(in[0], in[1], in[2]); },
                 {values({4, 3}), values({2, 3}, 5), values({2}, 6)});
  check_gradient([](const Inputs& in) { return autograd::linear(in[0], in[1], Var()); }, {values({4, 3}), values({2, 3}, 5)});
  CHECK_THROWS_WITH_AS(autograd::linear(Var(Tensor::zeros({32, 100})), Var(Tensor::zeros({10, 784})), Var()),
                       "linear: input [32, 100] does not match weight [10, 784]", tensor::ShapeError);
  CHECK_THROWS_WITH_AS(autograd::linear(Var(Tensor::zeros({2, 3})), Var(Tensor::zeros({4, 3})), Var(Tensor::zeros({5}))),
                       "linear: bias [5] does not match weight [4, 3]", tensor::ShapeError);
}

TEST_CASE("the fused relu_backward equals dy times the mask y > 0") {
  const Tensor y = tensor::relu(values({6, 7})), dy = values({6, 7}, 4);
  CHECK(tensor::allclose(tensor::relu_backward(dy, y), tensor::mul(dy, tensor::gt(y, 0.0f)), 0.0f, 0.0f));
  CHECK_THROWS_WITH_AS(tensor::relu_backward(Tensor::zeros({2, 3}), Tensor::zeros({3, 2})),
                       "relu_backward: shapes [2, 3] and [3, 2] differ", tensor::ShapeError);
}

}
