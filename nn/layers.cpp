#include "nn/layers.h"

#include "autograd/conv.h"
#include "autograd/norm.h"
#include "autograd/ops.h"
#include "tensor/errors.h"
#include "tensor/ops.h"

#include <cmath>
#include <string>

namespace nn {

namespace {

void require_positive(int64_t value, const char* what, const char* op) {
  if (value < 1) {
    throw tensor::ValueError(std::string(op) + ": " + what + " must be positive, got " + std::to_string(value));
  }
}

// Kaiming (He) normal: N(0, 2 / fan_in).
Tensor kaiming_normal(const Shape& shape, int64_t fan_in, tensor::Generator& gen) {
  return tensor::normal(shape, 0.0f, std::sqrt(2.0f / static_cast<float>(fan_in)), gen);
}

}  // namespace

Linear::Linear(int64_t in, int64_t out, tensor::Generator& gen) {
  require_positive(in, "in", "Linear");
  require_positive(out, "out", "Linear");
  weight = register_parameter("weight", kaiming_normal({out, in}, in, gen));
  bias = register_parameter("bias", Tensor::zeros({out}));
}

// y = x W^T + b, fused (see autograd::linear)
Var Linear::forward(const Var& x) { return autograd::linear(x, weight, bias); }

std::string Linear::describe() const {
  return "Linear(" + std::to_string(weight.shape()[1]) + " -> " + std::to_string(weight.shape()[0]) + ")";
}

Var ReLU::forward(const Var& x) { return autograd::relu(x); }
std::string ReLU::describe() const { return "ReLU"; }

Dropout::Dropout(float p, tensor::Generator& gen) : p_(p), gen_(gen.next_u64()) {
  if (!(p >= 0.0f && p < 1.0f)) throw tensor::ValueError("Dropout: p must be in [0, 1), got " + tensor::to_string(p));
}

Var Dropout::forward(const Var& x) { return is_training() ? autograd::dropout(x, p_, gen_) : x; }
std::string Dropout::describe() const { return "Dropout(p=" + tensor::to_string(p_) + ")"; }

Var Flatten::forward(const Var& x) {
  if (x.value().dim() < 1) throw tensor::ShapeError("Flatten: needs a batch axis, got shape " + tensor::to_string(x.shape()));
  return autograd::reshape(x, {x.shape()[0], -1});
}
std::string Flatten::describe() const { return "Flatten"; }

Conv2d::Conv2d(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding, tensor::Generator& gen)
    : stride_(stride), padding_(padding) {
  require_positive(in, "in", "Conv2d");
  require_positive(out, "out", "Conv2d");
  require_positive(kernel, "kernel", "Conv2d");
  require_positive(stride, "stride", "Conv2d");
  if (padding < 0) throw tensor::ValueError("Conv2d: padding must be >= 0, got " + std::to_string(padding));
  weight = register_parameter("weight", kaiming_normal({out, in, kernel, kernel}, in * kernel * kernel, gen));
  bias = register_parameter("bias", Tensor::zeros({out}));
}

Var Conv2d::forward(const Var& x) { return autograd::conv2d(x, weight, bias, stride_, padding_); }

std::string Conv2d::describe() const {
  const auto k = std::to_string(weight.shape()[2]);
  return "Conv2d(" + std::to_string(weight.shape()[1]) + " -> " + std::to_string(weight.shape()[0]) + ", " + k + "x" +
         k + ", stride " + std::to_string(stride_) + ", padding " + std::to_string(padding_) + ")";
}

BatchNorm2d::BatchNorm2d(int64_t channels, float momentum, float eps) : momentum_(momentum), eps_(eps) {
  require_positive(channels, "channels", "BatchNorm2d");
  if (!(momentum > 0.0f && momentum <= 1.0f)) {
    throw tensor::ValueError("BatchNorm2d: momentum must be in (0, 1], got " + tensor::to_string(momentum));
  }
  if (!(eps > 0.0f)) throw tensor::ValueError("BatchNorm2d: eps must be > 0, got " + tensor::to_string(eps));
  weight = register_parameter("weight", Tensor::ones({channels}));
  bias = register_parameter("bias", Tensor::zeros({channels}));
  running_mean = register_buffer("running_mean", Tensor::zeros({channels}));
  running_var = register_buffer("running_var", Tensor::ones({channels}));
}

// M / (M - 1), M the values per channel of a batch of `values` (1 when M = 1).
float BatchNorm2d::unbiased_factor(int64_t values) const {
  const int64_t per_channel = values / weight.shape()[0];
  return per_channel > 1 ? static_cast<float>(per_channel) / static_cast<float>(per_channel - 1) : 1.0f;
}

void BatchNorm2d::require_input(const Var& x) const {
  const int64_t channels = weight.shape()[0];
  if (x.value().dim() != 4 || x.shape()[1] != channels) {
    throw tensor::ShapeError("BatchNorm2d: expects [N, " + std::to_string(channels) + ", H, W], got " +
                             tensor::to_string(x.shape()));
  }
}

// running <- (1 - m) running + m batch (the variance made unbiased by `unbiased`, M / (M - 1))
void BatchNorm2d::update_running_statistics(float unbiased, const Tensor& mean, const Tensor& var) {
  running_mean.copy_(tensor::add(tensor::mul(running_mean, 1.0f - momentum_), tensor::mul(mean, momentum_)));
  running_var.copy_(tensor::add(tensor::mul(running_var, 1.0f - momentum_), tensor::mul(var, momentum_ * unbiased)));
}

// training: the fused op with batch statistics (see autograd::batch_norm2d), and the running statistics
// evaluation: y = x s + (beta - mean s), s = gamma / sqrt(var + eps), from the running statistics
Var BatchNorm2d::forward(const Var& x) {
  require_input(x);
  const int64_t channels = weight.shape()[0];
  if (is_training()) {
    autograd::BatchNorm2dOutput out = autograd::batch_norm2d(x, weight, bias, eps_);
    update_running_statistics(unbiased_factor(x.value().numel()), out.mean, out.var);
    return out.y;
  }
  const Tensor inv_std = tensor::div(Tensor::ones({channels}), tensor::sqrt(tensor::add(running_var, eps_)));
  const Var scale = autograd::masked_mul(weight, inv_std);
  const Var shift = autograd::sub(bias, autograd::masked_mul(scale, running_mean));
  return autograd::add(autograd::mul(x, autograd::reshape(scale, {1, channels, 1, 1})),
                       autograd::reshape(shift, {1, channels, 1, 1}));
}

// training: z = relu(max_pool(batch_norm(x))) fused (see autograd::batch_norm_pool_relu2d), and the
// running statistics; evaluation: the three ops
Var BatchNorm2d::forward_pool_relu(const Var& x) {
  require_input(x);
  if (!is_training()) return autograd::relu(autograd::max_pool2d(forward(x), 2, 2));
  autograd::BatchNorm2dOutput out = autograd::batch_norm_pool_relu2d(x, weight, bias, eps_);
  update_running_statistics(unbiased_factor(x.value().numel()), out.mean, out.var);
  return out.y;
}

// training: z = relu(max_pool(batch_norm(conv(x)))) fused (see autograd::conv_batch_norm_pool_relu2d),
// and the running statistics of the convolution's output; evaluation: the four ops
Var BatchNorm2d::forward_conv_pool_relu(Conv2d& conv, const Var& x) {
  if (!is_training()) return autograd::relu(autograd::max_pool2d(forward(conv(x)), 2, 2));
  if (conv.weight.shape()[0] != weight.shape()[0]) {
    throw tensor::ShapeError("BatchNorm2d: expects [N, " + std::to_string(weight.shape()[0]) + ", H, W], got " +
                             std::to_string(conv.weight.shape()[0]) + " channels from " + conv.describe());
  }
  autograd::BatchNorm2dOutput out =
      autograd::conv_batch_norm_pool_relu2d(x, conv.weight, conv.bias, weight, bias, conv.stride(), conv.padding(), eps_);
  // The statistics are of the convolution's output: four values per pooled one.
  update_running_statistics(unbiased_factor(4 * out.y.value().numel()), out.mean, out.var);
  return out.y;
}

std::string BatchNorm2d::describe() const { return "BatchNorm2d(" + std::to_string(weight.shape()[0]) + ")"; }

MaxPool2d::MaxPool2d(int64_t kernel, int64_t stride) : kernel_(kernel), stride_(stride == 0 ? kernel : stride) {
  require_positive(kernel, "kernel", "MaxPool2d");
  require_positive(stride_, "stride", "MaxPool2d");
}

Var MaxPool2d::forward(const Var& x) { return autograd::max_pool2d(x, kernel_, stride_); }

std::string MaxPool2d::describe() const {
  const auto k = std::to_string(kernel_);
  return "MaxPool2d(" + k + "x" + k + ", stride " + std::to_string(stride_) + ")";
}

}  // namespace nn
