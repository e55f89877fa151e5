/// \file
/// \brief Differentiable convolution and pooling over NCHW image batches.
#pragma once

#include "autograd/variable.h"

#include <cstdint>

namespace autograd {

/// \ingroup autograd
/// \brief Lays each receptive field out as a row (see `tensor::im2col`); the gradient is
/// `tensor::col2im`, which adds each row back onto the pixels it came from.
/// \param x [N, C, H, W] \param kernel_h kh \param kernel_w kw \param stride s \param padding p
/// \returns [N * Ho * Wo, C * kh * kw]
/// \throws tensor::ShapeError, tensor::ValueError on a bad geometry.
Var im2col(const Var& x, int64_t kernel_h, int64_t kernel_w, int64_t stride, int64_t padding);

/// \ingroup autograd
/// \brief 2-D convolution (cross-correlation, as in every deep-learning library) as one matrix product.
///
/// \f[ y[n, o, h, w] = b_o + \sum_{c, i, j} W[o, c, i, j]\; x[n, c,\ h s - p + i,\ w s - p + j] \f]
///
/// A fused primitive, image by image (see `tensor::conv2d` and `tensor::conv2d_backward`):
/// \f[ \frac{\partial L}{\partial W} = \sum_n dY_n \operatorname{cols}(x_n)^\top, \quad
///     \frac{\partial L}{\partial b_o} = \sum_{n,h,w} dY_{n,o,h,w}, \quad
///     \frac{\partial L}{\partial x_n} = \operatorname{col2im}(W^\top dY_n) \f]
/// It equals the composition \f$ \operatorname{im2col}(x)\, W_{[O, C k_h k_w]}^\top + b \f$ reshaped to
/// [N, Ho, Wo, O] and permuted to NCHW, values and gradients (a test checks both), but
/// never builds the batch-sized column matrix (29 MB for the teacher's second layer).
/// \param x [N, C, H, W] \param weight [O, C, kh, kw] \param bias [O], or undefined for none
/// \param stride s \param padding p (zeros on each side)
/// \returns [N, O, Ho, Wo] with \f$ H_o = \lfloor (H + 2p - k_h)/s \rfloor + 1 \f$
/// \throws tensor::ShapeError `conv2d: input [8, 3, 28, 28] has 3 channels but weight [32, 1, 3, 3] expects 1`.
/// \see \ref ch02_teacher
Var conv2d(const Var& x, const Var& weight, const Var& bias, int64_t stride = 1, int64_t padding = 0);

/// \ingroup autograd
/// \brief 2-D max pooling (see `tensor::max_pool2d`); the gradient flows only to each window's maximum.
/// \param x [N, C, H, W] \param kernel window k \param stride step s
/// \returns [N, C, Ho, Wo] \throws tensor::ShapeError, tensor::ValueError on a bad geometry.
/// \see \ref ch02_teacher
Var max_pool2d(const Var& x, int64_t kernel, int64_t stride);

}  // namespace autograd
