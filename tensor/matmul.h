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

}  // namespace tensor
