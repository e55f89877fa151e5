// What the benchmark files share: counters and random inputs.
#pragma once

#include "tensor/random.h"
#include "tensor/tensor.h"

#include <benchmark/benchmark.h>

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

}  // namespace bench
