/// \file
/// \brief Every differentiable op: forward with the tensor kernels, backward right below it.
///
/// Each op's documentation gives its derivative; the implementation restates it in a
/// comment above the backward rule. Binary ops broadcast like `tensor::add`, and their
/// backward sums the gradient back to each input's shape (`tensor::sum_to`).
#pragma once

#include "autograd/variable.h"
#include "tensor/random.h"

#include <cstdint>
#include <vector>

namespace autograd {

/// \name Arithmetic (broadcasting)
///@{

/// \ingroup autograd
/// \brief \f$ y = a + b \f$; \f$ \partial y/\partial a = \partial y/\partial b = 1 \f$.
/// \param a [...] \param b [...] broadcastable \returns the broadcast shape \throws tensor::ShapeError
Var add(const Var& a, const Var& b);
/// \ingroup autograd
/// \brief \f$ y = a - b \f$; \f$ \partial y/\partial a = 1,\ \partial y/\partial b = -1 \f$.
/// \param a [...] \param b [...] broadcastable \returns the broadcast shape \throws tensor::ShapeError
Var sub(const Var& a, const Var& b);
/// \ingroup autograd
/// \brief \f$ y = a\,b \f$; \f$ \partial y/\partial a = b,\ \partial y/\partial b = a \f$.
/// \param a [...] \param b [...] broadcastable \returns the broadcast shape \throws tensor::ShapeError
Var mul(const Var& a, const Var& b);
/// \ingroup autograd
/// \brief \f$ y = a / b \f$; \f$ \partial y/\partial a = 1/b,\ \partial y/\partial b = -a/b^2 \f$.
/// \param a [...] \param b [...] broadcastable \returns the broadcast shape \throws tensor::ShapeError
Var div(const Var& a, const Var& b);
/// \ingroup autograd
/// \brief \f$ y = w \cdot x \f$ for a constant weight w, with \f$ y = 0 \f$ wherever \f$ w = 0 \f$ even
/// if x is infinite (see `tensor::masked_mul`); \f$ \partial y/\partial x = w \f$.
///
/// The cross-entropies weight log-probabilities by target probabilities with it, so a class
/// the target rules out (p = 0) adds nothing even when its log-probability is \f$-\infty\f$.
/// \param x [...] \param w [...] broadcastable to x's shape \returns the broadcast shape \throws tensor::ShapeError
Var masked_mul(const Var& x, const Tensor& w);
/// \ingroup autograd
/// \brief \f$ y = x + s \f$ for a constant s. \param x [...] \param s the constant \returns [...]
Var add(const Var& x, float s);
/// \ingroup autograd
/// \brief \f$ y = x \cdot s \f$ for a constant s; \f$ \partial y/\partial x = s \f$. \param x [...] \param s the constant \returns [...]
Var mul(const Var& x, float s);
/// \ingroup autograd
/// \brief \f$ y = x / s \f$ for a constant s; \f$ \partial y/\partial x = 1/s \f$. \param x [...] \param s the constant \returns [...]
Var div(const Var& x, float s);
///@}

/// \name Elementwise functions
///@{

/// \ingroup autograd
/// \brief \f$ y = -x \f$; \f$ \partial y/\partial x = -1 \f$. \param x [...] \returns [...]
Var neg(const Var& x);
/// \ingroup autograd
/// \brief \f$ y = e^x \f$; \f$ \partial y/\partial x = e^x = y \f$. \param x [...] \returns [...]
Var exp(const Var& x);
/// \ingroup autograd
/// \brief \f$ y = \ln x \f$; \f$ \partial y/\partial x = 1/x \f$. \param x [...] \returns [...]
Var log(const Var& x);
/// \ingroup autograd
/// \brief \f$ y = \max(x, 0) \f$; \f$ \partial y/\partial x = [x > 0] \f$ (0 at the kink). \param x [...] \returns [...]
Var relu(const Var& x);
///@}

/// \name Linear algebra
///@{

/// \ingroup autograd
/// \brief \f$ Y = A B \f$ (see `tensor::matmul`);
/// \f$ \partial L/\partial A = \frac{\partial L}{\partial Y} B^\top,\ \partial L/\partial B = A^\top \frac{\partial L}{\partial Y} \f$.
/// \param a [M, K] or [B, M, K] \param b [K, N] or [B, K, N] \returns [M, N] or [B, M, N]
/// \throws tensor::ShapeError `matmul: inner dimensions differ: [32, 784] @ [100, 10]`.
Var matmul(const Var& a, const Var& b);
/// \ingroup autograd
/// \brief A linear layer, fused: \f$ Y = X W^\top + b \f$ (see `tensor::linear`).
///
/// \f[ \frac{\partial L}{\partial X} = \frac{\partial L}{\partial Y} W, \quad
///     \frac{\partial L}{\partial W} = \Big(\frac{\partial L}{\partial Y}\Big)^{\!\top} X, \quad
///     \frac{\partial L}{\partial b} = \sum_n \frac{\partial L}{\partial Y_{n\cdot}} \f]
///
/// The same as `matmul(x, transpose(weight, 0, 1)) + bias`, which a test checks, but the
/// weight gradient comes out of BLAS in W's own [out, in] layout instead of being computed
/// as \f$ W^\top \f$'s and copied back through the transpose, and the bias costs no pass.
/// \param x [N, in] \param weight [out, in] \param bias [out], or undefined for none
/// \returns [N, out] \throws tensor::ShapeError `linear: input [32, 100] does not match weight [10, 784]`.
Var linear(const Var& x, const Var& weight, const Var& bias);
///@}

/// \name Reductions
///@{

/// \ingroup autograd
/// \brief \f$ y = \sum_i x_i \f$ over all elements; \f$ \partial y/\partial x_i = 1 \f$. \param x [...] \returns []
Var sum(const Var& x);
/// \ingroup autograd
/// \brief \f$ y = \sum_j x_{\dots j \dots} \f$ along `axis`; the gradient is broadcast back along it.
/// \param x [..., n, ...] \param axis the axis to reduce (negative counts from the end)
/// \param keepdim keep it as size 1 \returns [..., 1, ...] with keepdim, else [..., ...] \throws tensor::IndexError
Var sum(const Var& x, int64_t axis, bool keepdim = false);
/// \ingroup autograd
/// \brief \f$ y = \frac1n \sum_i x_i \f$ over all n elements; \f$ \partial y/\partial x_i = 1/n \f$. \param x [...] \returns []
Var mean(const Var& x);
/// \ingroup autograd
/// \brief \f$ y = \frac1n \sum_j x_{\dots j \dots} \f$ along `axis`.
/// \param x [..., n, ...] \param axis the axis to reduce (negative counts from the end)
/// \param keepdim keep it as size 1 \returns [..., 1, ...] with keepdim, else [..., ...] \throws tensor::IndexError
Var mean(const Var& x, int64_t axis, bool keepdim = false);
/// \ingroup autograd
/// \brief A stable \f$ y = \log \sum_j e^{x_j} \f$ along `axis`;
/// \f$ \partial y/\partial x_j = e^{x_j - y} = \operatorname{softmax}(x)_j \f$.
/// \param x [..., n, ...] \param axis the axis to reduce \param keepdim keep it as size 1
/// \returns [..., 1, ...] with keepdim, else [..., ...] \throws tensor::ShapeError on an empty axis
Var logsumexp(const Var& x, int64_t axis, bool keepdim = false);
///@}

/// \name Shape and indexing
///@{

/// \ingroup autograd
/// \brief The same values in a new shape (one entry may be -1); the gradient is reshaped back.
/// \param x [...] \param shape with the same number of elements \returns [shape] \throws tensor::ShapeError
Var reshape(const Var& x, const Shape& shape);
/// \ingroup autograd
/// \brief Swaps two dimensions; the gradient is swapped back. \returns x's shape with the two axes swapped
/// \throws tensor::IndexError
Var transpose(const Var& x, int64_t axis0, int64_t axis1);
/// \ingroup autograd
/// \brief Reorders the dimensions: result dimension i is input dimension `order[i]`;
/// the gradient is permuted back by the inverse order.
/// \param x [...] \param order a permutation of 0..rank-1 \returns the permuted shape (a view)
/// \throws tensor::ShapeError when `order` is not a permutation.
Var permute(const Var& x, const std::vector<int64_t>& order);
/// \ingroup autograd
/// \brief Elements `start .. start+length-1` along `axis` (a batch: `narrow(x, 0, i, n)`);
/// the gradient is zero outside the range.
/// \param x [..., n, ...] \param axis the axis to cut \param start first index kept \param length how many kept
/// \returns [..., length, ...] \throws tensor::IndexError
Var narrow(const Var& x, int64_t axis, int64_t start, int64_t length);
/// \ingroup autograd
/// \brief Picks entries along `axis` (see `tensor::index_select`); the gradient is added back
/// at the picked positions, repeated picks accumulating.
/// \param x [..., n, ...] \param axis the axis to pick along \param indices k values in 0..n-1
/// \returns [..., k, ...] \throws tensor::IndexError
Var index_select(const Var& x, int64_t axis, const std::vector<int64_t>& indices);
///@}

/// \name Softmax with a temperature
///@{

/// \ingroup autograd
/// \brief The log of the softmax of \f$ z / T \f$ along `axis`, stable and accurate for any logits.
///
/// \f[ \log p_j = \frac{z_j}{T} - \log \sum_k e^{z_k / T} \f]
/// \f[ \frac{\partial L}{\partial z_i} = \frac{1}{T}\Big(\frac{\partial L}{\partial \log p_i}
///      - p_i \sum_j \frac{\partial L}{\partial \log p_j}\Big) \f]
///
/// A fused primitive (see `tensor::log_softmax`) rather than `z/T - logsumexp(z/T)`: the
/// composed form cancels two numbers of size \f$|z|/T\f$ and loses digits at |z| = 1e4,
/// T = 0.05. A test checks that both agree where the composed form is accurate.
/// \param z [..., C, ...] logits \param temperature T > 0; T = 1 is the ordinary log-softmax
/// \param axis the class axis (default: the last)
/// \returns [..., C, ...] log-probabilities
/// \throws tensor::ValueError `log_softmax: temperature must be > 0, got 0`.
/// \see \ref ch03_temperature
Var log_softmax(const Var& z, float temperature = 1.0f, int64_t axis = -1);
/// \ingroup autograd
/// \brief The softmax of \f$ z / T \f$ along `axis`:
/// \f[ p_j = \frac{e^{z_j / T}}{\sum_k e^{z_k / T}} \f]
/// T > 1 flattens the distribution, T < 1 sharpens it. Computed as `exp(log_softmax(z, T))`.
/// \param z [..., C, ...] logits \param temperature T > 0 \returns [..., C, ...] probabilities summing to 1 along `axis`
/// \param axis the class axis (default: the last)
/// \throws tensor::ValueError `softmax: temperature must be > 0, got -1`.
/// \see \ref ch03_temperature
Var softmax(const Var& z, float temperature = 1.0f, int64_t axis = -1);
///@}

/// \name Regularisation
///@{

/// \ingroup autograd
/// \brief Inverted dropout: each element is zeroed with probability p, survivors scaled by \f$ 1/(1-p) \f$.
///
/// \f[ y = \frac{m \odot x}{1 - p}, \quad m_i \sim \text{Bernoulli}(1 - p) \f]
/// so \f$ E[y] = x \f$ and evaluation needs no rescaling. The mask is drawn from `gen` and
/// saved for backward: \f$ \partial y/\partial x = m / (1 - p) \f$.
/// \param x [...] \param p drop probability in [0, 1) \param gen draws the mask \returns [...]
/// \throws tensor::ValueError `dropout: p must be in [0, 1), got 1`.
Var dropout(const Var& x, float p, tensor::Generator& gen);
///@}

/// \name Operators, for readable formulas
///@{

inline Var operator+(const Var& a, const Var& b) { return add(a, b); }  ///< add(a, b)
inline Var operator-(const Var& a, const Var& b) { return sub(a, b); }  ///< sub(a, b)
inline Var operator*(const Var& a, const Var& b) { return mul(a, b); }  ///< mul(a, b)
inline Var operator/(const Var& a, const Var& b) { return div(a, b); }  ///< div(a, b)
inline Var operator-(const Var& x) { return neg(x); }                   ///< neg(x)
inline Var operator+(const Var& x, float s) { return add(x, s); }       ///< add(x, s)
inline Var operator*(const Var& x, float s) { return mul(x, s); }       ///< mul(x, s)
inline Var operator*(float s, const Var& x) { return mul(x, s); }       ///< mul(x, s)
inline Var operator/(const Var& x, float s) { return div(x, s); }       ///< div(x, s)
///@}

}  // namespace autograd
