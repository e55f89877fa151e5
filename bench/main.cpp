// The benchmark runner: Google Benchmark's own flags, plus --threads N for the library's
// kernels and OpenBLAS (both cores by default). The context names the BLAS and its kernels.
#include "tensor/parallel.h"

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    if (arg == "--threads" && i + 1 < argc) {
      value = argv[++i];
    } else if (arg.rfind("--threads=", 0) == 0) {
      value = arg.substr(10);
    } else {
      rest.push_back(argv[i]);
      continue;
    }
    char* end = nullptr;
    const long threads = std::strtol(value.c_str(), &end, 10);
    if (end == value.c_str() || *end != '\0' || threads < 1) {
      std::fprintf(stderr, "kd_bench: --threads needs a positive whole number, got '%s'\n", value.c_str());
      return 2;
    }
    tensor::set_num_threads(static_cast<int>(threads));
  }
  tensor::set_flush_denormal(true);  // as the chapters run
  benchmark::AddCustomContext("threads", std::to_string(tensor::num_threads()));
  // Every number below depends on which kernels OpenBLAS picked for this CPU: name them.
  const tensor::BlasInfo blas = tensor::blas_info();
  benchmark::AddCustomContext("blas", blas.library + " " + blas.version + ", " + blas.kernel + " kernels, " +
                                          std::to_string(blas.threads) + " threads");
  int count = static_cast<int>(rest.size());
  benchmark::Initialize(&count, rest.data());
  if (benchmark::ReportUnrecognizedArguments(count, rest.data())) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
