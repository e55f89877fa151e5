/// \file
/// \brief Internal: walking one or more strided operands of a common shape in row-major order.
///
/// Not part of the public API; the elementwise kernels and `Tensor::copy_` are built on it.
#pragma once

#include "tensor/parallel.h"
#include "tensor/shape.h"
#include "tensor/tensor.h"

#include <omp.h>

#include <algorithm>
#include <array>
#include <cassert>

namespace tensor::detail {

/// The strides that walk `t` as if it had shape `out` (0 along broadcast dimensions).
/// The caller has checked that t's shape broadcasts to `out`.
inline Strides broadcast_strides(const Tensor& t, const Shape& out) {
  Strides s(out.size(), 0);
  const size_t lead = out.size() - t.shape().size();
  for (size_t i = 0; i < t.shape().size(); ++i) {
    s[lead + i] = t.shape()[i] == 1 ? 0 : t.strides()[i];
  }
  return s;
}

/// Walks every element of `shape` as runs along the last dimension. For each run it calls
/// `body(offsets, length, steps)`: `offsets[k]` is operand k's element offset at the start of
/// the run and `steps[k]` its stride along the run. Large walks are split across threads
/// (by rows, or within the one row of a flat walk); each element is visited exactly once.
template <size_t K, class Body>
void for_each_run(Shape shape, std::array<Strides, K> strides, Body body) {
  // Collapse to one flat run when every operand is row-major over the whole shape.
  const Strides packed = contiguous_strides(shape);
  bool flat = true;
  for (const Strides& s : strides) flat = flat && s == packed;
  if (flat || shape.empty()) {
    const int64_t n = numel(shape);
    shape = {n};
    for (Strides& s : strides) s = {1};
  }
  const size_t rank = shape.size();
  const int64_t inner = shape.back();
  const int64_t total = numel(shape);
  if (total == 0) return;
  const int64_t rows = total / inner;
  std::array<int64_t, K> steps;
  for (size_t k = 0; k < K; ++k) steps[k] = strides[k].back();

  // Rows r0..r1-1, each whole, advancing an odometer over the outer dimensions.
  auto run_rows = [&](int64_t r0, int64_t r1) {
    std::array<int64_t, K> off{};
    std::vector<int64_t> idx(rank - 1, 0);
    int64_t r = r0;
    for (size_t d = rank - 1; d-- > 0;) {
      idx[d] = r % shape[d];
      r /= shape[d];
      for (size_t k = 0; k < K; ++k) off[k] += idx[d] * strides[k][d];
    }
    for (int64_t row = r0; row < r1; ++row) {
      body(off, inner, steps);
      for (size_t d = rank - 1; d-- > 0;) {
        ++idx[d];
        for (size_t k = 0; k < K; ++k) off[k] += strides[k][d];
        if (idx[d] < shape[d]) break;
        for (size_t k = 0; k < K; ++k) off[k] -= strides[k][d] * shape[d];
        idx[d] = 0;
      }
    }
  };

  if (total < kParallelMinElements || omp_get_max_threads() == 1) {
    run_rows(0, rows);
  } else if (rows == 1) {
#pragma omp parallel
    {
      const int64_t threads = omp_get_num_threads();
      const int64_t t = omp_get_thread_num();
      const int64_t begin = inner * t / threads;
      const int64_t end = inner * (t + 1) / threads;
      if (end > begin) {
        std::array<int64_t, K> off;
        for (size_t k = 0; k < K; ++k) off[k] = begin * steps[k];
        body(off, end - begin, steps);
      }
    }
  } else {
#pragma omp parallel
    {
      const int64_t threads = omp_get_num_threads();
      const int64_t t = omp_get_thread_num();
      const int64_t begin = rows * t / threads;
      const int64_t end = rows * (t + 1) / threads;
      if (end > begin) run_rows(begin, end);
    }
  }
}

}  // namespace tensor::detail
