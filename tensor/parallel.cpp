#include "tensor/parallel.h"

#include "tensor/errors.h"

#include <cblas.h>
#include <omp.h>

#if defined(__SSE__)
#include <xmmintrin.h>
#endif

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <string>

namespace tensor {

namespace {
// MXCSR bit 15 flushes subnormal results to zero (FTZ), bit 6 reads subnormal inputs as zero (DAZ).
[[maybe_unused]] constexpr unsigned kFlushDenormalFlags = 0x8040;
}  // namespace

void set_num_threads(int threads) {
  if (threads < 1) {
    throw ValueError("set_num_threads: need at least 1 thread, got " + std::to_string(threads));
  }
  omp_set_num_threads(threads);
  openblas_set_num_threads(threads);
}

int num_threads() { return omp_get_max_threads(); }

void run_side_by_side(int64_t count, int workers, const std::function<void(int64_t)>& task) {
  if (workers < 1) throw ValueError("run_side_by_side: need at least 1 worker, got " + std::to_string(workers));
  if (count <= 0) return;
  const int saved_threads = num_threads();
#if defined(__SSE__)
  const unsigned flush_bits = _mm_getcsr() & kFlushDenormalFlags;  // FTZ and DAZ as the caller has them
#endif
  std::atomic<int64_t> next{0};
  std::mutex failure_mutex;
  std::exception_ptr failure;
  // With one thread in its team, a region is inactive: OpenBLAS would then take its thread
  // count from omp_get_max_threads(), which each worker sets to 1 for its own kernels.
#pragma omp parallel num_threads(static_cast<int>(std::min<int64_t>(workers, count)))
  {
    omp_set_num_threads(1);
#if defined(__SSE__)
    _mm_setcsr((_mm_getcsr() & ~kFlushDenormalFlags) | flush_bits);
#endif
    for (int64_t i = next++; i < count; i = next++) {
      try {
        task(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(failure_mutex);
        if (!failure) failure = std::current_exception();
      }
    }
  }
  set_num_threads(saved_threads);
  if (failure) std::rethrow_exception(failure);
}

BlasInfo blas_info() {
  BlasInfo info{"OpenBLAS", "", openblas_get_corename(), openblas_get_config(), openblas_get_num_threads()};
  // The build line starts "OpenBLAS 0.3.21 ...": the version is its second word.
  const size_t start = info.config.find(' ');
  if (start != std::string::npos) info.version = info.config.substr(start + 1, info.config.find(' ', start + 1) - start - 1);
  return info;
}

void set_flush_denormal(bool on) {
#if defined(__SSE__)
  // Each thread has its own MXCSR: set it here and on every thread of the pool; threads the
  // pool creates later copy it from this one.
  const auto apply = [on] {
    _mm_setcsr(on ? (_mm_getcsr() | kFlushDenormalFlags) : (_mm_getcsr() & ~kFlushDenormalFlags));
  };
  apply();
#pragma omp parallel
  apply();
#else
  (void)on;
#endif
}

}  // namespace tensor
