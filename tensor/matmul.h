/// \file
/// \brief Matrix products through OpenBLAS's `cblas_sgemm`.
#pragma once

#include "tensor/tensor.h"

namespace tensor {

/// \ingroup tensor
/// \brief The matrix product, one matrix or a batch of them, computed by `cblas_sgemm`.
///
/// \f[ Y_{b,m,n} = \sum_k A_{b,m,k} \, B_{b,k,n} \f]
///
/// A transposed view (`x.t()`, `x.transpose(1, 2)`) is handed to BLAS as its transpose
/// flag, so `matmul(a, w.t())` never copies `w`. Only operands whose last two dimensions
/// have no unit stride are copied first.
///
/// \param a [M, K] or [B, M, K]
/// \param b [K, N] or [B, K, N] (the same rank and batch as `a`)
/// \returns [M, N] or [B, M, N], contiguous
/// \throws ShapeError `matmul: inner dimensions differ: [32, 784] @ [100, 10]`, and on
///         ranks other than 2 or 3 or differing batches.
Tensor matmul(const Tensor& a, const Tensor& b);

/// \ingroup tensor
/// \brief A linear layer's forward pass in one `cblas_sgemm`: \f$ Y = X W^\top + b \f$.
///
/// The output is first filled with the bias, row by row, and the product is accumulated
/// onto it (BLAS's \f$ \beta = 1 \f$), so the bias costs no extra pass; W is read through
/// the transpose flag, never copied. Equal to `add(matmul(x, weight.t()), bias)`.
/// \param x [N, in] \param weight [out, in] \param bias [out], or undefined for none
/// \returns [N, out], contiguous
/// \throws ShapeError `linear: input [32, 100] does not match weight [10, 784]`, and on a bias of the wrong size.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias);

/// \ingroup tensor
/// \brief The OpenBLAS build in use: true when it runs on OpenMP, sharing the kernels' thread
/// pool (the pthread build would compete with it for the cores).
bool blas_uses_openmp();

}  // namespace tensor
