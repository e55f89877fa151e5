/// \file
/// \brief Threads: how many the kernels and OpenBLAS use, and when a loop is worth splitting.
#pragma once

#include <cstdint>

namespace tensor {

/// \ingroup tensor
/// \brief Loops over fewer elements than this stay on one thread: below it the cost of
/// waking a second thread exceeds the work (measured on the 2-core book machine).
inline constexpr int64_t kParallelMinElements = 1 << 15;

/// \ingroup tensor
/// \brief Sets the threads used by the elementwise kernels (OpenMP) and by `matmul` (OpenBLAS).
/// \throws ValueError `set_num_threads: need at least 1 thread, got 0`.
void set_num_threads(int threads);

/// \ingroup tensor
/// \brief The threads the kernels use (by default, every core).
int num_threads();

}  // namespace tensor
