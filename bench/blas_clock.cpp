#include "bench/blas_clock.h"

#include <cblas.h>
#include <dlfcn.h>
#include <omp.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace {

using Clock = std::chrono::steady_clock;

std::atomic<bool> running{false};
std::mutex mutex;
double seconds = 0.0;  // of the products since start(), guarded by mutex

using Sgemm = void (*)(CBLAS_ORDER, CBLAS_TRANSPOSE, CBLAS_TRANSPOSE, blasint, blasint, blasint, float, const float*,
                       blasint, const float*, blasint, float, float*, blasint);

// OpenBLAS's cblas_sgemm: the next definition after this executable's own.
Sgemm openblas_sgemm() {
  static const auto real = reinterpret_cast<Sgemm>(dlsym(RTLD_NEXT, "cblas_sgemm"));
  if (real == nullptr) {
    std::fprintf(stderr, "kd_bench: cblas_sgemm not found in the libraries after kd_bench (%s)\n", dlerror());
    std::abort();
  }
  return real;
}

}  // namespace

extern "C" void cblas_sgemm(CBLAS_ORDER order, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, blasint m, blasint n, blasint k,
                            float alpha, const float* a, blasint lda, const float* b, blasint ldb, float beta, float* c,
                            blasint ldc) {
  const Sgemm sgemm = openblas_sgemm();
  if (!running.load(std::memory_order_relaxed)) {
    sgemm(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  const auto begin = Clock::now();
  sgemm(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  const double share = std::chrono::duration<double>(Clock::now() - begin).count() /
                       (omp_in_parallel() ? omp_get_num_threads() : 1);
  const std::lock_guard<std::mutex> lock(mutex);
  seconds += share;
}

namespace bench {

void BlasClock::start() {
  const std::lock_guard<std::mutex> lock(mutex);
  seconds = 0.0;
  running.store(true, std::memory_order_relaxed);
}

double BlasClock::stop() {
  running.store(false, std::memory_order_relaxed);
  const std::lock_guard<std::mutex> lock(mutex);
  return seconds;
}

}  // namespace bench
