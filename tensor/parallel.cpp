#include "tensor/parallel.h"

#include "tensor/errors.h"

#include <cblas.h>
#include <omp.h>

#if defined(__SSE__)
#include <xmmintrin.h>
#endif

#include <string>

namespace tensor {

void set_num_threads(int threads) {
  if (threads < 1) {
    throw ValueError("set_num_threads: need at least 1 thread, got " + std::to_string(threads));
  }
  omp_set_num_threads(threads);
  openblas_set_num_threads(threads);
}

int num_threads() { return omp_get_max_threads(); }

BlasInfo blas_info() {
  BlasInfo info{"OpenBLAS", "", openblas_get_corename(), openblas_get_config(), openblas_get_num_threads()};
  // The build line starts "OpenBLAS 0.3.21 ...": the version is its second word.
  const size_t start = info.config.find(' ');
  if (start != std::string::npos) info.version = info.config.substr(start + 1, info.config.find(' ', start + 1) - start - 1);
  return info;
}

void set_flush_denormal(bool on) {
#if defined(__SSE__)
  // MXCSR bit 15 flushes subnormal results to zero (FTZ), bit 6 reads subnormal inputs as
  // zero (DAZ). Each thread has its own MXCSR: set it here and on every thread of the pool;
  // threads the pool creates later copy it from this one.
  constexpr unsigned kFlags = 0x8040;
  const auto apply = [on] { _mm_setcsr(on ? (_mm_getcsr() | kFlags) : (_mm_getcsr() & ~kFlags)); };
  apply();
#pragma omp parallel
  apply();
#else
  (void)on;
#endif
}

}  // namespace tensor
