// Whole training steps (forward, loss, backward, update) of the book's networks, batch 128.
// Each reports GFLOP/s counted from the matrix products the step performs, held against
// BM_Sgemm/128/1200/784's product run between its steps (of_sgemm, bench::time_steps).
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

using bench::kBatch;

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

// Trains `model` on one fixed batch with SGD and momentum.
bench::StepTimes train_steps(benchmark::State& state, nn::Module& model, const Tensor& images) {
  const nn::Labels labels = bench::random_labels(kBatch);
  nn::SGD opt(model.parameters(), 0.01f, 0.9f);
  const bench::StepTimes times = bench::time_steps(state, [&] {
    opt.zero_grad();
    nn::cross_entropy(model(Var(images)), labels).backward();
    opt.step();
  });
  state.SetItemsProcessed(state.iterations() * kBatch);
  return times;
}

// 784-1200-1200-10, SGD with momentum: 2 x 128 x (3 x 2,392,800 - 940,800) = 1.597e9 FLOPs
// (bench::mlp_step_flops).
void BM_MlpTrainStep(benchmark::State& state) {
  tensor::Generator gen(1);
  const std::vector<int64_t> widths = {784, 1200, 1200, 10};
  nn::Sequential model = mlp(widths, gen);
  bench::set_mlp_counters(state, train_steps(state, model, bench::random_tensor({kBatch, 784})), widths);
}

void BM_CnnTrainStep(benchmark::State& state) {
  tensor::Generator gen(2);
  nn::Sequential model = cnn(gen);
  bench::set_step_counters(state, train_steps(state, model, bench::random_tensor({kBatch, 1, 28, 28})),
                           bench::cnn_flops(32, 64, 256, kBatch).step());
}

// Hinton et al.'s wide student (784-800-800-10), distilled against cached teacher
// logits, distillation loss at T = 4, alpha = 0.5.
void BM_DistillStep(benchmark::State& state) {
  tensor::Generator gen(3);
  const std::vector<int64_t> widths = {784, 800, 800, 10};
  nn::Sequential student = mlp(widths, gen);
  bench::set_mlp_counters(state, bench::distill_steps(state, student, 4.0f, 0.5f, 0.01f), widths);
}

BENCHMARK(BM_MlpTrainStep)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_CnnTrainStep)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_DistillStep)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
