// The time a step spends in OpenBLAS's products, measured inside the step itself.
//
// kd_bench defines cblas_sgemm itself (blas_clock.cpp): every product the library calls
// (matmul, the convolutions), the ceiling's and BM_Sgemm's too, goes through it to
// OpenBLAS's, and while a clock is running each call's wall time is added up. Products run
// apart from the step (on other operands, cold, or with beta = 0 where the library uses
// beta = 1) are not the step's: they took 10-20% longer than the same products inside the
// MLP step on the AMD machine.
#pragma once

namespace bench {

// The seconds of the cblas_sgemm calls made between start() and stop(), one clock at a
// time. A call from outside a parallel region (matmul's: OpenBLAS spreads it over its own
// threads) counts its wall time; one from inside a team of t threads (the convolutions' one
// product per image on each thread) counts its time over t, its share of the cores. The sum
// is the wall time the products would take run back to back, the rest of the step left out.
class BlasClock {
 public:
  void start();
  // The products' seconds since start().
  double stop();
};

}  // namespace bench
