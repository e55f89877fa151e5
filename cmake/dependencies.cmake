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

# kd_find(PACKAGE DEBIAN_PACKAGE [find_package options]): find it, or stop naming the package.
macro(kd_find package debian_package)
  find_package(${package} QUIET ${ARGN})
  if(NOT ${package}_FOUND)
    kd_missing("${package}" ${debian_package})
  endif()
endmacro()

kd_find(ZLIB zlib1g-dev)
if(KD_BUILD_CHAPTERS)  # the libraries need none of these
  kd_find(fmt libfmt-dev CONFIG)
  kd_find(CLI11 libcli11-dev CONFIG)
  kd_find(nlohmann_json nlohmann-json3-dev CONFIG)
  kd_find(Doxygen doxygen)
endif()
if(KD_BUILD_TESTS)
  kd_find(doctest doctest-dev CONFIG)
endif()
if(KD_BUILD_BENCH)
  kd_find(benchmark libbenchmark-dev CONFIG)
endif()
