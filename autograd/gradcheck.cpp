#include "autograd/gradcheck.h"

#include "autograd/ops.h"
#include "tensor/ops.h"
#include "tensor/random.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace autograd {

namespace {

// L = sum_k r_k y_k in double, from float32 values.
double project(const Tensor& y, const std::vector<float>& r) {
  const std::vector<float> v = y.to_vector();
  double total = 0.0;
  for (size_t k = 0; k < v.size(); ++k) total += static_cast<double>(v[k]) * r[k];
  return total;
}

}  // namespace

GradcheckResult gradcheck(const std::function<Var(const std::vector<Var>&)>& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options) {
  // The backward pass, on L = sum(r * y).
  std::vector<Var> leaves;
  for (const Tensor& x : inputs) leaves.emplace_back(x.clone(), true);
  const Var y = f(leaves);
  tensor::Generator gen(options.seed);
  const Tensor r = tensor::normal(y.shape(), 0.0f, 1.0f, gen);
  const std::vector<float> rv = r.to_vector();
  sum(mul(y, Var(r))).backward();

  GradcheckResult result;
  double worst_excess = -1.0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor analytic = leaves[i].grad().defined() ? leaves[i].grad() : Tensor::zeros(inputs[i].shape());
    const std::vector<float> g = analytic.to_vector();
    // The finite differences, input element by element, on fresh copies.
    std::vector<Tensor> point;
    for (const Tensor& x : inputs) point.push_back(x.clone());
    float* x = point[i].data();
    for (int64_t j = 0; j < point[i].numel(); ++j) {
      const float original = x[j];
      const double h = options.step * std::max(1.0, std::fabs(static_cast<double>(original)));
      const auto up = static_cast<float>(original + h);
      const auto down = static_cast<float>(original - h);
      std::vector<Var> args;
      double plus = 0.0;
      double minus = 0.0;
      {
        NoGradGuard no_grad;
        x[j] = up;
        for (const Tensor& p : point) args.emplace_back(p, false);
        plus = project(f(args).value(), rv);
        x[j] = down;
        minus = project(f(args).value(), rv);
        x[j] = original;
      }
      const double numeric = (plus - minus) / (static_cast<double>(up) - static_cast<double>(down));
      const double error = std::fabs(g[static_cast<size_t>(j)] - numeric);
      const double allowed = options.atol + options.rtol * std::max(std::fabs(numeric), std::fabs(static_cast<double>(g[static_cast<size_t>(j)])));
      result.max_abs_error = std::max(result.max_abs_error, error);
      ++result.checked;
      if (error - allowed > worst_excess) {
        worst_excess = error - allowed;
        std::ostringstream out;
        out << "input " << i << " " << tensor::to_string(inputs[i].shape()) << " element " << j << ": backward "
            << g[static_cast<size_t>(j)] << " vs finite difference " << numeric << " (error " << error << ", allowed "
            << allowed << ")";
        result.report = out.str();
      }
      if (error > allowed) result.passed = false;
    }
  }
  return result;
}

}  // namespace autograd
