/// \file
/// \brief Image kernels for convolution and pooling: im2col / col2im and 2-D max pooling.
///
/// A convolution becomes one matrix product: `im2col` lays every receptive field out as a
/// row, so \f$ Y = \operatorname{im2col}(X)\, W^\top \f$ (see `autograd::conv2d`).
/// Images are NCHW: [N batch, C channels, H height, W width].
#pragma once

#include "tensor/tensor.h"

#include <cstdint>
#include <functional>
#include <vector>

namespace tensor {

/// \ingroup tensor
/// \brief Output size of a sliding window along one axis: \f$ \lfloor (n + 2p - k) / s \rfloor + 1 \f$.
/// \param size input size n \param kernel window k \param stride step s \param padding zeros p on each side
/// \param op the calling operation, which starts the error message
/// \throws ValueError when the window does not fit or an argument is not positive.
int64_t conv_output_size(int64_t size, int64_t kernel, int64_t stride, int64_t padding,
                         const char* op = "conv_output_size");

/// \ingroup tensor
/// \brief Lays each kh x kw receptive field of a zero-padded image out as one row.
///
/// \f[ \text{cols}[(n, o_h, o_w),\ (c, i, j)] = x[n, c,\ o_h s - p + i,\ o_w s - p + j] \f]
/// (0 where the index falls in the padding).
/// \param x [N, C, H, W] \param kernel_h kh \param kernel_w kw \param stride s \param padding p
/// \returns [N * Ho * Wo, C * kh * kw], rows in (n, o_h, o_w) order
/// \throws ShapeError when x is not rank 4; ValueError as `conv_output_size`.
Tensor im2col(const Tensor& x, int64_t kernel_h, int64_t kernel_w, int64_t stride, int64_t padding);

/// \ingroup tensor
/// \brief The adjoint of `im2col`: adds every row back onto the pixels it was read from.
///
/// Overlapping windows accumulate, so this is the gradient of `im2col` with respect to x.
/// \param cols [N * Ho * Wo, C * kh * kw] \param image_shape [N, C, H, W] of the image
/// \param kernel_h kh \param kernel_w kw \param stride s \param padding p
/// \returns [N, C, H, W]
/// \throws ShapeError when cols does not match the geometry.
Tensor col2im(const Tensor& cols, const Shape& image_shape, int64_t kernel_h, int64_t kernel_w, int64_t stride,
              int64_t padding);

/// \ingroup tensor
/// \brief 2-D convolution (cross-correlation) of an image batch, image by image.
///
/// \f[ y[n, o] = b_o + W_{[O,\ C k_h k_w]} \; \operatorname{cols}(x_n)_{[C k_h k_w,\ H_o W_o]} \f]
///
/// Each image's receptive fields are laid out in a buffer small enough to stay in cache,
/// and multiplied by the weights in one `cblas_sgemm` whose result is already that
/// image's NCHW output; images are shared out among the threads (OpenBLAS runs single-
/// threaded inside them). Equal to the composition through `im2col`, `matmul` and a
/// permute, which the tests check, without its batch-sized column matrix or the permute copy.
/// \param x [N, C, H, W] \param weight [O, C, kh, kw] \param bias [O], or undefined for none
/// \param stride s \param padding p
/// \returns [N, O, Ho, Wo]
/// \throws ShapeError `conv2d: input [8, 3, 28, 28] has 3 channels but weight [32, 1, 3, 3] expects 1`
///         and the like; ValueError on a window that does not fit.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride, int64_t padding);

/// \ingroup tensor
/// \brief The gradients of `conv2d` (an undefined tensor for those not asked for).
struct Conv2dGrads {
  Tensor input;   ///< [N, C, H, W]: \f$ \operatorname{col2im}(W^\top dY_n) \f$ per image
  Tensor weight;  ///< [O, C, kh, kw]: \f$ \sum_n dY_n \operatorname{cols}(x_n)^\top \f$
  Tensor bias;    ///< [O]: \f$ \sum_{n, h, w} dY \f$
};

/// \ingroup tensor
/// \brief The backward pass of `conv2d`, image by image like the forward pass.
///
/// Per-thread partial sums of the weight and bias gradients are added in thread order, so
/// a given thread count always gives the same bits.
/// \param dy [N, O, Ho, Wo] \param x [N, C, H, W] the forward input \param weight [O, C, kh, kw]
/// \param stride s \param padding p \param need_input compute the input gradient
/// \param need_weight compute the weight gradient \param need_bias compute the bias gradient
/// \returns the requested gradients
/// \throws ShapeError when dy does not match the forward geometry.
Conv2dGrads conv2d_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, int64_t stride, int64_t padding,
                            bool need_input, bool need_weight, bool need_bias);

