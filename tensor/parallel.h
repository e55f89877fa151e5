/// \file
/// \brief Threads: how many the kernels and OpenBLAS use, and when a loop is worth splitting.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

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

/// \ingroup tensor
/// \brief Runs `task(0)`, ..., `task(count - 1)` on `workers` threads at once, each task whole
/// on one thread whose kernels and OpenBLAS products use that thread alone; the next task goes
/// to the first thread free. Every thread flushes subnormals as the caller does.
///
/// A task computes the same bits whatever `workers` is (1 included: the tasks then run one
/// after another, still with single-threaded kernels): only independent tasks belong here,
/// e.g. students that share nothing but read-only data. Many small products gain more from
/// this than from splitting each product over the cores.
/// \param count tasks \param workers threads, at least 1 (fewer are started when there are
/// fewer tasks) \param task called once per index, from any of the threads
/// \throws ValueError when workers < 1; the first exception a task threw, rethrown once every
/// task has ended (the others still run).
void run_side_by_side(int64_t count, int workers, const std::function<void(int64_t)>& task);

/// \ingroup tensor
/// \brief Flushes subnormal floats to zero (the x86 FTZ and DAZ flags) on the calling thread
/// and every kernel thread, or stops doing so; like PyTorch's `set_flush_denormal`.
///
/// A subnormal (below \f$ 1.2 \times 10^{-38} \f$ in magnitude) costs about a hundred times a
/// normal float operation. Training produces them: Adam's second moment of a vanishing
/// gradient, \f$ v \approx g^2 \f$, drifts below that range, and the teacher's Adam update
/// grew from 3% to over 20% of a step. Flushed, they become 0, a change far below float
/// precision of anything that matters. The chapters and benchmarks turn it on. No effect
/// on processors without SSE.
void set_flush_denormal(bool on);

/// \ingroup tensor
/// \brief Which BLAS does the products, and how: what a result should be labelled with,
/// since another kernel rounds differently.
struct BlasInfo {
  std::string library;  ///< "OpenBLAS"
  std::string version;  ///< e.g. "0.3.21"
  std::string kernel;   ///< the kernel OpenBLAS chose for this CPU (`openblas_get_corename()`), e.g. "Haswell"
  std::string config;   ///< OpenBLAS's build line (`openblas_get_config()`)
  int threads = 0;      ///< the threads OpenBLAS uses now
};

/// \ingroup tensor
/// \brief The BLAS in use (see `BlasInfo`).
BlasInfo blas_info();

}  // namespace tensor
