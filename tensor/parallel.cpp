#include "tensor/parallel.h"

#include "tensor/errors.h"

#include <cblas.h>
#include <omp.h>

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

}  // namespace tensor
