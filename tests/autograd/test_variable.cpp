// The graph: how backward orders, accumulates, releases and refuses.
#include "autograd/variable.h"

#include "autograd/ops.h"
#include "tensor/ops.h"

#include <doctest/doctest.h>

#include <cmath>

using autograd::GradError;
using autograd::Var;
using tensor::Tensor;

namespace {
Var scalar_leaf(float v) { return Var(Tensor::scalar(v), true); }
}  // namespace

TEST_SUITE("autograd/variable") {
TEST_CASE("backward of a small expression gives the hand-derived gradients") {
  // f(a, b) = (a * b + a) / b at a = 3, b = 2: f = 4.5,
  // df/da = (b + 1) / b = 1.5, df/db = a / b - (a b + a) / b^2 = 1.5 - 2.25 = -0.75.
  Var a = scalar_leaf(3.0f);
  Var b = scalar_leaf(2.0f);
  Var f = (a * b + a) / b;
  CHECK(f.value().item() == doctest::Approx(4.5));
  f.backward();
  CHECK(a.grad().item() == doctest::Approx(1.5));
  CHECK(b.grad().item() == doctest::Approx(-0.75));
}

TEST_CASE("a value used twice receives the sum of both paths' gradients") {
  // y = x * x + x: dy/dx = 2x + 1 = 7 at x = 3.
  Var x = scalar_leaf(3.0f);
  Var y = x * x + x;
  y.backward();
  CHECK(x.grad().item() == doctest::Approx(7.0));
}

TEST_CASE("leaf gradients accumulate over backward calls until zero_grad") {
  Var x = scalar_leaf(2.0f);
  (x * 3.0f).backward();
  (x * 3.0f).backward();
  CHECK(x.grad().item() == doctest::Approx(6.0));
  x.zero_grad();
  CHECK_FALSE(x.grad().defined());
  (x * 3.0f).backward();
  CHECK(x.grad().item() == doctest::Approx(3.0));
}

TEST_CASE("a second backward through a released graph throws instead of giving wrong gradients") {
  Var x = scalar_leaf(2.0f);
  Var y = autograd::exp(x * x);
  y.backward();
  CHECK_THROWS_WITH_AS(y.backward(),
                       "backward: the graph of this exp was already released by an earlier backward(); "
                       "run the forward pass again",
                       GradError);
  SUBCASE("also when a new output is built on a released intermediate") {
    Var z = y + 1.0f;
    CHECK_THROWS_WITH_AS(z.backward(),
                         "backward: the graph through exp was already released by an earlier backward(); "
                         "run the forward pass again",
                         GradError);
  }
}

TEST_CASE("backward frees the intermediate nodes and what they saved") {
  Var x(Tensor::ones({1000}), true);
  std::weak_ptr<autograd::Node> intermediate;
  Var y;
  {
    Var h = autograd::exp(x);  // saves exp(x) for its backward
    intermediate = h.node();
    y = autograd::sum(h);
  }
  CHECK_FALSE(intermediate.expired());  // kept alive by the graph only
  y.backward();
  CHECK(intermediate.expired());
  CHECK(x.grad().defined());
}

TEST_CASE("a leaf that does not require grad receives no gradient") {
  Var a(Tensor::scalar(2.0f), true);
  Var b(Tensor::scalar(3.0f), false);
  (a * b).backward();
  CHECK(a.grad().item() == doctest::Approx(3.0));
  CHECK_FALSE(b.grad().defined());
}

TEST_CASE("backward refuses a non-scalar output without an explicit gradient") {
  Var x(Tensor::ones({2, 3}), true);
  Var y = x * 2.0f;
  CHECK_THROWS_WITH_AS(y.backward(), "backward: needs a scalar output or an explicit gradient, got shape [2, 3]",
                       GradError);
  CHECK_THROWS_WITH_AS(y.backward(Tensor::ones({3})),
                       "backward: gradient of shape [3] for an output of shape [2, 3]", GradError);
  y.backward(Tensor::full({2, 3}, 0.5f));
  CHECK(tensor::allclose(x.grad(), Tensor::full({2, 3}, 1.0f)));
}

TEST_CASE("backward refuses an output that requires no gradient") {
  Var x(Tensor::scalar(1.0f), false);
  CHECK_THROWS_WITH_AS((x * 2.0f).backward(),
                       "backward: the output of mul does not require grad (no input requires it, or it was "
                       "computed under NoGradGuard)",
                       GradError);
}

TEST_CASE("nothing is recorded inside a NoGradGuard, and recording resumes after it") {
  Var x = scalar_leaf(1.0f);
  {
    autograd::NoGradGuard no_grad;
    CHECK_FALSE(autograd::grad_enabled());
    Var y = x * 2.0f;
    CHECK_FALSE(y.requires_grad());
    CHECK(y.is_leaf());
  }
  CHECK(autograd::grad_enabled());
  CHECK((x * 2.0f).requires_grad());
}

TEST_CASE("detach cuts the graph but shares the value") {
  Var x = scalar_leaf(2.0f);
  Var d = (x * 3.0f).detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.value().item() == 6.0f);
  Var y = x * d;  // only the x path carries a gradient: dy/dx = d = 6
  y.backward();
  CHECK(x.grad().item() == doctest::Approx(6.0));
}

TEST_CASE("only leaves keep their gradient unless an interior node asks to retain it") {
  Var x = scalar_leaf(2.0f);
  Var h = x * 3.0f;
  Var k = x * 5.0f;
  h.retain_grad();
  Var y = h * k;  // dy/dh = k = 10, dy/dk = h = 6
  y.backward();
  CHECK(h.grad().item() == doctest::Approx(10.0));
  CHECK_FALSE(k.grad().defined());
}

TEST_CASE("requires_grad can be changed on leaves only") {
  Var x = scalar_leaf(1.0f);
  x.set_requires_grad(false);
  CHECK_FALSE(x.requires_grad());
  x.set_requires_grad(true);
  Var y = x + 1.0f;
  CHECK_THROWS_WITH_AS(y.set_requires_grad(false),
                       "set_requires_grad: only leaves can change requires_grad, not the output of add", GradError);
}

TEST_CASE("a chain of 5,000 nodes backpropagates without recursion") {
  // y = x * 1.001^5000 built one node at a time: dy/dx = 1.001^5000 (about 148.0).
  Var x = scalar_leaf(1.0f);
  Var y = x;
  for (int i = 0; i < 5000; ++i) y = y * 1.001f;
  y.backward();
  CHECK(x.grad().item() == doctest::Approx(std::pow(1.001, 5000)).epsilon(1e-3));
}

TEST_CASE("a graph 200,000 nodes deep is built, differentiated and freed without overflowing the stack") {
  Var x = scalar_leaf(0.0f);
  Var y = x;
  for (int i = 0; i < 200000; ++i) y = y + 1.0f;
  CHECK(y.value().item() == 200000.0f);
  SUBCASE("freed without backward") { y = Var(); }
  SUBCASE("freed after backward") {
    y.backward();
    CHECK(x.grad().item() == 1.0f);
  }
}
}
