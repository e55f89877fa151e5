// The elementwise and reduction kernels at the sizes a training step uses (batch 128,
// 1200 hidden units), in GB/s of memory traffic: bytes read plus bytes written.
#include "autograd/conv.h"
#include "autograd/norm.h"
#include "autograd/ops.h"
#include "bench/common.h"
#include "tensor/conv.h"
#include "tensor/norm.h"
#include "tensor/ops.h"

#include <benchmark/benchmark.h>

namespace {

using tensor::Tensor;

constexpr int64_t kRows = 128;
constexpr int64_t kCols = 1200;
constexpr double kMatrixBytes = kRows * kCols * sizeof(float);

void set_bytes(benchmark::State& state, double bytes_per_iteration) {
  state.counters["GB/s"] = benchmark::Counter(bytes_per_iteration * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// y = x + b with b [1200] broadcast over rows: the bias of a linear layer. Reads x, writes y.
void BM_AddBias(benchmark::State& state) {
  const Tensor x = bench::random_tensor({kRows, kCols}), b = bench::random_tensor({kCols});
  for (auto _ : state) benchmark::DoNotOptimize(tensor::add(x, b));
  set_bytes(state, 2 * kMatrixBytes);
}

// y = max(x, 0). Reads x, writes y.
void BM_Relu(benchmark::State& state) {
  const Tensor x = bench::random_tensor({kRows, kCols});
  for (auto _ : state) benchmark::DoNotOptimize(tensor::relu(x));
  set_bytes(state, 2 * kMatrixBytes);
}

// y = a * b elementwise, as in the backward of mul. Reads two, writes one.
void BM_Mul(benchmark::State& state) {
  const Tensor a = bench::random_tensor({kRows, kCols}), b = bench::random_tensor({kRows, kCols}, 8);
  for (auto _ : state) benchmark::DoNotOptimize(tensor::mul(a, b));
  set_bytes(state, 3 * kMatrixBytes);
}

// The bias gradient: the sum over the batch axis. Reads the matrix.
void BM_SumRows(benchmark::State& state) {
  const Tensor x = bench::random_tensor({kRows, kCols});
  for (auto _ : state) benchmark::DoNotOptimize(tensor::sum(x, 0));
  set_bytes(state, kMatrixBytes);
}

// A log-softmax over the 10 classes of a batch of logits. Reads and writes [128, 10].
void BM_LogSoftmax(benchmark::State& state) {
  const Tensor x = bench::random_tensor({kRows, 10});
  for (auto _ : state) benchmark::DoNotOptimize(tensor::log_softmax(x, 1));
  set_bytes(state, 2.0 * kRows * 10 * sizeof(float));
}

// The teacher's first pooling: 2x2 windows over its first convolution's output
// [128, 32, 28, 28]. Reads x, writes the maxima and one byte per maximum.
void BM_MaxPool2d(benchmark::State& state) {
  const Tensor x = bench::random_tensor({kRows, 32, 28, 28});
  for (auto _ : state) benchmark::DoNotOptimize(tensor::max_pool2d(x, 2, 2));
  set_bytes(state, x.numel() * (sizeof(float) + 1.25));
}

// Its gradient: reads dy and the positions, writes the [128, 32, 28, 28] input gradient.
void BM_MaxPool2dBackward(benchmark::State& state) {
  const Tensor x = bench::random_tensor({kRows, 32, 28, 28});
  const tensor::MaxPool2dResult pooled = tensor::max_pool2d(x, 2, 2);
  for (auto _ : state) {
    benchmark::DoNotOptimize(tensor::max_pool2d_backward(pooled.values, pooled.where, x.shape(), 2, 2));
  }
  set_bytes(state, x.numel() * (sizeof(float) + 1.25));
}

// The teacher's first BatchNorm in training mode over its first convolution's output
// [128, 32, 28, 28]: per channel the mean, the variance, then the normalised values. Counted
// as reading x once and writing y (its second and third reads of a channel hit the cache).
void BM_BatchNorm2d(benchmark::State& state) {
  const Tensor x = bench::random_tensor({kRows, 32, 28, 28});
  const Tensor gamma = bench::random_tensor({32}, 8), beta = bench::random_tensor({32}, 9);
  for (auto _ : state) benchmark::DoNotOptimize(tensor::batch_norm2d(x, gamma, beta, 1e-5f));
  set_bytes(state, 2.0 * x.numel() * sizeof(float));
}

// Its gradient: per channel the sums of dy and dy x_hat, then dx. Reads dy and x, writes dx.
void BM_BatchNorm2dBackward(benchmark::State& state) {
  const Tensor x = bench::random_tensor({kRows, 32, 28, 28}), dy = bench::random_tensor({kRows, 32, 28, 28}, 10);
  const Tensor gamma = bench::random_tensor({32}, 8), beta = bench::random_tensor({32}, 9);
  const tensor::BatchNorm2dResult r = tensor::batch_norm2d(x, gamma, beta, 1e-5f);
  for (auto _ : state) benchmark::DoNotOptimize(tensor::batch_norm2d_backward(dy, x, r.mean, gamma, r.inv_std));
  set_bytes(state, 3.0 * x.numel() * sizeof(float));
}

// The teacher's first BatchNorm-pool-ReLU block in training mode on [128, 32, 28, 28], forward
// and backward through the graph: the fused op (state.range(0) = 1) or the three ops one by one
// (0). Counted as the composed ops' minimum traffic would be without the fusion's savings: x read
// and dx written, the quarter-size output written and its gradient read.
void BM_BatchNormPoolRelu(benchmark::State& state) {
  const Tensor x = bench::random_tensor({kRows, 32, 28, 28});
  const Tensor direction = bench::random_tensor({kRows, 32, 14, 14}, 10);
  const autograd::Var gamma(bench::random_tensor({32}, 8), true), beta(bench::random_tensor({32}, 9), true);
  const bool fused = state.range(0) == 1;
  for (auto _ : state) {
    autograd::Var input(x, true);
    const autograd::Var z = fused ? autograd::batch_norm_pool_relu2d(input, gamma, beta).y
                                  : autograd::relu(autograd::max_pool2d(autograd::batch_norm2d(input, gamma, beta).y, 2, 2));
    autograd::sum(autograd::masked_mul(z, direction)).backward();
    benchmark::DoNotOptimize(input.grad().data());
  }
  set_bytes(state, 2.5 * x.numel() * sizeof(float));
}

BENCHMARK(BM_AddBias)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Relu)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Mul)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SumRows)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LogSoftmax)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MaxPool2d)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MaxPool2dBackward)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_BatchNormPoolRelu)->Arg(0)->Arg(1)->ArgName("fused")->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_BatchNorm2d)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_BatchNorm2dBackward)->Unit(benchmark::kMicrosecond);

}  // namespace
