/// \file
/// \brief Batch normalisation kernels over NCHW image batches: per-channel statistics,
/// the normalisation, and its gradient.
#pragma once

#include "tensor/tensor.h"

#include <cstdint>
#include <vector>

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

/// \ingroup tensor
/// \brief What `batch_norm_pool_relu2d` returns: the block's output and what its gradient needs.
struct BatchNormPoolRelu2dResult {
  Tensor y;                    ///< [N, C, H/2, W/2]: \f$ \operatorname{relu}(\max_{2 \times 2} (\gamma_c \hat x + \beta_c)) \f$
  std::vector<uint8_t> where;  ///< [N C (H/2) (W/2)]: each window's maximum, 0-3 in row-major order (as `max_pool2d`)
  Tensor x_hat_at_max;         ///< [N, C, H/2, W/2]: \f$ \hat x \f$ at each window's maximum
  Tensor mean;                 ///< [C]: \f$ \mu_c \f$, as `batch_norm2d`
  Tensor var;                  ///< [C]: \f$ \sigma^2_c \f$, biased, as `batch_norm2d`
  Tensor inv_std;              ///< [C]: \f$ 1 / \sqrt{\sigma^2_c + \epsilon} \f$
};

/// \ingroup tensor
/// \brief Batch normalisation (batch statistics), 2 x 2 max pooling at stride 2, then ReLU, in one
/// pass over the batch after its statistics:
/// \f[ z_{n,c,i,j} = \max\Big(0,\ \max_{a, b \in \{0, 1\}} \gamma_c \hat x_{n,c,2i+a,2j+b} + \beta_c\Big),
///     \quad \hat x = \frac{x - \mu_c}{\sqrt{\sigma^2_c + \epsilon}}. \f]
/// The statistics are `batch_norm2d`'s (the same sums in the same order), each plane of
/// \f$ \gamma \hat x + \beta \f$ is computed by the same expression into a buffer that stays in the
/// cache and pooled from there by `max_pool2d`'s kernel: the values, the maxima's positions and
/// so z are bit for bit those of `relu(max_pool2d(batch_norm2d(x)))`, but the full-size
/// normalised batch is never written to memory nor read back (the composed ops write and read it
/// twice). For the backward pass it keeps each maximum's position and \f$ \hat x \f$ there.
/// \param x [N, C, H, W], H and W even \param gamma [C] \param beta [C] \param eps \f$ \epsilon > 0 \f$
/// \returns z [N, C, H/2, W/2] and what the gradient needs
/// \throws ShapeError `batch_norm_pool_relu2d: input [8, 3, 5, 5] has 3 channels but gamma is [4]`, or on
///         an odd H or W; ValueError when eps <= 0.
BatchNormPoolRelu2dResult batch_norm_pool_relu2d(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps);

/// \ingroup tensor
/// \brief The backward pass of `batch_norm_pool_relu2d`. The gradient reaching the normalised batch,
/// \f$ dy \f$, is \f$ dz \f$ at each window's maximum where \f$ z > 0 \f$ and 0 everywhere else,
/// so the sums of `batch_norm2d_backward` run over the maxima alone,
/// \f[ \frac{\partial L}{\partial \beta_c} = \sum_{z > 0} dz, \quad
///     \frac{\partial L}{\partial \gamma_c} = \sum_{z > 0} dz\, \hat x_{\max}, \f]
/// each plane in float (the order of `batch_norm2d`, over the quarter-size plane), the planes in
/// double; then every pixel gets
/// \f$ \frac{\partial L}{\partial x} = \frac{\gamma_c}{M \sqrt{\sigma^2_c + \epsilon}}
///     ( M\, dy - \frac{\partial L}{\partial \beta_c} - \hat x\, \frac{\partial L}{\partial \gamma_c} ) \f$,
/// with dy unpooled into a plane-sized buffer. The sums add the same terms as the composed ops'
/// backward passes but in another order: the gradients agree to float rounding (a test checks).
/// \param dz [N, C, H/2, W/2] \param x [N, C, H, W] the forward input \param gamma [C]
/// \param forward what `batch_norm_pool_relu2d` returned for x
/// \returns the gradients of x [N, C, H, W], gamma [C] and beta [C]
/// \throws ShapeError when the shapes do not match.
BatchNorm2dGrads batch_norm_pool_relu2d_backward(const Tensor& dz, const Tensor& x, const Tensor& gamma,
                                                 const BatchNormPoolRelu2dResult& forward);

/// \ingroup tensor
/// \brief The first half of `batch_norm_pool_relu2d_backward`: what the input gradient of every
/// image needs from the whole batch.
struct BatchNormPoolRelu2dSums {
  Tensor at_max;  ///< [N, C, H/2, W/2]: \f$ dz \f$ where \f$ z > 0 \f$, else 0 (the gradient at each maximum)
  Tensor gamma;   ///< [C]: \f$ \partial L / \partial \gamma_c \f$
  Tensor beta;    ///< [C]: \f$ \partial L / \partial \beta_c \f$
};

/// \ingroup tensor
/// \brief The gamma and beta gradients of `batch_norm_pool_relu2d_backward`, and the gradient at
/// each maximum, from the quarter-size tensors alone.
/// \param dz [N, C, H/2, W/2] \param x [N, C, H, W] the forward input \param forward what the forward pass returned
/// \throws ShapeError when the shapes do not match.
BatchNormPoolRelu2dSums batch_norm_pool_relu2d_sums(const Tensor& dz, const Tensor& x,
                                                   const BatchNormPoolRelu2dResult& forward);

/// \ingroup tensor
/// \brief The second half: the input gradient of one image, [C, H, W] into `dx`, as
/// `batch_norm_pool_relu2d_backward` computes it (so the same bits). Lets a convolution before
/// the block make its output gradient image by image (`conv2d_backward` with an
/// `OutputGradient`) instead of reading the batch's from memory. Single-threaded, for a caller's threads.
/// \param sums from `batch_norm_pool_relu2d_sums` \param x [N, C, H, W] \param gamma [C]
/// \param forward what the forward pass returned \param image n, in [0, N) \param dx C H W floats
void batch_norm_pool_relu2d_input_grad_image(const BatchNormPoolRelu2dSums& sums, const Tensor& x, const Tensor& gamma,
                                             const BatchNormPoolRelu2dResult& forward, int64_t image, float* dx);

}  // namespace tensor
