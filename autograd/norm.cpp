#include "autograd/norm.h"

#include "tensor/conv.h"
#include "tensor/norm.h"

#include <memory>

namespace autograd {


// y = gamma x_hat + beta, x_hat = (x - mean) / sqrt(var + eps)
//   dL/dbeta = sum dy, dL/dgamma = sum dy x_hat,
//   dL/dx = gamma / (M sqrt(var + eps)) (M dy - dL/dbeta - x_hat dL/dgamma)
BatchNorm2dOutput batch_norm2d(const Var& x, const Var& gamma, const Var& beta, float eps) {
  const Tensor input = x.value().contiguous();
  tensor::BatchNorm2dResult r = tensor::batch_norm2d(input, gamma.value(), beta.value(), eps);
  Var y = make_var(std::move(r.y), {x, gamma, beta}, "batch_norm2d",
                   [input, mean = r.mean, g = gamma.value(), inv_std = r.inv_std](const Tensor& dy, Grads& grads) {
                     tensor::BatchNorm2dGrads d = tensor::batch_norm2d_backward(dy.contiguous(), input, mean, g, inv_std);
                     if (grads.wants(0)) grads[0] += d.input;
                     if (grads.wants(1)) grads[1] += d.gamma;
                     if (grads.wants(2)) grads[2] += d.beta;
                   });
  return {std::move(y), std::move(r.mean), std::move(r.var)};
}

// z = relu(max_pool(gamma x_hat + beta))
//   dy = dz at each window's maximum where z > 0, else 0; then batch_norm2d's gradient of dy
BatchNorm2dOutput batch_norm_pool_relu2d(const Var& x, const Var& gamma, const Var& beta, float eps) {
  const Tensor input = x.value().contiguous();
  auto r = std::make_shared<tensor::BatchNormPoolRelu2dResult>(tensor::batch_norm_pool_relu2d(input, gamma.value(), beta.value(), eps));
  Var z = make_var(r->y, {x, gamma, beta}, "batch_norm_pool_relu2d",
                   [input, r, g = gamma.value()](const Tensor& dz, Grads& grads) {
                     tensor::BatchNorm2dGrads d = tensor::batch_norm_pool_relu2d_backward(dz.contiguous(), input, g, *r);
                     if (grads.wants(0)) grads[0] += d.input;
                     if (grads.wants(1)) grads[1] += d.gamma;
                     if (grads.wants(2)) grads[2] += d.beta;
                   });
  return {std::move(z), r->mean, r->var};
}

// z = block(y), y = conv2d(x)   dL/dgamma, dL/dbeta: the block's sums; the convolution's gradients
//   from dL/dy, made image by image by the block (tensor::batch_norm_pool_relu2d_input_grad_image)
BatchNorm2dOutput conv_batch_norm_pool_relu2d(const Var& x, const Var& weight, const Var& bias, const Var& gamma,
                                              const Var& beta, int64_t stride, int64_t padding, float eps) {
  Tensor y = tensor::conv2d(x.value(), weight.value(), bias.defined() ? bias.value() : Tensor(), stride, padding);
  auto r = std::make_shared<tensor::BatchNormPoolRelu2dResult>(tensor::batch_norm_pool_relu2d(y, gamma.value(), beta.value(), eps));
  std::vector<Var> inputs = {x, weight, gamma, beta};
  if (bias.defined()) inputs.push_back(bias);
  Var z = make_var(r->y, std::move(inputs), "conv_batch_norm_pool_relu2d",
                   [y, r, vx = x.value(), vw = weight.value(), g = gamma.value(), stride, padding](const Tensor& dz,
                                                                                                 Grads& grads) {
                     const tensor::BatchNormPoolRelu2dSums sums = tensor::batch_norm_pool_relu2d_sums(dz.contiguous(), y, *r);
                     if (grads.wants(2)) grads[2] += sums.gamma;
                     if (grads.wants(3)) grads[3] += sums.beta;
                     const bool want_bias = grads.size() > 4 && grads.wants(4);
                     if (!grads.wants(0) && !grads.wants(1) && !want_bias) return;
                     const tensor::OutputGradient dy = [&](int64_t n, float* out) {
                       tensor::batch_norm_pool_relu2d_input_grad_image(sums, y, g, *r, n, out);
                     };
                     tensor::Conv2dGrads d =
                         tensor::conv2d_backward(dy, vx, vw, stride, padding, grads.wants(0), grads.wants(1), want_bias);
                     if (grads.wants(0)) grads[0] += d.input;
                     if (grads.wants(1)) grads[1] += d.weight;
                     if (want_bias) grads[4] += d.bias;
                   });
  return {std::move(z), r->mean, r->var};
}

}  // namespace autograd
