#include "tensor/matmul.h"

#include "tensor/errors.h"

#include <cblas.h>

#include <algorithm>
#include <string>

namespace tensor {

namespace {

// How BLAS should read one operand: as stored (row-major, leading dimension ld) or transposed.
struct BlasOperand {
  Tensor t;  // data to hand over: the input itself, or a contiguous copy
  CBLAS_TRANSPOSE trans = CblasNoTrans;
  int64_t ld = 0;
  int64_t batch_stride = 0;
};

// Reads the strides of the last two dimensions (rows, cols): unit column stride is a
// row-major matrix, unit row stride is the transpose of one; anything else is copied.
BlasOperand blas_operand(const Tensor& x) {
  const int64_t r = x.dim() - 2;
  const int64_t rows = x.shape()[r];
  const int64_t cols = x.shape()[r + 1];
  const int64_t row_stride = x.strides()[r];
  const int64_t col_stride = x.strides()[r + 1];
  const int64_t batch_stride = x.dim() == 3 ? x.strides()[0] : 0;
  if ((col_stride == 1 || cols == 1) && row_stride >= std::max<int64_t>(cols, 1)) {
    return {x, CblasNoTrans, row_stride, batch_stride};
  }
  if ((row_stride == 1 || rows == 1) && col_stride >= std::max<int64_t>(rows, 1)) {
    return {x, CblasTrans, col_stride, batch_stride};
  }
  Tensor c = x.clone();
  return {c, CblasNoTrans, std::max<int64_t>(cols, 1), x.dim() == 3 ? rows * cols : 0};
}

[[noreturn]] void fail(const std::string& what, const Tensor& a, const Tensor& b) {
  throw ShapeError("matmul: " + what + ": " + to_string(a.shape()) + " @ " + to_string(b.shape()));
}

// y[i] = a[i] b[i] + beta y[i] for each of `batch` matrices [m, k] @ [k, n]; y contiguous.
void gemm(const Tensor& a, const Tensor& b, Tensor& y, int64_t batch, int64_t m, int64_t n, int64_t k, float beta) {
  const BlasOperand pa = blas_operand(a);
  const BlasOperand pb = blas_operand(b);
  for (int64_t i = 0; i < batch; ++i) {
    cblas_sgemm(CblasRowMajor, pa.trans, pb.trans, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), 1.0f,
                pa.t.data() + i * pa.batch_stride, static_cast<int>(pa.ld), pb.t.data() + i * pb.batch_stride,
                static_cast<int>(pb.ld), beta, y.data() + i * m * n, static_cast<int>(n));
  }
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  if (a.dim() != b.dim() || (a.dim() != 2 && a.dim() != 3)) fail("expects two matrices or two batches of them", a, b);
  const bool batched = a.dim() == 3;
  const int64_t batch = batched ? a.shape()[0] : 1;
  if (batched && b.shape()[0] != batch) fail("batch sizes differ", a, b);
  const int64_t m = a.shape()[a.dim() - 2];
  const int64_t k = a.shape()[a.dim() - 1];
  const int64_t n = b.shape()[b.dim() - 1];
  if (b.shape()[b.dim() - 2] != k) fail("inner dimensions differ", a, b);

  Tensor y = batched ? Tensor::empty({batch, m, n}) : Tensor::empty({m, n});
  if (y.numel() == 0) return y;
  // Zeroed by memset and accumulated onto (beta = 1) rather than handed over with beta = 0,
  // for which OpenBLAS zeroes y in a slower pass of its own (sgemm_beta: 7% of an MLP training
  // step's profile). The same sums, since 0 + x = x (only an exact zero may come out as +0
  // where it was -0); training steps 4-13% faster (bench/README.md).
  y.fill_(0.0f);
  if (k > 0) gemm(a, b, y, batch, m, n, k, 1.0f);
  return y;
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  if (x.dim() != 2 || weight.dim() != 2 || x.shape()[1] != weight.shape()[1]) {
    throw ShapeError("linear: input " + to_string(x.shape()) + " does not match weight " + to_string(weight.shape()));
  }
  const int64_t n = x.shape()[0], in = x.shape()[1], out = weight.shape()[0];
  if (bias.defined() && bias.shape() != Shape{out}) {
    throw ShapeError("linear: bias " + to_string(bias.shape()) + " does not match weight " + to_string(weight.shape()));
  }
  Tensor y = Tensor::empty({n, out});
  if (bias.defined()) {
    y.copy_(bias);  // every row starts as the bias; the product is added onto it
  } else {
    y.fill_(0.0f);
  }
  if (y.numel() > 0 && in > 0) gemm(x, weight.t(), y, 1, n, out, in, 1.0f);
  return y;
}

bool blas_uses_openmp() { return openblas_get_parallel() == 2; }

}  // namespace tensor
