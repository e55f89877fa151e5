// What the benchmark files share: counters and random inputs.
#pragma once

#include "tensor/random.h"
#include "tensor/tensor.h"

#include <benchmark/benchmark.h>
#include <cblas.h>

#include <chrono>
#include <vector>

namespace bench {

// Reports GFLOP/s from the FLOPs one iteration performs (2 per multiply-add).
inline void set_gflops(benchmark::State& state, double flops_per_iteration) {
  state.counters["GFLOPS"] = benchmark::Counter(flops_per_iteration * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// Values uniform in [-1, 1), the same every run.
inline tensor::Tensor random_tensor(const tensor::Shape& shape, uint64_t seed = 7) {
  tensor::Generator gen(seed);
  return tensor::uniform(shape, -1.0f, 1.0f, gen);
}

// Seconds per call of C[M, N] = A[M, K] B[K, N] (or with a transposed operand), the way
// the step's products are shaped: the BLAS share of a step, measured apart from it.
struct Product {
  CBLAS_TRANSPOSE ta, tb;
  int m, n, k;
};

inline double seconds_of_products(const std::vector<Product>& products) {
  constexpr int kRepeats = 200;
  std::vector<std::vector<float>> a, b, c;
  for (const Product& p : products) {
    a.emplace_back(static_cast<size_t>(p.m) * p.k, 0.5f);
    b.emplace_back(static_cast<size_t>(p.k) * p.n, 0.25f);
    c.emplace_back(static_cast<size_t>(p.m) * p.n, 0.0f);
  }
  const auto run_all = [&] {
    for (size_t i = 0; i < products.size(); ++i) {
      const Product& p = products[i];
      cblas_sgemm(CblasRowMajor, p.ta, p.tb, p.m, p.n, p.k, 1.0f, a[i].data(), p.ta == CblasNoTrans ? p.k : p.m,
                  b[i].data(), p.tb == CblasNoTrans ? p.n : p.k, 0.0f, c[i].data(), p.n);
    }
  };
  run_all();  // warm
  const auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < kRepeats; ++r) run_all();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / kRepeats;
}

// The products of one MLP training step, batch `batch`: per layer the forward x W^T, the
// weight gradient dY^T x, and the input gradient dY W except for the first layer, whose
// input needs none.
inline std::vector<Product> mlp_products(const std::vector<int64_t>& widths, int64_t batch) {
  std::vector<Product> products;
  const int b = static_cast<int>(batch);
  for (size_t i = 0; i + 1 < widths.size(); ++i) {
    const int in = static_cast<int>(widths[i]), out = static_cast<int>(widths[i + 1]);
    products.push_back({CblasNoTrans, CblasTrans, b, out, in});
    products.push_back({CblasTrans, CblasNoTrans, out, in, b});
    if (i > 0) products.push_back({CblasNoTrans, CblasNoTrans, b, in, out});
  }
  return products;
}

// FLOPs of those products: 2 M N K each.
inline double flops_of(const std::vector<Product>& products) {
  double flops = 0;
  for (const Product& p : products) flops += 2.0 * p.m * p.n * p.k;
  return flops;
}

// Adds the counters blas_us (the step's products alone, see seconds_of_products) and
// non_blas_us (the rest of a step: our own kernels, the graph, the optimizer).
inline void set_blas_share(benchmark::State& state, double step_seconds, const std::vector<Product>& products) {
  const double blas = seconds_of_products(products);
  state.counters["blas_us"] = blas * 1e6;
  state.counters["non_blas_us"] = (step_seconds - blas) * 1e6;
}

// Runs `step` once per benchmark iteration; returns the mean seconds of one.
template <class Step>
double time_steps(benchmark::State& state, Step step) {
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) step();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / double(state.iterations());
}

}  // namespace bench
