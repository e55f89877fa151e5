#include "autograd/norm.h"

#include "tensor/norm.h"

namespace autograd {

namespace T = tensor;

// y = gamma x_hat + beta, x_hat = (x - mean) / sqrt(var + eps)
//   dL/dbeta = sum dy, dL/dgamma = sum dy x_hat,
//   dL/dx = gamma / (M sqrt(var + eps)) (M dy - dL/dbeta - x_hat dL/dgamma)
BatchNorm2dOutput batch_norm2d(const Var& x, const Var& gamma, const Var& beta, float eps) {
  const Tensor input = x.value().contiguous();
  T::BatchNorm2dResult r = T::batch_norm2d(input, gamma.value(), beta.value(), eps);
  Var y = make_var(std::move(r.y), {x, gamma, beta}, "batch_norm2d",
                   [input, mean = r.mean, g = gamma.value(), inv_std = r.inv_std](const Tensor& dy, Grads& grads) {
                     T::BatchNorm2dGrads d = T::batch_norm2d_backward(dy.contiguous(), input, mean, g, inv_std);
                     if (grads.wants(0)) grads[0] += d.input;
                     if (grads.wants(1)) grads[1] += d.gamma;
                     if (grads.wants(2)) grads[2] += d.beta;
                   });
  return {std::move(y), std::move(r.mean), std::move(r.var)};
}

}  // namespace autograd
