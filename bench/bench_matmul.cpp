// The matrix product: cblas_sgemm called directly (the ceiling) next to tensor::matmul,
// with plain and transposed operands, at the teacher MLP's layer shapes and 1024^3.
//
// FLOPs: 2 per multiply-add, 2 * M * N * K per product.
#include "bench/common.h"
#include "tensor/matmul.h"

#include <benchmark/benchmark.h>
#include <cblas.h>

namespace {

using tensor::Tensor;

void set_counters(benchmark::State& state, int64_t m, int64_t n, int64_t k) {
  bench::set_gflops(state, 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k));
}

Tensor random_matrix(int64_t rows, int64_t cols) { return bench::random_tensor({rows, cols}); }

// C[M, N] = A[M, K] B[K, N] straight through OpenBLAS.
void BM_Sgemm(benchmark::State& state) {
  const int64_t m = state.range(0), n = state.range(1), k = state.range(2);
  const Tensor a = random_matrix(m, k), b = random_matrix(k, n);
  Tensor c = Tensor::empty({m, n});
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
                static_cast<int>(k), 1.0f, a.data(), static_cast<int>(k), b.data(), static_cast<int>(n), 0.0f,
                c.data(), static_cast<int>(n));
    benchmark::DoNotOptimize(c.data());
  }
  set_counters(state, m, n, k);
}

// The same product through the library (allocates its result, as training does).
void BM_Matmul(benchmark::State& state) {
  const int64_t m = state.range(0), n = state.range(1), k = state.range(2);
  const Tensor a = random_matrix(m, k), b = random_matrix(k, n);
  for (auto _ : state) benchmark::DoNotOptimize(tensor::matmul(a, b));
  set_counters(state, m, n, k);
}

// A @ B^T with B stored [N, K], as a linear layer computes x W^T: handed to BLAS as a flag.
void BM_MatmulTransposedB(benchmark::State& state) {
  const int64_t m = state.range(0), n = state.range(1), k = state.range(2);
  const Tensor a = random_matrix(m, k), b = random_matrix(n, k);
  for (auto _ : state) benchmark::DoNotOptimize(tensor::matmul(a, b.t()));
  set_counters(state, m, n, k);
}

// A^T @ B with A stored [K, M], as a weight gradient x^T dy computes.
void BM_MatmulTransposedA(benchmark::State& state) {
  const int64_t m = state.range(0), n = state.range(1), k = state.range(2);
  const Tensor a = random_matrix(k, m), b = random_matrix(k, n);
  for (auto _ : state) benchmark::DoNotOptimize(tensor::matmul(a.t(), b));
  set_counters(state, m, n, k);
}

// {M, N, K}: the 784-1200-1200-10 MLP at batch 128 (forward), and 1024^3.
void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"M", "N", "K"});
  b->Args({128, 1200, 784});
  b->Args({128, 1200, 1200});
  b->Args({128, 10, 1200});
  b->Args({1024, 1024, 1024});
  b->Unit(benchmark::kMicrosecond);
}

BENCHMARK(BM_Sgemm)->Apply(shapes);
BENCHMARK(BM_Matmul)->Apply(shapes);
BENCHMARK(BM_MatmulTransposedB)->Apply(shapes);
BENCHMARK(BM_MatmulTransposedA)->Apply(shapes);

}  // namespace
