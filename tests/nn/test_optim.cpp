// Optimizers: single steps against hand computation, schedules, and real convergence.
#include "nn/optim.h"

#include "autograd/ops.h"
#include "nn/layers.h"
#include "nn/losses.h"
#include "nn/metrics.h"
#include "tensor/errors.h"
#include "tensor/ops.h"
#include "tensor/random.h"

#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <memory>

using autograd::Var;
using tensor::Tensor;

namespace {

// A parameter at theta with a fixed gradient g: what one step does is then pure arithmetic.
Var parameter_with_grad(float theta, float g) {
  Var p(Tensor::from_vector({1}, {theta}), true);
  (p * g).backward();  // d(g * theta)/dtheta = g
  return p;
}

float value(const Var& p) { return p.value().item(); }

}  // namespace

TEST_SUITE("nn/optim") {
TEST_CASE("SGD steps match hand computation, with momentum, Nesterov and weight decay") {
  SUBCASE("plain: theta - lr g = 1 - 0.1 * 2") {
    Var p = parameter_with_grad(1.0f, 2.0f);
    nn::SGD(std::vector<Var>{p}, 0.1f).step();
    CHECK(value(p) == doctest::Approx(0.8));
  }
  SUBCASE("momentum 0.9, two steps with g = 2: v = 2 then 3.8; theta = 1 - 0.2 - 0.38") {
    Var p = parameter_with_grad(1.0f, 2.0f);
    nn::SGD opt({p}, 0.1f, 0.9f);
    opt.step();
    CHECK(value(p) == doctest::Approx(0.8));
    opt.step();  // the gradient is still 2
    CHECK(value(p) == doctest::Approx(0.42));
  }
  SUBCASE("Nesterov: v = 2, step along g + mu v = 3.8: theta = 1 - 0.38") {
    Var p = parameter_with_grad(1.0f, 2.0f);
    nn::SGD({p}, 0.1f, 0.9f, true).step();
    CHECK(value(p) == doctest::Approx(0.62));
  }
  SUBCASE("weight decay 0.5 adds 0.5 theta to g: 1 - 0.1 * (2 + 0.5)") {
    Var p = parameter_with_grad(1.0f, 2.0f);
    nn::SGD({p}, 0.1f, 0.0f, false, 0.5f).step();
    CHECK(value(p) == doctest::Approx(0.75));
  }
}

TEST_CASE("Adam's first step moves each parameter by lr against the sign of its gradient") {
  // m_hat = g, v_hat = g^2 after bias correction, so the step is lr * g / (|g| + eps).
  Var p = parameter_with_grad(1.0f, -3.0f);
  nn::Adam opt({p}, 0.01f);
  opt.step();
  CHECK(value(p) == doctest::Approx(1.01));
  SUBCASE("second step with the same gradient: again lr") {
    opt.step();
    CHECK(value(p) == doctest::Approx(1.02));
  }
}

TEST_CASE("Adam adds weight decay to the gradient, AdamW shrinks the weights first") {
  // Adam: g = 2 + 0.1 * 1 = 2.1, step lr * sign = 0.01 -> 0.99.
  Var a = parameter_with_grad(1.0f, 2.0f);
  nn::Adam({a}, 0.01f, 0.9f, 0.999f, 1e-8f, 0.1f).step();
  CHECK(value(a) == doctest::Approx(0.99));
  // AdamW: theta = 1 * (1 - 0.01 * 0.1) = 0.999, then the Adam step of 0.01 -> 0.989.
  Var w = parameter_with_grad(1.0f, 2.0f);
  nn::AdamW({w}, 0.01f, 0.1f).step();
  CHECK(value(w) == doctest::Approx(0.989));
}

TEST_CASE("Adam counts steps per parameter: one that starts late gets its first step's full correction") {
  Var early = parameter_with_grad(1.0f, 2.0f);
  Var late(Tensor::from_vector({1}, {1.0f}), true);
  nn::Adam opt({early, late}, 0.01f);
  for (int i = 0; i < 50; ++i) opt.step();  // late has no gradient yet
  CHECK(value(late) == 1.0f);
  (late * 2.0f).backward();
  opt.step();
  // Its first step, like any first Adam step, moves it by lr against the gradient's sign.
  CHECK(value(late) == doctest::Approx(0.99));
}

TEST_CASE("optimizers refuse strided parameters, and values replaced by another shape") {
  Var strided(Tensor::from_vector({2, 3}, {1, 2, 3, 4, 5, 6}).t(), true);
  CHECK_THROWS_WITH_AS(nn::SGD({strided}, 0.1f),
                       "optimizer: parameter 0 [3, 2] is a strided view; pass a contiguous tensor", tensor::ValueError);
  Var p = parameter_with_grad(1.0f, 2.0f);
  nn::SGD opt({p}, 0.1f, 0.9f);
  p.value() = Tensor::zeros({4});  // replaced, not updated in place
  p.zero_grad();
  autograd::sum(p).backward();
  CHECK_THROWS_WITH_AS(opt.step(),
                       "optimizer step: parameter 0 is now [4] (or not contiguous); its optimizer state is [1]",
                       tensor::ShapeError);
}

TEST_CASE("a parameter without a gradient is left alone") {
  Var p(Tensor::from_vector({1}, {1.0f}), true);
  nn::SGD({p}, 0.1f, 0.9f).step();
  CHECK(value(p) == 1.0f);
}

TEST_CASE("schedules: step decay, cosine annealing and linear warm-up") {
  CHECK(nn::step_lr(0.1f, 0, 10, 0.5f) == doctest::Approx(0.1));
  CHECK(nn::step_lr(0.1f, 25, 10, 0.5f) == doctest::Approx(0.025));
  CHECK(nn::cosine_lr(0.1f, 0, 100) == doctest::Approx(0.1));
  CHECK(nn::cosine_lr(0.1f, 50, 100) == doctest::Approx(0.05));
  CHECK(nn::cosine_lr(0.1f, 100, 100, 0.001f) == doctest::Approx(0.001));
  CHECK(nn::linear_warmup(0.1f, 0, 10) == doctest::Approx(0.01));
  CHECK(nn::linear_warmup(0.1f, 9, 10) == doctest::Approx(0.1));
  CHECK(nn::linear_warmup(0.1f, 50, 10) == doctest::Approx(0.1));
  CHECK_THROWS_WITH_AS(nn::step_lr(0.1f, 1, 0, 0.5f), "step_lr: step_size must be > 0, got 0", tensor::ValueError);
  CHECK_THROWS_WITH_AS(nn::cosine_lr(0.1f, 1, 0), "cosine_lr: total must be > 0, got 0", tensor::ValueError);
}

TEST_CASE("optimizers reject bad hyper-parameters and parameters that need no gradient") {
  Var p(Tensor::zeros({2}), true);
  CHECK_THROWS_WITH_AS(nn::SGD({p}, -0.1f), "optimizer: learning rate must be >= 0, got -0.1", tensor::ValueError);
  CHECK_THROWS_WITH_AS(nn::SGD({p}, 0.1f, 1.0f), "SGD: momentum must be in [0, 1), got 1", tensor::ValueError);
  CHECK_THROWS_WITH_AS(nn::SGD({p}, 0.1f, 0.0f, true), "SGD: Nesterov needs momentum > 0", tensor::ValueError);
  CHECK_THROWS_WITH_AS(nn::Adam({p}, 0.1f, 1.0f), "Adam: beta1 must be in [0, 1), got 1", tensor::ValueError);
  CHECK_THROWS_WITH_AS(nn::SGD({Var(Tensor::zeros({3}))}, 0.1f),
                       "optimizer: parameter 0 [3] does not require grad", tensor::ValueError);
}

TEST_CASE("each optimizer drives a small MLP to 100% training accuracy on a synthetic problem") {
  // Two interleaved spirals-free clusters: 4 classes at the corners of a square, with noise.
  tensor::Generator gen(21);
  const int64_t n = 200;
  Tensor x = Tensor::empty({n, 2});
  nn::Labels y;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = i % 4;
    x.set({i, 0}, (c % 2 ? 1.0f : -1.0f) + 0.3f * gen.normal());
    x.set({i, 1}, (c / 2 ? 1.0f : -1.0f) + 0.3f * gen.normal());
    y.push_back(c);
  }
  using Factory = std::function<std::unique_ptr<nn::Optimizer>(std::vector<Var>)>;
  const std::vector<std::pair<const char*, Factory>> optimizers = {
      {"SGD", [](std::vector<Var> p) { return std::make_unique<nn::SGD>(std::move(p), 0.1f, 0.9f); }},
      {"SGD Nesterov", [](std::vector<Var> p) { return std::make_unique<nn::SGD>(std::move(p), 0.1f, 0.9f, true); }},
      {"Adam", [](std::vector<Var> p) { return std::make_unique<nn::Adam>(std::move(p), 0.01f); }},
      {"AdamW", [](std::vector<Var> p) { return std::make_unique<nn::AdamW>(std::move(p), 0.01f); }},
  };
  for (const auto& [name, make] : optimizers) {
    CAPTURE(name);
    tensor::Generator init(22);
    nn::Sequential model;
    model.emplace<nn::Linear>(2, 32, init);
    model.emplace<nn::ReLU>();
    model.emplace<nn::Linear>(32, 4, init);
    auto opt = make(model.parameters());
    for (int step = 0; step < 300; ++step) {
      opt->zero_grad();
      nn::cross_entropy(model(Var(x)), y).backward();
      opt->step();
    }
    autograd::NoGradGuard no_grad;
    CHECK(nn::accuracy(model(Var(x)).value(), y) == 1.0);
  }
}
}
