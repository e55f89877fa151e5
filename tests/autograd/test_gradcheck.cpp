// gradcheck is the referee of every backward rule, so it must itself be shown to bite.
#include "autograd/gradcheck.h"

#include "autograd/ops.h"
#include "tensor/ops.h"

#include <doctest/doctest.h>

using autograd::Grads;
using autograd::Var;
using tensor::Tensor;

namespace {

// y = x^2 with a backward rule scaled by `factor`: 1 is right, 1.1 and -1 are wrong.
Var square_with_backward_times(const Var& x, float factor) {
  Tensor y = tensor::mul(x.value(), x.value());
  return autograd::make_var(std::move(y), {x}, "square", [vx = x.value(), factor](const Tensor& dy, Grads& g) {
    g[0] += tensor::mul(tensor::mul(tensor::mul(dy, vx), 2.0f), factor);
  });
}

const Tensor kPoint = Tensor::from_vector({2, 3}, {0.5f, -1.25f, 2.0f, 0.75f, -0.3f, 1.6f});

}  // namespace

TEST_SUITE("autograd/gradcheck") {
TEST_CASE("gradcheck passes a correct backward rule") {
  const auto result = autograd::gradcheck(
      [](const std::vector<Var>& in) { return square_with_backward_times(in[0], 1.0f); }, {kPoint});
  CHECK_MESSAGE(result.passed, result.report);
  CHECK(result.checked == 6);
  CHECK(result.max_abs_error < 1e-3);
}

TEST_CASE("gradcheck fails a backward rule that is 10% too large") {
  const auto result = autograd::gradcheck(
      [](const std::vector<Var>& in) { return square_with_backward_times(in[0], 1.1f); }, {kPoint});
  CHECK_FALSE(result.passed);
  CHECK(result.report.find("input 0 [2, 3]") != std::string::npos);
}

TEST_CASE("gradcheck fails a backward rule with its sign flipped") {
  const auto result = autograd::gradcheck(
      [](const std::vector<Var>& in) { return square_with_backward_times(in[0], -1.0f); }, {kPoint});
  CHECK_FALSE(result.passed);
}

TEST_CASE("gradcheck fails a backward rule that forgets one input") {
  const auto mul_forgetting_b = [](const std::vector<Var>& in) {
    Tensor y = tensor::mul(in[0].value(), in[1].value());
    return autograd::make_var(std::move(y), {in[0], in[1]}, "mul", [vb = in[1].value()](const Tensor& dy, Grads& g) {
      g[0] += tensor::mul(dy, vb);
    });
  };
  const auto result = autograd::gradcheck(mul_forgetting_b, {kPoint, kPoint});
  CHECK_FALSE(result.passed);
  CHECK(result.report.find("input 1") != std::string::npos);
}
}
