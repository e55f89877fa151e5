// Example 3: a differentiable op of your own, checked against finite differences.
//
//   custom_op   (no arguments)
//
// The op is a smooth ReLU, softplus with a sharpness beta (PyTorch's Softplus):
//
//   y = log(1 + e^(beta x)) / beta        dy/dx = sigmoid(beta x) = e^(beta x - beta y)
//
// It is written as every op of autograd/ops.cpp is: check the input, compute the value with
// tensor:: kernels, give autograd::make_var the backward rule right below, return. Then
// autograd::gradcheck compares that rule with central finite differences: it must pass, and
// must fail for a rule with a mistake in it (the 1/beta forgotten). Exit code 0 when both verdicts
// are as they should be, 1 otherwise.
#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "autograd/variable.h"
#include "tensor/errors.h"
#include "tensor/ops.h"
#include "tensor/random.h"

#include <cstdio>
#include <exception>
#include <string>
#include <utility>
#include <vector>

using autograd::Var;
using tensor::Tensor;

// y = log(1 + e^(βx)) / β        dy/dx = σ(βx) = e^(βx − βy)
//
// With `wrong_backward`, the rule is the derivative of log(1 + e^(βx)), the 1/β forgotten:
// dy/dx = β σ(βx), the kind of slip gradcheck is for.
Var softplus(const Var& x, float beta, bool wrong_backward = false) {
  if (!(beta > 0)) throw tensor::ValueError("softplus: beta must be > 0, got " + tensor::to_string(beta));
  // βy = relu(z) + log(1 + e^(−|z|)), z = βx: the same value as log(1 + e^z), but e^(−|z|) <= 1
  // never overflows (log(1 + e^z) is inf from z = 89 on, in float32).
  const Tensor z = tensor::mul(x.value(), beta);
  const Tensor abs_z = tensor::add(tensor::relu(z), tensor::relu(tensor::neg(z)));
  const Tensor beta_y = tensor::add(tensor::relu(z), tensor::log(tensor::add(tensor::exp(tensor::neg(abs_z)), 1.0f)));
  Tensor y = tensor::div(beta_y, beta);
  return autograd::make_var(std::move(y), {x}, "softplus",
                            [z, beta_y, beta, wrong_backward](const Tensor& dy, autograd::Grads& g) {
    // σ(z) = e^(z − βy): the exponent is never positive, so this cannot overflow either.
    const Tensor sigmoid = tensor::exp(tensor::sub(z, beta_y));
    g[0] += tensor::mul(dy, wrong_backward ? tensor::mul(sigmoid, beta) : sigmoid);
  });
}

int main(int argc, char**) try {
  if (argc > 1) {
    std::fprintf(stderr, "custom_op: takes no arguments\n");
    return 2;
  }
  constexpr float kBeta = 2.0f;

  // Values and gradients at a few points: softplus(x) -> relu(x) away from 0, and is finite
  // where the naive formula overflows (x = 100).
  const Var x(Tensor::from_vector({5}, {-3.0f, -0.5f, 0.0f, 1.0f, 100.0f}), /*requires_grad=*/true);
  const Var y = softplus(x, kBeta);
  autograd::sum(y).backward();
  std::printf("x            %s\nsoftplus(x)  %s\ndy/dx        %s\n", tensor::to_string(x.value()).c_str(),
              tensor::to_string(y.value()).c_str(), tensor::to_string(x.grad()).c_str());

  // The backward rule against finite differences, on random inputs [4, 6], inside a graph
  // (the op's output goes through a matmul, so dy is not all ones).
  tensor::Generator gen(7);
  const std::vector<Tensor> inputs = {tensor::normal({4, 6}, 0.0f, 1.5f, gen), tensor::normal({6, 3}, 0.0f, 1.0f, gen)};
  const auto check = [&](bool wrong_backward) {
    return autograd::gradcheck(
        [&](const std::vector<Var>& v) { return autograd::matmul(softplus(v[0], kBeta, wrong_backward), v[1]); },
        inputs);
  };
  const autograd::GradcheckResult right = check(false), wrong = check(true);
  std::printf("gradcheck, the right backward: %s, %lld elements, largest error %.2e\n", right ? "passed" : "FAILED",
              static_cast<long long>(right.checked), right.max_abs_error);
  std::printf("gradcheck, 1/beta forgotten:   %s (%s)\n", wrong ? "PASSED" : "failed, as it should",
              wrong.report.c_str());

  // Bad input is refused with a message naming the op and the value.
  try {
    softplus(x, -1.0f);
  } catch (const tensor::ValueError& e) {
    std::printf("softplus(x, -1) throws: %s\n", e.what());
  }
  return right && !wrong ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "custom_op: %s\n", e.what());
  return 1;
}
