/// \file
/// \brief Differentiable batch normalisation over NCHW image batches.
#pragma once

#include "autograd/variable.h"

#include <cstdint>

namespace autograd {

/// \ingroup autograd
/// \brief What `batch_norm2d` returns: the normalised batch and the statistics it used.
struct BatchNorm2dOutput {
  Var y;        ///< [N, C, H, W]
  Tensor mean;  ///< [C], the batch mean of each channel (a constant: for running statistics)
  Tensor var;   ///< [C], the biased batch variance of each channel (likewise)
};

/// \ingroup autograd
/// \brief Batch normalisation with the batch's own statistics (training mode; Ioffe & Szegedy 2015):
/// \f[ y_{nchw} = \gamma_c \frac{x_{nchw} - \mu_c}{\sqrt{\sigma^2_c + \epsilon}} + \beta_c, \f]
/// \f$ \mu_c, \sigma^2_c \f$ the mean and biased variance of channel c over N, H and W.
///
/// A fused primitive (see `tensor::batch_norm2d` and `tensor::batch_norm2d_backward`): the
/// gradient flows through the batch statistics too. It equals the composition of `mean`,
/// `sub`, `mul`, `exp` and `log` written out in the tests, values and gradients, in two
/// passes over the batch instead of about fifteen.
/// \param x [N, C, H, W] \param gamma [C] \param beta [C] \param eps \f$ \epsilon > 0 \f$
/// \returns y [N, C, H, W], and the batch mean and variance [C]
/// \throws tensor::ShapeError `batch_norm2d: input [8, 3, 5, 5] has 3 channels but gamma is [4]`;
///         tensor::ValueError when eps <= 0.
/// \see \ref ch02_teacher
BatchNorm2dOutput batch_norm2d(const Var& x, const Var& gamma, const Var& beta, float eps = 1e-5f);

/// \ingroup autograd
/// \brief One BatchNorm-pool-ReLU block in training mode, fused:
/// \f[ z = \operatorname{relu}\big(\operatorname{max\_pool}_{2 \times 2}(\gamma \hat x + \beta)\big), \f]
/// the value and gradient of `relu(max_pool2d(batch_norm2d(x, gamma, beta).y, 2, 2))`
/// (see `tensor::batch_norm_pool_relu2d` and its backward): the value bit for bit, the gradients
/// to float rounding (the same sums in another order; a test checks both against the composed
/// ops). The full-size normalised batch and its gradient are never written to memory.
/// \param x [N, C, H, W], H and W even \param gamma [C] \param beta [C] \param eps \f$ \epsilon > 0 \f$
/// \returns z [N, C, H/2, W/2], and the batch mean and variance [C] (for running statistics)
/// \throws tensor::ShapeError `batch_norm_pool_relu2d: input [8, 3, 5, 5] has 3 channels but gamma is [4]`,
///         or on an odd H or W; tensor::ValueError when eps <= 0.
/// \see \ref ch02_teacher
BatchNorm2dOutput batch_norm_pool_relu2d(const Var& x, const Var& gamma, const Var& beta, float eps = 1e-5f);

/// \ingroup autograd
/// \brief A convolution followed by a BatchNorm-pool-ReLU block in training mode, fused:
/// \f[ z = \operatorname{relu}\big(\operatorname{max\_pool}_{2 \times 2}(\operatorname{batch\_norm}(\operatorname{conv2d}(x, W, b); \gamma, \beta))\big), \f]
/// the values and gradients of `batch_norm_pool_relu2d(conv2d(x, weight, bias, stride, padding), gamma, beta)`
/// bit for bit (a test checks). The convolution's backward pass makes each image's output
/// gradient just before it uses it (`tensor::batch_norm_pool_relu2d_input_grad_image`), so the
/// full-size gradient of the convolution's output is never written to memory or read back.
/// \param x [N, C, H, W] \param weight [O, C, kh, kw] \param bias [O], or undefined for none
/// \param gamma [O] \param beta [O] \param stride s \param padding p \param eps \f$ \epsilon > 0 \f$
/// \returns z [N, O, Ho/2, Wo/2] (Ho and Wo, the convolution's output sides, must be even), and the
///          batch mean and variance [O] of the convolution's output
/// \throws tensor::ShapeError and tensor::ValueError as `conv2d` and `batch_norm_pool_relu2d`.
/// \see \ref ch02_teacher
BatchNorm2dOutput conv_batch_norm_pool_relu2d(const Var& x, const Var& weight, const Var& bias, const Var& gamma,
                                              const Var& beta, int64_t stride, int64_t padding, float eps = 1e-5f);

}  // namespace autograd
