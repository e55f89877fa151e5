# `cmake --install BUILD --prefix DIR` installs the three libraries as a CMake package, kd:
#
#   DIR/include/kd/{tensor,autograd,nn}/*.h   the public headers; the targets put DIR/include/kd
#                                             on the include path, so `#include "nn/layers.h"`
#                                             reads as it does in this repository
#   DIR/lib/libkd_{tensor,autograd,nn}.a      (lib/ is GNUInstallDirs' CMAKE_INSTALL_LIBDIR)
#   DIR/lib/cmake/kd/                         kd-config.cmake, its version file and the targets
#
# A program then says `find_package(kd 0.1 REQUIRED)` and links kd::nn (or kd::autograd,
# kd::tensor), which bring their include directory, C++20 and their dependencies (found again
# by kd-config.cmake). examples/ are three such programs; tests/package/ builds them.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(KD_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/kd)

# libnn.a would be a poor name to leave in someone's lib/.
foreach(library tensor autograd nn)
  set_target_properties(${library} PROPERTIES OUTPUT_NAME kd_${library})
endforeach()

install(TARGETS tensor autograd nn EXPORT kd-targets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        FILE_SET HEADERS DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/kd)
install(EXPORT kd-targets NAMESPACE kd:: DESTINATION ${KD_INSTALL_CMAKEDIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/kd-config.cmake.in
                              ${PROJECT_BINARY_DIR}/kd-config.cmake
                              INSTALL_DESTINATION ${KD_INSTALL_CMAKEDIR})
# 0.x: a new minor version may break the API, so only 0.1.* satisfies find_package(kd 0.1).
write_basic_package_version_file(${PROJECT_BINARY_DIR}/kd-config-version.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/kd-config.cmake ${PROJECT_BINARY_DIR}/kd-config-version.cmake
        DESTINATION ${KD_INSTALL_CMAKEDIR})
