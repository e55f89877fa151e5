// Whole training steps (forward, loss, backward, update) of the book's networks, batch 128.
// Each reports GFLOP/s counted from the matrix products the step performs, so it can be
// held against BM_Sgemm/128/1200/784, the ceiling measured in the same run.
#include "autograd/ops.h"
#include "bench/common.h"
#include "nn/layers.h"
#include "nn/losses.h"
#include "nn/optim.h"
#include "tensor/ops.h"

#include <benchmark/benchmark.h>

namespace {

using autograd::Var;
using tensor::Tensor;

constexpr int64_t kBatch = 128;

nn::Labels random_labels(int64_t n) {
  tensor::Generator gen(11);
  nn::Labels y;
  for (int64_t i = 0; i < n; ++i) y.push_back(gen.below(10));
  return y;
}

// An MLP 784 - hidden... - 10 with ReLU between layers, no dropout.
nn::Sequential mlp(const std::vector<int64_t>& widths, tensor::Generator& gen) {
  nn::Sequential m;
  for (size_t i = 0; i + 1 < widths.size(); ++i) {
    if (i > 0) m.emplace<nn::ReLU>();
    m.emplace<nn::Linear>(widths[i], widths[i + 1], gen);
  }
  return m;
}

// The teacher-sized CNN: conv 3x3 (1 -> 32) - pool 2 - ReLU - conv 3x3 (32 -> 64) - pool 2 - ReLU
// - 256 hidden - 10 (pooling before the ReLU, as the teacher does: the same function).
nn::Sequential cnn(tensor::Generator& gen) {
  nn::Sequential m;
  m.emplace<nn::Conv2d>(1, 32, 3, 1, 1, gen);
  m.emplace<nn::MaxPool2d>(2);
  m.emplace<nn::ReLU>();
  m.emplace<nn::Conv2d>(32, 64, 3, 1, 1, gen);
  m.emplace<nn::MaxPool2d>(2);
  m.emplace<nn::ReLU>();
  m.emplace<nn::Flatten>();
  m.emplace<nn::Linear>(64 * 7 * 7, 256, gen);
  m.emplace<nn::ReLU>();
  m.emplace<nn::Linear>(256, 10, gen);
  return m;
}

// FLOPs of one CNN step, per example: a convolution is the product [H W, C k k] x [C k k, O]
// per image; conv 1 needs no input gradient (2 products), every other layer 3.
double cnn_step_flops() {
  const double conv1 = 28.0 * 28 * (1 * 9) * 32;
  const double conv2 = 14.0 * 14 * (32 * 9) * 64;
  const double fc1 = 64.0 * 7 * 7 * 256;
  const double fc2 = 256.0 * 10;
  return 2.0 * kBatch * (2 * conv1 + 3 * conv2 + 3 * fc1 + 3 * fc2);
}

// Trains `model` on one fixed batch with SGD and momentum; returns the seconds of a step.
double train_steps(benchmark::State& state, nn::Module& model, const Tensor& images) {
  const nn::Labels labels = random_labels(kBatch);
  nn::SGD opt(model.parameters(), 0.01f, 0.9f);
  const double seconds = bench::time_steps(state, [&] {
    opt.zero_grad();
    nn::cross_entropy(model(Var(images)), labels).backward();
    opt.step();
  });
  state.SetItemsProcessed(state.iterations() * kBatch);
  return seconds;
}

// 784-1200-1200-10, SGD with momentum: 2 x 128 x (3 x 2,392,800 - 940,800) = 1.597e9 FLOPs
// (bench::mlp_products). blas_us is the time of those eight products run alone, so
// non_blas_us is what the library adds around them.
void BM_MlpTrainStep(benchmark::State& state) {
  tensor::Generator gen(1);
  const std::vector<int64_t> widths = {784, 1200, 1200, 10};
  nn::Sequential model = mlp(widths, gen);
  const double step = train_steps(state, model, bench::random_tensor({kBatch, 784}));
  const std::vector<bench::Product> products = bench::mlp_products(widths, kBatch);
  bench::set_gflops(state, bench::flops_of(products));
  bench::set_blas_share(state, step, products);
}

void BM_CnnTrainStep(benchmark::State& state) {
  tensor::Generator gen(2);
  nn::Sequential model = cnn(gen);
  train_steps(state, model, bench::random_tensor({kBatch, 1, 28, 28}));
  bench::set_gflops(state, cnn_step_flops());
}

// Hinton et al.'s wide student (784-800-800-10), distilled against cached teacher
// logits, distillation loss at T = 4, alpha = 0.5.
void BM_DistillStep(benchmark::State& state) {
  tensor::Generator gen(3);
  const std::vector<int64_t> widths = {784, 800, 800, 10};
  nn::Sequential student = mlp(widths, gen);
  const Tensor images = bench::random_tensor({kBatch, 784});
  const Tensor teacher_logits = tensor::mul(bench::random_tensor({kBatch, 10}, 9), 5.0f);
  const nn::Labels labels = random_labels(kBatch);
  nn::SGD opt(student.parameters(), 0.01f, 0.9f);
  const double step = bench::time_steps(state, [&] {
    opt.zero_grad();
    nn::distillation_loss(student(Var(images)), teacher_logits, labels, 4.0f, 0.5f).backward();
    opt.step();
  });
  const std::vector<bench::Product> products = bench::mlp_products(widths, kBatch);
  bench::set_gflops(state, bench::flops_of(products));
  bench::set_blas_share(state, step, products);
  state.SetItemsProcessed(state.iterations() * kBatch);
}

BENCHMARK(BM_MlpTrainStep)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_CnnTrainStep)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_DistillStep)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