/// \ingroup tensor
/// \brief Image n's output gradient, written into `dy` ([O, Ho, Wo], O Ho Wo floats): for a
/// `conv2d_backward` whose gradient is made image by image and never held for the whole batch.
/// Called from several threads at once, each with its own buffer.
using OutputGradient = std::function<void(int64_t n, float* dy)>;

/// \ingroup tensor
/// \brief `conv2d_backward` with the output gradient made image by image, just before it is
/// used (`batch_norm_pool_relu2d_input_grad_image` for a convolution followed by a fused
/// BatchNorm-pool-ReLU block): the same arithmetic in the same order, so the same bits as with
/// the gradient given as a tensor, without writing the batch's gradient to memory and reading
/// it back.
/// \param dy makes image n's [O, Ho, Wo] gradient \param x [N, C, H, W] the forward input
/// \param weight [O, C, kh, kw] \param stride s \param padding p \param need_input compute the input gradient
/// \param need_weight compute the weight gradient \param need_bias compute the bias gradient
/// \returns the requested gradients
/// \throws ShapeError when the weight does not match x.
Conv2dGrads conv2d_backward(const OutputGradient& dy, const Tensor& x, const Tensor& weight, int64_t stride,
                            int64_t padding, bool need_input, bool need_weight, bool need_bias);

/// \ingroup tensor
/// \brief The result of `max_pool2d`: the maxima and where in its window each came from.
///
/// A window's position is one byte, \f$ i k + j \f$ for row i and column j of a k x k window,
/// not a flat index into the image: an eighth of the memory, written and read once per step.
struct MaxPool2dResult {
  Tensor values;               ///< [N, C, Ho, Wo]
  std::vector<uint8_t> where;  ///< per output element, \f$ i k + j \f$ of its window's maximum
};

/// \ingroup tensor
/// \brief Largest window `max_pool2d` takes: 16 x 16, so that a position fits in one byte.
inline constexpr int64_t kMaxPoolKernelMax = 16;

/// \ingroup tensor
/// \brief 2-D max pooling over k x k windows with stride s (no padding).
///
/// \f[ y[n, c, o_h, o_w] = \max_{0 \le i, j < k} x[n, c, o_h s + i, o_w s + j] \f]
/// On ties the first maximum in row-major window order wins. NaN is not propagated (a
/// NaN never compares greater), unlike `tensor::max`. The 2 x 2, stride-2 pooling of every
/// CNN in the book takes a loop of its own over pairs of rows; any other window the
/// general loop, and a test holds both to the definition above.
/// \param x [N, C, H, W] \param kernel k, at most `kMaxPoolKernelMax` \param stride s
/// \returns the maxima [N, C, Ho, Wo] and their positions
/// \throws ShapeError when x is not rank 4; ValueError as `conv_output_size`, or when k > 16.
MaxPool2dResult max_pool2d(const Tensor& x, int64_t kernel, int64_t stride);

/// \ingroup tensor
/// \brief The gradient of `max_pool2d`: each output gradient goes to the position of its maximum.
///
/// \f[ \frac{\partial L}{\partial x[n, c, h, w]} = \sum_{(o_h, o_w):\ \text{its maximum is at } (h, w)}
///     \frac{\partial L}{\partial y[n, c, o_h, o_w]} \f]
/// The book's 2 x 2, stride-2 windows, when they tile the image (H and W even), write every
/// input pixel once, with no zeroing pass; other windows zero each plane and add.
/// \param dy [N, C, Ho, Wo] \param where from `max_pool2d` \param image_shape [N, C, H, W] of its input
/// \param kernel k \param stride s, as given to `max_pool2d`
/// \returns [N, C, H, W]
/// \throws ShapeError when dy does not match the pooling of image_shape, `where` has another
/// size, or a recorded position lies outside its k x k window.
Tensor max_pool2d_backward(const Tensor& dy, const std::vector<uint8_t>& where, const Shape& image_shape,
                           int64_t kernel, int64_t stride);

}  // namespace tensor
