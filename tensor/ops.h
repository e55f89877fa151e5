/// \file
/// \brief Elementwise kernels with NumPy broadcasting, reductions, indexing, printing.
///
/// Every function returns a new contiguous tensor and leaves its inputs untouched,
/// except the in-place ones, whose names end in `_` (PyTorch's convention), and
/// `sum_to` when there is nothing to sum (it then returns its input itself).
/// Loops over at least `kParallelMinElements` elements use every thread (OpenMP).
#pragma once

#include "tensor/tensor.h"

#include <string>
#include <vector>

namespace tensor {

/// \name Binary elementwise, with broadcasting
/// Shapes broadcast by NumPy's rules (see `broadcast_shapes`): `[N, C] + [C]` adds a row
/// to every row. Each throws `ShapeError` (`add: shapes [32, 10] and [3] do not broadcast`).
///@{


/// \ingroup tensor
/// \brief \f$ y = a + b \f$ elementwise. \param a [...] \param b [...] broadcastable \returns the broadcast shape
Tensor add(const Tensor& a, const Tensor& b);
/// \ingroup tensor
/// \brief \f$ y = a - b \f$ elementwise. \param a [...] \param b [...] broadcastable \returns the broadcast shape
Tensor sub(const Tensor& a, const Tensor& b);
/// \ingroup tensor
/// \brief \f$ y = a \cdot b \f$ elementwise. \param a [...] \param b [...] broadcastable \returns the broadcast shape
Tensor mul(const Tensor& a, const Tensor& b);
/// \ingroup tensor
/// \brief \f$ y = a / b \f$ elementwise (IEEE: x/0 is ±inf). \param a [...] \param b [...] broadcastable
/// \returns the broadcast shape
Tensor div(const Tensor& a, const Tensor& b);
/// \ingroup tensor
/// \brief \f$ y = \max(a, b) \f$ elementwise. \param a [...] \param b [...] broadcastable \returns the broadcast shape
Tensor maximum(const Tensor& a, const Tensor& b);
/// \ingroup tensor
/// \brief \f$ y = w \cdot x \f$ elementwise, except that \f$ y = 0 \f$ wherever \f$ w = 0 \f$, even for an
/// infinite or NaN x: the \f$ 0 \log 0 = 0 \f$ convention of cross-entropies.
/// \param x [...] \param w [...] broadcastable \returns the broadcast shape \throws ShapeError
Tensor masked_mul(const Tensor& x, const Tensor& w);
///@}

/// \name Scalar forms
///@{

/// \ingroup tensor
/// \brief \f$ y = x + s \f$. \param x [...] \param s the constant \returns [...]
Tensor add(const Tensor& x, float s);
/// \ingroup tensor
/// \brief \f$ y = x - s \f$. \param x [...] \param s the constant \returns [...]
Tensor sub(const Tensor& x, float s);
/// \ingroup tensor
/// \brief \f$ y = x \cdot s \f$. \param x [...] \param s the constant \returns [...]
Tensor mul(const Tensor& x, float s);
/// \ingroup tensor
/// \brief \f$ y = x / s \f$. \param x [...] \param s the constant \returns [...]
Tensor div(const Tensor& x, float s);
/// \ingroup tensor
/// \brief \f$ y = \max(x, s) \f$. \param x [...] \param s the constant \returns [...]
Tensor maximum(const Tensor& x, float s);
///@}

/// \name Comparison masks: 1 where the relation holds, else 0
/// Tensor-tensor forms broadcast and throw `ShapeError` like `add`.
///@{

/// \ingroup tensor
/// \brief \f$ y = [a = b] \f$ \returns the broadcast shape, values 0 or 1
Tensor eq(const Tensor& a, const Tensor& b);
/// \ingroup tensor
/// \brief \f$ y = [a > b] \f$ \returns the broadcast shape, values 0 or 1
Tensor gt(const Tensor& a, const Tensor& b);
/// \ingroup tensor
/// \brief \f$ y = [a < b] \f$ \returns the broadcast shape, values 0 or 1
Tensor lt(const Tensor& a, const Tensor& b);
/// \ingroup tensor
/// \brief \f$ y = [x = s] \f$ \returns [...] of 0 or 1
Tensor eq(const Tensor& x, float s);
/// \ingroup tensor
/// \brief \f$ y = [x > s] \f$ \returns [...] of 0 or 1
Tensor gt(const Tensor& x, float s);
/// \ingroup tensor
/// \brief \f$ y = [x < s] \f$ \returns [...] of 0 or 1
Tensor lt(const Tensor& x, float s);
///@}

/// \name Unary elementwise
///@{

/// \ingroup tensor
/// \brief \f$ y = -x \f$. \param x [...] \returns [...]
Tensor neg(const Tensor& x);
/// \ingroup tensor
/// \brief \f$ y = e^x \f$. \param x [...] \returns [...]
Tensor exp(const Tensor& x);
/// \ingroup tensor
/// \brief \f$ y = \ln x \f$ (\f$-\infty\f$ at 0, NaN below). \param x [...] \returns [...]
Tensor log(const Tensor& x);
/// \ingroup tensor
/// \brief \f$ y = \sqrt{x} \f$. \param x [...] \returns [...]
Tensor sqrt(const Tensor& x);
/// \ingroup tensor
/// \brief \f$ y = \max(x, 0) \f$. \param x [...] \returns [...]
Tensor relu(const Tensor& x);
/// \ingroup tensor
/// \brief The gradient of ReLU in one pass: \f$ dx = dy \cdot [y > 0] \f$, where y = relu(x).
///
/// Equal to `mul(dy, gt(y, 0))` without the mask's intermediate tensor.
/// \param dy [...] \param y [...] the same shape \returns [...]
/// \throws ShapeError `relu_backward: shapes [2, 3] and [3, 2] differ`.
Tensor relu_backward(const Tensor& dy, const Tensor& y);
///@}

/// \name In place
///@{

/// \ingroup tensor
/// \brief \f$ y \mathrel{+}= x \f$, with `x` broadcast to y's shape; y may be a strided view,
/// and x may share its storage (it is then copied aside first).
/// \throws ShapeError `add_: cannot broadcast [3] to [2, 2]`.
Tensor& add_(Tensor& y, const Tensor& x);
///@}

/// \name Reductions
/// Along one axis (negative counts from the end) with `keepdim` keeping it as size 1,
/// or over all elements to a rank-0 tensor. An out-of-range axis throws `IndexError`.
///@{

/// \ingroup tensor
/// \brief \f$ \sum_i x_i \f$ over every element, accumulated in double. \returns []
Tensor sum(const Tensor& x);
/// \ingroup tensor
/// \brief \f$ y = \sum_j x_{\dots j \dots} \f$ along `axis`.
/// \param x [..., n, ...] \param axis the axis to reduce (negative counts from the end) \param keepdim keep it as size 1
/// \returns [..., 1, ...] or [..., ...]
Tensor sum(const Tensor& x, int64_t axis, bool keepdim = false);
/// \ingroup tensor
/// \brief \f$ \frac{1}{n}\sum_i x_i \f$ over every element. \returns []
Tensor mean(const Tensor& x);
/// \ingroup tensor
/// \brief \f$ y = \frac{1}{n}\sum_j x_{\dots j \dots} \f$ along `axis`.
/// \param x [..., n, ...] \param axis the axis to reduce (negative counts from the end) \param keepdim keep it as size 1
/// \returns [..., 1, ...] or [..., ...]
Tensor mean(const Tensor& x, int64_t axis, bool keepdim = false);
/// \ingroup tensor
/// \brief The largest element (NaN if any is NaN). \throws ShapeError on an empty tensor. \returns []
Tensor max(const Tensor& x);
/// \ingroup tensor
/// \brief \f$ y = \max_j x_{\dots j \dots} \f$ along `axis`.
/// \param x [..., n, ...] \param axis the axis to reduce (negative counts from the end) \param keepdim keep it as size 1
/// \returns [..., 1, ...] or [..., ...] \throws ShapeError when the axis is empty.
Tensor max(const Tensor& x, int64_t axis, bool keepdim = false);
/// \ingroup tensor
/// \brief Index of the largest element along `axis` (the first on ties), as float values.
///
/// Indices are exact in float32 up to \f$2^{24}\f$.
/// \param x [..., n, ...] \param axis the axis to reduce (negative counts from the end) \param keepdim keep it as size 1
/// \returns [..., 1, ...] or [..., ...] of values in 0..n-1
/// \throws ShapeError when the axis is empty.
Tensor argmax(const Tensor& x, int64_t axis, bool keepdim = false);
/// \ingroup tensor
/// \brief A numerically stable \f$ \log \sum_j e^{x_j} \f$ along `axis`.
///
/// \f[ \operatorname{logsumexp}(x) = m + \log \sum_j e^{x_j - m}, \quad m = \max_j x_j \f]
/// so no exponential overflows; all \f$-\infty\f$ gives \f$-\infty\f$.
/// \param x [..., n, ...] \param axis the axis to reduce (negative counts from the end) \param keepdim keep it as size 1
/// \returns [..., 1, ...] or [..., ...]
/// \throws ShapeError when the axis is empty.
Tensor logsumexp(const Tensor& x, int64_t axis, bool keepdim = false);
/// \ingroup tensor
/// \brief The log of the softmax along `axis`, computed stably in one pass per row.
///
/// \f[ \log p_j = (x_j - m) - \log \sum_k e^{x_k - m}, \quad m = \max_k x_k \f]
/// Subtracting m first keeps the result accurate even when \f$|x|\f$ is huge: forming
/// \f$ x_j - \operatorname{logsumexp}(x) \f$ instead would cancel two large numbers.
/// \param x [..., n, ...] \param axis the class axis \returns [..., n, ...]
/// \throws ShapeError when the axis is empty.
Tensor log_softmax(const Tensor& x, int64_t axis);
/// \ingroup tensor
/// \brief Sums `x` down to `shape`, undoing a broadcast: the gradient of broadcasting.
///
/// Leading dimensions that `shape` lacks are summed away; dimensions where `shape` has 1
/// are summed with keepdim.
/// \param x [...] \param shape a shape that broadcasts to x's
/// \returns [shape]; `x` itself (sharing its storage) when its shape already is `shape`
/// \throws ShapeError `sum_to: cannot sum [2, 3] down to [4]`.
Tensor sum_to(const Tensor& x, const Shape& shape);
///@}

/// \name Indexing
///@{

/// \ingroup tensor
/// \brief Picks entries along `axis`: \f$ y_{\dots i \dots} = x_{\dots \text{indices}_i \dots} \f$.
/// \param x [..., n, ...] \param axis the axis to pick along \param indices k values in 0..n-1
/// \returns [..., k, ...], contiguous \throws IndexError when an index is outside 0..n-1.
Tensor index_select(const Tensor& x, int64_t axis, const std::vector<int64_t>& indices);
/// \ingroup tensor
/// \brief Adds `src` into `y` at `indices` along `axis` (repeated indices accumulate):
/// the gradient of `index_select`.
/// \param y [..., n, ...] contiguous \param axis the axis to add along \param src [..., k, ...]
/// \param indices k values in 0..n-1 \returns y
/// \throws ShapeError, IndexError on mismatching shapes or indices.
Tensor& index_add_(Tensor& y, int64_t axis, const std::vector<int64_t>& indices, const Tensor& src);
///@}

/// \name Comparing and printing
///@{

/// \ingroup tensor
/// \brief Whether two tensors agree: true when shapes are equal and \f$ |a - b| \le \text{atol} + \text{rtol}\,|b| \f$ everywhere.
bool allclose(const Tensor& a, const Tensor& b, float rtol = 1e-5f, float atol = 1e-6f);
/// \ingroup tensor
/// \brief Nested-bracket text of the values, e.g. `[[1, 2], [3, 4]]`, with `precision` significant digits.
std::string to_string(const Tensor& x, int precision = 4);
///@}

}  // namespace tensor
