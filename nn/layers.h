/// \file
/// \brief The layers: Linear, ReLU, Dropout, Flatten, Conv2d, BatchNorm2d, MaxPool2d.
#pragma once

#include "nn/module.h"
#include "tensor/random.h"

#include <cstdint>

namespace nn {

/// \ingroup modules
/// \brief A fully connected layer: \f$ y = x W^\top + b \f$.
///
/// **Initialisation** (Kaiming He et al., 2015, "Delving deep into rectifiers"): weights
/// drawn from \f$ \mathcal{N}(0,\ 2 / \text{in}) \f$, biases 0. With ReLU after each layer
/// this keeps the variance of the activations roughly constant from layer to layer, so
/// deep stacks neither explode nor vanish at the start of training.
/// \see \ref ch05_student
class Linear : public Module {
 public:
  /// \brief A layer from `in` features to `out`, initialised from `gen`.
  /// \throws tensor::ValueError when a size is not positive.
  Linear(int64_t in, int64_t out, tensor::Generator& gen);
  /// \brief \f$ y = x W^\top + b \f$. \param x [N, in] \returns [N, out]
  /// \throws tensor::ShapeError `linear: input [32, 100] does not match weight [10, 784]` on a wrong width.
  Var forward(const Var& x) override;
  std::string describe() const override;  ///< `Linear(784 -> 100)`

  /// [out, in]. Registered as "weight": change its values in place (`weight.value().copy_(w)`);
  /// assigning a new `Var` would leave the registered parameter behind.
  Var weight;
  Var bias;  ///< [out], registered as "bias" (same rule)
};

/// \ingroup modules
/// \brief \f$ y = \max(x, 0) \f$ elementwise.
class ReLU : public Module {
 public:
  /// \brief \param x [...] \returns [...]
  Var forward(const Var& x) override;
  std::string describe() const override;  ///< `ReLU`
};

/// \ingroup modules
/// \brief Inverted dropout in training mode (see `autograd::dropout`), the identity in evaluation mode.
/// \see \ref ch02_teacher
class Dropout : public Module {
 public:
  /// \brief Drops with probability p; its masks come from a generator seeded from `gen`.
  /// \throws tensor::ValueError when p is outside [0, 1).
  Dropout(float p, tensor::Generator& gen);
  /// \brief \param x [...] \returns [...]
  Var forward(const Var& x) override;
  std::string describe() const override;  ///< `Dropout(p=0.5)`

 private:
  float p_;
  tensor::Generator gen_;
};

/// \ingroup modules
/// \brief Flattens everything but the batch axis: [N, d1, d2, ...] to [N, d1 * d2 * ...].
class Flatten : public Module {
 public:
  /// \brief \param x [N, ...] \returns [N, D] \throws tensor::ShapeError on a scalar.
  Var forward(const Var& x) override;
  std::string describe() const override;  ///< `Flatten`
};

/// \ingroup modules
/// \brief A 2-D convolution layer over NCHW images (see `autograd::conv2d`), Kaiming-initialised
/// like `Linear` with fan-in \f$ C k_h k_w \f$.
/// \see \ref ch02_teacher
class Conv2d : public Module {
 public:
  /// \brief `in` to `out` channels with a square `kernel`, `stride` and zero `padding`.
  /// \throws tensor::ValueError when a size is not positive or padding is negative.
  Conv2d(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding, tensor::Generator& gen);
  /// \brief \param x [N, in, H, W] \returns [N, out, Ho, Wo]
  Var forward(const Var& x) override;
  std::string describe() const override;  ///< `Conv2d(1 -> 32, 3x3, stride 1, padding 1)`

  Var weight;  ///< [out, in, kernel, kernel]; change values in place, as for `Linear`
  Var bias;    ///< [out]
  int64_t stride() const { return stride_; }    ///< the step between windows
  int64_t padding() const { return padding_; }  ///< zeros on each side

