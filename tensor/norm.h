/// \file
/// \brief Batch normalisation kernels over NCHW image batches: per-channel statistics,
/// the normalisation, and its gradient.
#pragma once

#include "tensor/tensor.h"

namespace tensor {

/// \ingroup tensor
/// \brief Per-channel statistics of a batch, and the normalised batch.
struct BatchNorm2dResult {
  Tensor y;        ///< [N, C, H, W]: \f$ \gamma_c \hat x + \beta_c \f$
  Tensor mean;     ///< [C]: \f$ \mu_c \f$, the mean over N, H and W
  Tensor var;      ///< [C]: \f$ \sigma^2_c \f$, the biased variance over N, H and W
  Tensor inv_std;  ///< [C]: \f$ 1 / \sqrt{\sigma^2_c + \epsilon} \f$
};

/// \ingroup tensor
/// \brief Normalises each channel of a batch by its own mean and variance, then scales and shifts it.
///
/// With \f$ M = N H W \f$ values per channel,
/// \f[ \mu_c = \frac1M \sum_{n,h,w} x_{nchw}, \quad
///     \sigma^2_c = \frac1M \sum_{n,h,w} (x_{nchw} - \mu_c)^2, \quad
///     y_{nchw} = \gamma_c \frac{x_{nchw} - \mu_c}{\sqrt{\sigma^2_c + \epsilon}} + \beta_c. \f]
/// Each plane is summed in float, the planes in double, in two passes (mean, then squared
/// deviations), so a channel whose values sit far from 0 keeps its variance. A plane's sum
/// has one order on every compiler and CPU: four lanes, lane l adding the values
/// k = l, l + 4, ... of the first HW - HW mod 4, the last HW mod 4 added to lane 0, then
/// (((lane 0 + 0) + lane 1) + lane 2) + lane 3; four planes are summed side by side (their
/// chains of additions are independent), and their sums added in image order. The normalised
/// \f$ \hat x \f$ is not kept: the backward pass recomputes it from x and the statistics, the
/// same float operations giving the same bits, and the forward pass writes one tensor, not two.
/// \param x [N, C, H, W] \param gamma [C] \param beta [C] \param eps \f$ \epsilon > 0 \f$
/// \returns y and the statistics
/// \throws ShapeError `batch_norm2d: input [8, 3, 5, 5] has 3 channels but gamma is [4]`; ValueError when eps <= 0.
BatchNorm2dResult batch_norm2d(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps);

/// \ingroup tensor
/// \brief The gradients of `batch_norm2d` (batch statistics, as in training).
struct BatchNorm2dGrads {
  Tensor input;  ///< [N, C, H, W]
  Tensor gamma;  ///< [C]
  Tensor beta;   ///< [C]
};

/// \ingroup tensor
/// \brief The backward pass of `batch_norm2d`, through the batch mean and variance:
/// \f[ \frac{\partial L}{\partial \beta_c} = \sum dy, \quad
///     \frac{\partial L}{\partial \gamma_c} = \sum dy\, \hat x, \quad
///     \frac{\partial L}{\partial x} = \frac{\gamma_c}{M \sqrt{\sigma^2_c + \epsilon}}
///       \Big( M\, dy - \frac{\partial L}{\partial \beta_c} - \hat x\, \frac{\partial L}{\partial \gamma_c} \Big). \f]
/// with \f$ \hat x = (x - \mu_c) / \sqrt{\sigma^2_c + \epsilon} \f$ recomputed as the forward pass computed it.
/// The two sums over each channel are taken plane by plane in the order of `batch_norm2d`.
/// \param dy [N, C, H, W] \param x [N, C, H, W] the forward input
/// \param mean [C] \param gamma [C] \param inv_std [C] from the forward pass
/// \returns the three gradients
/// \throws ShapeError when the shapes do not match.
BatchNorm2dGrads batch_norm2d_backward(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& gamma,
                                       const Tensor& inv_std);

}  // namespace tensor
