// What the benchmark files share: counters and random inputs.
#pragma once

#include "autograd/variable.h"
#include "nn/data.h"
#include "nn/losses.h"
#include "nn/module.h"
#include "nn/optim.h"
#include "tensor/ops.h"
#include "tensor/random.h"
#include "tensor/tensor.h"

#include <benchmark/benchmark.h>
#include <cblas.h>

#include <chrono>
#include <vector>

namespace bench {

// Images per training step, as the book trains.
inline constexpr int64_t kBatch = 128;

// Reports GFLOP/s from the FLOPs one iteration performs (2 per multiply-add).
inline void set_gflops(benchmark::State& state, double flops_per_iteration) {
  state.counters["GFLOPS"] = benchmark::Counter(flops_per_iteration * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// Values uniform in [-1, 1), the same every run.
inline tensor::Tensor random_tensor(const tensor::Shape& shape, uint64_t seed = 7) {
  tensor::Generator gen(seed);
  return tensor::uniform(shape, -1.0f, 1.0f, gen);
}

// n labels in 0..9, the same every run.
inline nn::Labels random_labels(int64_t n) {
  tensor::Generator gen(11);
  nn::Labels y;
  for (int64_t i = 0; i < n; ++i) y.push_back(gen.below(10));
  return y;
}

// FLOPs of the teacher-shaped CNN (conv 3x3 1 -> conv1, pool, conv 3x3 conv1 -> conv2, pool,
// linear conv2 * 7 * 7 -> hidden -> 10) on 28 x 28 images: a convolution is the product
// [H W, C k k] x [C k k, O] per image, a linear layer [N, in] x [in, out].
struct CnnFlops {
  double conv1, rest;  // the first convolution, and the other three layers
  // A forward pass.
  double forward() const { return conv1 + rest; }
  // A training step: each product three times (forward, weight and input gradient), except
  // the first convolution, whose input needs no gradient.
  double step() const { return 2 * conv1 + 3 * rest; }
};

inline CnnFlops cnn_flops(int64_t conv1, int64_t conv2, int64_t hidden, double images) {
  const double c1 = 28.0 * 28 * 9 * double(conv1);
  const double c2 = 14.0 * 14 * (double(conv1) * 9) * double(conv2);
  const double fc1 = double(conv2) * 7 * 7 * double(hidden);
  const double fc2 = double(hidden) * 10;
  return {2.0 * images * c1, 2.0 * images * (c2 + fc1 + fc2)};
}

// One product C[M, N] = op(A)[M, K] op(B)[K, N] of a step, op transposing or not.
struct Product {
  CBLAS_TRANSPOSE ta, tb;
  int m, n, k;
};

// Seconds of the products, run alone one after the other as a step runs them: the BLAS
// share of a step, measured apart from it.
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

// Steps of `student` on a fixed batch of 784-pixel images against fixed teacher logits:
// distillation loss at T and alpha, SGD with momentum. Returns the seconds of a step.
inline double distill_steps(benchmark::State& state, nn::Module& student, float temperature, float alpha, float lr) {
  const tensor::Tensor images = random_tensor({kBatch, 784});
  const tensor::Tensor teacher_logits = tensor::mul(random_tensor({kBatch, 10}, 9), 5.0f);
  const nn::Labels labels = random_labels(kBatch);
  nn::SGD opt(student.parameters(), lr, 0.9f);
  const double seconds = time_steps(state, [&] {
    opt.zero_grad();
    nn::distillation_loss(student(autograd::Var(images)), teacher_logits, labels, temperature, alpha).backward();
    opt.step();
  });
  state.SetItemsProcessed(state.iterations() * kBatch);
  return seconds;
}

// The counters of an MLP step: GFLOP/s of its products, and their time alone beside the rest.
inline void set_mlp_counters(benchmark::State& state, double step_seconds, const std::vector<int64_t>& widths) {
  const std::vector<Product> products = mlp_products(widths, kBatch);
  set_gflops(state, flops_of(products));
  set_blas_share(state, step_seconds, products);
}

}  // namespace bench