 private:
  int64_t stride_, padding_;
};

/// \ingroup modules
/// \brief Batch normalisation of each channel of an NCHW batch (Ioffe & Szegedy 2015).
///
/// In training mode it normalises with the batch's own statistics (see `autograd::batch_norm2d`)
/// and updates running estimates of them,
/// \f[ \hat\mu \leftarrow (1 - m)\, \hat\mu + m\, \mu_B, \qquad
///     \hat\sigma^2 \leftarrow (1 - m)\, \hat\sigma^2 + m\, \tfrac{M}{M - 1} \sigma^2_B \f]
/// (M values per channel; the unbiased variance, as PyTorch). In evaluation mode it uses the
/// running estimates, so a prediction does not depend on the other images of its batch:
/// \f[ y = \gamma \frac{x - \hat\mu}{\sqrt{\hat\sigma^2 + \epsilon}} + \beta. \f]
/// The running statistics are buffers: checkpoints save and load them with the parameters.
/// \see \ref ch02_teacher
class BatchNorm2d : public Module {
 public:
  /// \brief For `channels` channels; \f$ \gamma = 1, \beta = 0, \hat\mu = 0, \hat\sigma^2 = 1 \f$ at first.
  /// \throws tensor::ValueError when channels < 1, momentum is outside (0, 1] or eps <= 0.
  explicit BatchNorm2d(int64_t channels, float momentum = 0.1f, float eps = 1e-5f);
  /// \brief \param x [N, channels, H, W] \returns [N, channels, H, W]
  /// \throws tensor::ShapeError when x is not NCHW with `channels` channels.
  Var forward(const Var& x) override;
  std::string describe() const override;  ///< `BatchNorm2d(32)`
  /// \brief `relu(max_pool2d(forward(x), 2, 2))` as one fused op (`autograd::batch_norm_pool_relu2d`)
  /// in training mode, the running statistics updated as by `forward`; the three modules one after
  /// the other in evaluation mode. `Sequential` calls it for a BatchNorm2d followed by a 2 x 2
  /// MaxPool2d and a ReLU.
  /// \param x [N, channels, H, W], H and W even \returns [N, channels, H/2, W/2]
  /// \throws tensor::ShapeError when x is not NCHW with `channels` channels or H or W is odd.
  Var forward_pool_relu(const Var& x);
  /// \brief `relu(max_pool2d(forward(conv(x)), 2, 2))` as one fused op
  /// (`autograd::conv_batch_norm_pool_relu2d`) in training mode, the running statistics updated as
  /// by `forward`; the modules one after the other in evaluation mode. `Sequential` calls it for a
  /// Conv2d followed by this BatchNorm2d, a 2 x 2 MaxPool2d and a ReLU.
  /// \param conv the convolution before it \param x [N, C, H, W], the convolution's input
  /// \returns [N, channels, Ho/2, Wo/2] \throws tensor::ShapeError as the modules would, or when Ho or Wo is odd.
  Var forward_conv_pool_relu(Conv2d& conv, const Var& x);
  Var weight;           ///< [C], \f$ \gamma \f$
  Var bias;             ///< [C], \f$ \beta \f$
  Tensor running_mean;  ///< [C], \f$ \hat\mu \f$ (buffer "running_mean")
  Tensor running_var;   ///< [C], \f$ \hat\sigma^2 \f$ (buffer "running_var")
 private:
  void require_input(const Var& x) const;
  float unbiased_factor(int64_t values) const;
  void update_running_statistics(float unbiased, const Tensor& mean, const Tensor& var);
  float momentum_, eps_;
};

/// \ingroup modules
/// \brief 2-D max pooling (see `autograd::max_pool2d`).
/// \see \ref ch02_teacher
class MaxPool2d : public Module {
 public:
  /// \brief Windows of `kernel` x `kernel`, moved by `stride` (by default, the kernel).
  /// \throws tensor::ValueError when kernel or stride is not positive.
  explicit MaxPool2d(int64_t kernel, int64_t stride = 0);
  /// \brief \param x [N, C, H, W] \returns [N, C, Ho, Wo]
  Var forward(const Var& x) override;
  std::string describe() const override;  ///< `MaxPool2d(2x2, stride 2)`
  int64_t kernel() const { return kernel_; }  ///< the window's side
  int64_t stride() const { return stride_; }  ///< the step between windows

 private:
  int64_t kernel_, stride_;
};

}  // namespace nn
