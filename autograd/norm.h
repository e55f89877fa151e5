/// \file
/// \brief Differentiable batch normalisation over NCHW image batches.
#pragma once

#include "autograd/variable.h"

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

}  // namespace autograd
