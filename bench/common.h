// What the benchmark files share: counters and random inputs.
#pragma once

#include "autograd/variable.h"
#include "bench/blas_clock.h"
#include "nn/data.h"
#include "nn/losses.h"
#include "nn/module.h"
#include "nn/optim.h"
#include "tensor/ops.h"
#include "tensor/random.h"
#include "tensor/tensor.h"

#include <benchmark/benchmark.h>
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <limits>
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

// The FLOPs of one MLP training step's products, batch `batch`, 2 M N K each: per layer the
// forward x W^T, the weight gradient dY^T x, and the input gradient dY W except for the first
// layer, whose input needs none; each is batch x in x out multiply-adds.
inline double mlp_step_flops(const std::vector<int64_t>& widths, int64_t batch) {
  double flops = 0;
  for (size_t i = 0; i + 1 < widths.size(); ++i) {
    const double per_product = 2.0 * double(batch) * double(widths[i]) * double(widths[i + 1]);
    flops += (i > 0 ? 3 : 2) * per_product;
  }
  return flops;
}

// The ceiling, BM_Sgemm/128/1200/784's product, timed in short blocks between a step
// benchmark's steps. On a shared machine the speed of both moves by 10-30% from one
// minute to the next; a ceiling measured minutes apart, in its own benchmark, moves the
// ratio by as much, while blocks interleaved with the steps see the same machine they do.
// A neighbour's load only ever slows a product down, so the fastest block is kept too.
class InterleavedCeiling {
 public:
  static constexpr int kM = 128, kN = 1200, kK = 784;
  static constexpr double kFlops = 2.0 * kM * kN * kK;
  InterleavedCeiling()
      : a_(random_tensor({kM, kK}, 21)), b_(random_tensor({kK, kN}, 22)), c_(tensor::Tensor::empty({kM, kN})) {}

  // Times kProducts products in a row (the first one, which reloads the operands the steps
  // evicted, untimed).
  void run_block() {
    constexpr int kProducts = 8;
    product();
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kProducts; ++i) product();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    seconds_ += seconds;
    products_ += kProducts;
    best_ = std::min(best_, seconds / kProducts);
  }
  // GFLOP/s over every block so far, and in the fastest block (0 before the first).
  double gflops() const { return products_ == 0 ? 0.0 : kFlops * double(products_) / seconds_ * 1e-9; }
  double best_gflops() const { return products_ == 0 ? 0.0 : kFlops / best_ * 1e-9; }

 private:
  void product() {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, kM, kN, kK, 1.0f, a_.data(), kK, b_.data(), kN, 0.0f,
                c_.data(), kN);
    benchmark::DoNotOptimize(c_.data());
  }
  tensor::Tensor a_, b_, c_;
  double seconds_ = 0.0, best_ = std::numeric_limits<double>::infinity();
  int64_t products_ = 0;
};

// What time_steps measured: the mean and the fastest seconds of a step, the mean seconds of
// its products (BlasClock), and the ceiling's GFLOP/s over the blocks run between the steps
// and in the fastest of them.
struct StepTimes {
  double step_seconds, best_step_seconds, blas_seconds;
  double ceiling_gflops, best_ceiling_gflops;
};

// Runs `step` once per benchmark iteration, and a block of the ceiling's products after
// every 50 ms of steps (and after the last), outside the benchmark's timer.
template <class Step>
StepTimes time_steps(benchmark::State& state, Step step) {
  InterleavedCeiling ceiling;
  BlasClock blas;
  double steps = 0.0, best = std::numeric_limits<double>::infinity(), since_block = 0.0, in_products = 0.0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    blas.start();
    step();
    in_products += blas.stop();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    steps += seconds;
    best = std::min(best, seconds);
    since_block += seconds;
    if (since_block >= 0.05) {
      state.PauseTiming();
      ceiling.run_block();
      state.ResumeTiming();
      since_block = 0.0;
    }
  }
  ceiling.run_block();
  const auto n = double(state.iterations());
  return {steps / n, best, in_products / n, ceiling.gflops(), ceiling.best_gflops()};
}

// The counters of a step benchmark: GFLOP/s from the step's counted FLOPs, the interleaved
// ceiling's GFLOP/s (sgemm_GFLOPS), and the step's share of it in percent, the ratio the
// speed targets are stated in: of_sgemm from the means, of_sgemm_best from the fastest
// step against the fastest ceiling block (what the code can do when nothing else runs).
// Then the step split in two: blas_us its products (BlasClock), non_blas_us the rest (our
// kernels, the graph, the optimizer), and products_of_sgemm, the same FLOPs over blas_us
// as a share of the ceiling: what of_sgemm would be if the rest took no time, the bound no
// change outside OpenBLAS can pass.
inline void set_step_counters(benchmark::State& state, const StepTimes& times, double flops_per_step) {
  set_gflops(state, flops_per_step);
  const auto percent = [&](double seconds, double ceiling) {
    return ceiling > 0 && seconds > 0 ? 100.0 * flops_per_step / seconds * 1e-9 / ceiling : 0.0;
  };
  state.counters["sgemm_GFLOPS"] = times.ceiling_gflops;
  state.counters["of_sgemm"] = percent(times.step_seconds, times.ceiling_gflops);
  state.counters["of_sgemm_best"] = percent(times.best_step_seconds, times.best_ceiling_gflops);
  state.counters["blas_us"] = times.blas_seconds * 1e6;
  state.counters["non_blas_us"] = (times.step_seconds - times.blas_seconds) * 1e6;
  state.counters["products_of_sgemm"] = percent(times.blas_seconds, times.ceiling_gflops);
}

// Steps of `student` on a fixed batch of 784-pixel images against fixed teacher logits:
// distillation loss at T and alpha, SGD with momentum.
inline StepTimes distill_steps(benchmark::State& state, nn::Module& student, float temperature, float alpha, float lr) {
  const tensor::Tensor images = random_tensor({kBatch, 784});
  const tensor::Tensor teacher_logits = tensor::mul(random_tensor({kBatch, 10}, 9), 5.0f);
  const nn::Labels labels = random_labels(kBatch);
  nn::SGD opt(student.parameters(), lr, 0.9f);
  const StepTimes times = time_steps(state, [&] {
    opt.zero_grad();
    nn::distillation_loss(student(autograd::Var(images)), teacher_logits, labels, temperature, alpha).backward();
    opt.step();
  });
  state.SetItemsProcessed(state.iterations() * kBatch);
  return times;
}

// The counters of an MLP step (set_step_counters), its FLOPs counted from its products.
inline void set_mlp_counters(benchmark::State& state, const StepTimes& times, const std::vector<int64_t>& widths) {
  set_step_counters(state, times, mlp_step_flops(widths, kBatch));
}

}  // namespace bench
