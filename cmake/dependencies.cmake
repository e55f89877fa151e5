# Finds every external dependency. Each comes from a Debian package, which ./run
# installs; a missing one stops the configure step with the package to install.

find_package(PkgConfig)
if(NOT PkgConfig_FOUND)
  message(FATAL_ERROR "pkg-config not found: install the Debian package 'pkg-config' (./run installs it)")
endif()

# kd_missing(WHAT PACKAGE): stops with a message naming the Debian package.
function(kd_missing what package)
  message(FATAL_ERROR "${what} not found: install the Debian package '${package}' "
                      "(./run installs every missing package)")
endfunction()

# OpenBLAS built with OpenMP, not the default pthread build: our kernels use OpenMP, and
# the pthread build's threads spin while ours work (and ours while it works), so on two
# cores each side stole the other's core. With one OpenMP pool the MLP training step went
# from 44% to over 80% of sgemm's GFLOP/s (bench/, BM_MlpTrainStep). The library is linked
# with an RUNPATH to its directory, so Debian's alternatives cannot swap it at run time.
set(KD_OPENBLAS_PC_DIR /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-openmp/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "${KD_OPENBLAS_PC_DIR}:$ENV{PKG_CONFIG_PATH}")
pkg_check_modules(OPENBLAS_OMP QUIET IMPORTED_TARGET openblas)
if(NOT OPENBLAS_OMP_FOUND OR NOT OPENBLAS_OMP_LIBRARY_DIRS MATCHES "openblas-openmp")
  kd_missing("OpenBLAS built with OpenMP (${KD_OPENBLAS_PC_DIR}/openblas.pc)" libopenblas-openmp-dev)
endif()

find_package(OpenMP QUIET COMPONENTS CXX)
if(NOT OpenMP_CXX_FOUND)
  kd_missing("OpenMP for C++" g++)
endif()

find_package(ZLIB QUIET)
if(NOT ZLIB_FOUND)
  kd_missing("zlib" zlib1g-dev)
endif()

find_package(fmt QUIET CONFIG)
if(NOT fmt_FOUND)
  kd_missing("{fmt}" libfmt-dev)
endif()
find_package(CLI11 QUIET CONFIG)
if(NOT CLI11_FOUND)
  kd_missing("CLI11" libcli11-dev)
endif()
find_package(nlohmann_json QUIET CONFIG)
if(NOT nlohmann_json_FOUND)
  kd_missing("nlohmann-json" nlohmann-json3-dev)
endif()

if(KD_BUILD_TESTS)
  find_package(doctest QUIET CONFIG)
  if(NOT doctest_FOUND)
    kd_missing("doctest" doctest-dev)
  endif()
endif()

if(KD_BUILD_BENCH)
  find_package(benchmark QUIET CONFIG)
  if(NOT benchmark_FOUND)
    kd_missing("Google Benchmark" libbenchmark-dev)
  endif()
endif()

find_package(Doxygen QUIET)
if(NOT DOXYGEN_FOUND)
  kd_missing("doxygen" doxygen)
endif()
