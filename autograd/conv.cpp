#include "autograd/conv.h"

#include "autograd/ops.h"
#include "tensor/conv.h"
#include "tensor/errors.h"

#include <string>

namespace autograd {

namespace T = tensor;

// cols = im2col(x)            dL/dx = col2im(dL/dcols)
Var im2col(const Var& x, int64_t kernel_h, int64_t kernel_w, int64_t stride, int64_t padding) {
  return make_var(T::im2col(x.value(), kernel_h, kernel_w, stride, padding), {x}, "im2col",
                  [shape = x.shape(), kernel_h, kernel_w, stride, padding](const Tensor& dy, Grads& g) {
                    g[0] += T::col2im(dy, shape, kernel_h, kernel_w, stride, padding);
                  });
}

// y = permute(reshape(im2col(x) W^T + b)): composed, so its backward is that of its parts.
Var conv2d(const Var& x, const Var& weight, const Var& bias, int64_t stride, int64_t padding) {
  if (x.value().dim() != 4 || weight.value().dim() != 4) {
    throw T::ShapeError("conv2d: expects input [N, C, H, W] and weight [O, C, kh, kw], got " +
                        T::to_string(x.shape()) + " and " + T::to_string(weight.shape()));
  }
  const int64_t out_channels = weight.shape()[0];
  if (x.shape()[1] != weight.shape()[1]) {
    throw T::ShapeError("conv2d: input " + T::to_string(x.shape()) + " has " + std::to_string(x.shape()[1]) +
                        " channels but weight " + T::to_string(weight.shape()) + " expects " +
                        std::to_string(weight.shape()[1]));
  }
  if (bias.defined() && bias.shape() != Shape{out_channels}) {
    throw T::ShapeError("conv2d: bias " + T::to_string(bias.shape()) + " does not match " +
                        std::to_string(out_channels) + " output channels");
  }
  const int64_t kh = weight.shape()[2];
  const int64_t kw = weight.shape()[3];
  const int64_t out_h = T::conv_output_size(x.shape()[2], kh, stride, padding, "conv2d");
  const int64_t out_w = T::conv_output_size(x.shape()[3], kw, stride, padding, "conv2d");
  const Var cols = im2col(x, kh, kw, stride, padding);                       // [N*Ho*Wo, C*kh*kw]
  Var y = matmul(cols, transpose(reshape(weight, {out_channels, -1}), 0, 1));  // [N*Ho*Wo, O]
  if (bias.defined()) y = y + bias;
  return permute(reshape(y, {x.shape()[0], out_h, out_w, out_channels}), {0, 3, 1, 2});
}

// y = max over each window    dL/dx = dL/dy at each window's maximum, 0 elsewhere
Var max_pool2d(const Var& x, int64_t kernel, int64_t stride) {
  T::MaxPool2dResult r = T::max_pool2d(x.value(), kernel, stride);
  return make_var(std::move(r.values), {x}, "max_pool2d",
                  [argmax = std::move(r.argmax), shape = x.shape()](const Tensor& dy, Grads& g) {
                    g[0] += T::max_pool2d_backward(dy, argmax, shape);
                  });
}

}  // namespace autograd
