#include "autograd/conv.h"

#include "tensor/conv.h"
#include "tensor/errors.h"

#include <string>

namespace autograd {

// cols = im2col(x)            dL/dx = col2im(dL/dcols)
Var im2col(const Var& x, int64_t kernel_h, int64_t kernel_w, int64_t stride, int64_t padding) {
  return make_var(tensor::im2col(x.value(), kernel_h, kernel_w, stride, padding), {x}, "im2col",
                  [shape = x.shape(), kernel_h, kernel_w, stride, padding](const Tensor& dy, Grads& g) {
                    g[0] += tensor::col2im(dy, shape, kernel_h, kernel_w, stride, padding);
                  });
}

// y[n] = b + W cols(x[n])     dL/dW = sum_n dy[n] cols(x[n])^T, dL/db = sum dy,
//                             dL/dx[n] = col2im(W^T dy[n])
Var conv2d(const Var& x, const Var& weight, const Var& bias, int64_t stride, int64_t padding) {
  Tensor y = tensor::conv2d(x.value(), weight.value(), bias.defined() ? bias.value() : Tensor(), stride, padding);
  std::vector<Var> inputs = {x, weight};
  if (bias.defined()) inputs.push_back(bias);
  return make_var(std::move(y), std::move(inputs), "conv2d",
                  [vx = x.value(), vw = weight.value(), stride, padding](const Tensor& dy, Grads& g) {
                    const bool want_bias = g.size() > 2 && g.wants(2);
                    tensor::Conv2dGrads d =
                        tensor::conv2d_backward(dy, vx, vw, stride, padding, g.wants(0), g.wants(1), want_bias);
                    if (g.wants(0)) g[0] += d.input;
                    if (g.wants(1)) g[1] += d.weight;
                    if (want_bias) g[2] += d.bias;
                  });
}

// y = max over each window    dL/dx = dL/dy at each window's maximum, 0 elsewhere
Var max_pool2d(const Var& x, int64_t kernel, int64_t stride) {
  tensor::MaxPool2dResult r = tensor::max_pool2d(x.value(), kernel, stride);
  return make_var(std::move(r.values), {x}, "max_pool2d",
                  [where = std::move(r.where), shape = x.shape(), kernel, stride](const Tensor& dy, Grads& g) {
                    g[0] += tensor::max_pool2d_backward(dy, where, shape, kernel, stride);
                  });
}

}  // namespace autograd
