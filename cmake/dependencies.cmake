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

pkg_check_modules(OPENBLAS QUIET IMPORTED_TARGET openblas)
if(NOT OPENBLAS_FOUND)
  kd_missing("OpenBLAS (pkg-config openblas)" libopenblas-dev)
endif()

find_package(OpenMP QUIET COMPONENTS CXX)
if(NOT OpenMP_CXX_FOUND)
  kd_missing("OpenMP for C++" g++)
endif()

find_package(ZLIB QUIET)
if(NOT ZLIB_FOUND)
  kd_missing("zlib" zlib1g-dev)
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
