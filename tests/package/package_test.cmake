# The package test: what a user of the installed libraries does, step by step.
#
#   cmake -DBUILD=<build tree> -DSOURCE=<repository> -DWORK=<scratch dir> -DDATA=<Fashion-MNIST>
#         -DCXX=<compiler> "-DFLAGS=<compile flags>" -DJOBS=<n> -P package_test.cmake
#
# 1. `cmake --install BUILD --prefix WORK/prefix`; every public header of the source tree
#    must be there.
# 2. Each installed header compiles alone, seeing only the installed package (headers/).
# 3. Each example of examples/ is configured as a project of its own (find_package(kd) with
#    CMAKE_PREFIX_PATH=WORK/prefix), built with FLAGS (warnings are errors) and run on a small
#    subset of the data, then with bad input, which must get one line and a non-zero exit.
# 4. Example 3 is built once more from the source tree through add_subdirectory.
# Any failure stops the test with the output of the step that failed.
foreach(var BUILD SOURCE WORK DATA CXX JOBS)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "package_test.cmake: pass -D${var}=...")
  endif()
endforeach()
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
set(prefix ${WORK}/prefix)

# step(WHAT COMMAND...): runs the command; on failure stops, showing its output.
function(step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "${what} failed (${status}):\n${out}\n${err}")
  endif()
endfunction()

# build_project(NAME DIR [-Dvar=value...]): configures DIR as a CMake project of its own in WORK/NAME
# with the suite's compiler and flags, and builds it.
function(build_project name dir)
  step("configuring ${name}" ${CMAKE_COMMAND} -S ${dir} -B ${WORK}/${name} -DCMAKE_CXX_COMPILER=${CXX}
       -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS=${FLAGS}" ${ARGN})
  step("building ${name}" ${CMAKE_COMMAND} --build ${WORK}/${name} -j ${JOBS})
endfunction()

# run(NAME EXPECT STATUS [STDOUT regex] [STDERR regex] [IN DIR] ARGS args...): runs the program
# NAME built in WORK/DIR (default WORK/NAME); it must exit with STATUS, and its output match the
# regexes. A failing run must say so in one line, starting with its name. Sets `output` (stdout)
# in the caller.
function(run name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "EXPECT;STDOUT;STDERR;IN" "ARGS")
  if(NOT DEFINED arg_IN)
    set(arg_IN ${name})
  endif()
  execute_process(COMMAND ${WORK}/${arg_IN}/${name} ${arg_ARGS}
                  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
  string(JOIN " " command ${name} ${arg_ARGS})
  set(shown "$ ${command}\n${out}${err}")
  if(NOT status STREQUAL arg_EXPECT)
    message(FATAL_ERROR "${command}: exit status ${status}, expected ${arg_EXPECT}:\n${shown}")
  endif()
  if(DEFINED arg_STDOUT AND NOT out MATCHES "${arg_STDOUT}")
    message(FATAL_ERROR "${command}: the output does not match '${arg_STDOUT}':\n${shown}")
  endif()
  if(DEFINED arg_STDERR AND NOT err MATCHES "${arg_STDERR}")
    message(FATAL_ERROR "${command}: the error does not match '${arg_STDERR}':\n${shown}")
  endif()
  if(NOT status EQUAL 0 AND NOT err MATCHES "^${name}: [^\n]+\n$")
    message(FATAL_ERROR "${command}: a failure must be one line starting '${name}: ':\n${shown}")
  endif()
  message(STATUS "${shown}")
  file(APPEND ${WORK}/outputs.txt "${shown}\n")
  set(output "${out}" PARENT_SCOPE)
endfunction()

# --- 1. install --------------------------------------------------------------------------
step("cmake --install" ${CMAKE_COMMAND} --install ${BUILD} --prefix ${prefix})
# Headers that only the libraries' .cpp files include, and so are not installed.
set(internal_headers tensor/pool_planes.h tensor/strided.h)
file(GLOB public_headers RELATIVE ${SOURCE} ${SOURCE}/tensor/*.h ${SOURCE}/autograd/*.h ${SOURCE}/nn/*.h)
list(REMOVE_ITEM public_headers ${internal_headers})
foreach(header IN LISTS public_headers)
  if(NOT EXISTS ${prefix}/include/kd/${header})
    message(FATAL_ERROR "${header} was not installed (as ${prefix}/include/kd/${header}): list it in its "
                        "folder's CMakeLists.txt, or in internal_headers here if no user needs it")
  endif()
endforeach()
list(LENGTH public_headers count)
message(STATUS "installed into ${prefix}: ${count} headers, every public one")

# --- 2. each installed header alone -------------------------------------------------------
build_project(installed_headers ${SOURCE}/tests/package/headers -DCMAKE_PREFIX_PATH=${prefix})

# --- 3. the examples, each a project of its own ---------------------------------------------
foreach(example custom_op mlp distill)
  build_project(${example} ${SOURCE}/examples/${example} -DCMAKE_PREFIX_PATH=${prefix})
endforeach()

# Example 3: the right backward passes gradcheck, the wrong one fails it.
run(custom_op EXPECT 0 STDOUT "right backward: passed.*1/beta forgotten: +failed, as it should")
run(custom_op EXPECT 2 ARGS --help)

# Example 1: five epochs on 1000 images; a model that learned anything is far above chance (10%).
run(mlp EXPECT 0 STDOUT "epoch 5: 1000 training images" ARGS --data ${DATA} --limit 1000)
string(REGEX MATCH "epoch 5: [^\n]* test accuracy ([0-9.]+)%" line "${output}")
if(CMAKE_MATCH_1 LESS 50)
  message(FATAL_ERROR "mlp: test accuracy ${CMAKE_MATCH_1}% after 5 epochs: it did not learn")
endif()
run(mlp EXPECT 2 STDERR "--limit needs a positive whole number, not '12x'" ARGS --data ${DATA} --limit 12x)
run(mlp EXPECT 2 STDERR "unknown argument '--epochs'" ARGS --epochs 3)
run(mlp EXPECT 1 STDERR "${WORK}/no-data" ARGS --data ${WORK}/no-data --limit 10)

# Example 2: the teacher's logits are saved, then read back by a second run, which trains the
# same student from them (the file holds the logits bit for bit) without training a teacher.
set(logits ${WORK}/teacher_logits.ckpt)
run(distill EXPECT 0 STDOUT "teacher: .*student .*test accuracy" ARGS --data ${DATA} --limit 1000 --logits ${logits})
string(REGEX MATCH "student [^\n]*" first "${output}")
run(distill EXPECT 0 ARGS --data ${DATA} --limit 1000 --logits ${logits})
if(output MATCHES "teacher:")
  message(FATAL_ERROR "distill trained the teacher again although ${logits} exists")
endif()
string(REGEX MATCH "student [^\n]*" second "${output}")
if(NOT first STREQUAL second)
  message(FATAL_ERROR "the student from the saved logits differs:\n  ${first}\n  ${second}")
endif()
run(distill EXPECT 1 STDERR "not the teacher logits \\[500, 10\\]" ARGS --data ${DATA} --limit 500 --logits ${logits})
file(WRITE ${WORK}/corrupt.ckpt "not a checkpoint")
run(distill EXPECT 1 STDERR "corrupt.ckpt" ARGS --data ${DATA} --limit 500 --logits ${WORK}/corrupt.ckpt)

# Example 1's OpenBLAS is the OpenMP build, found through the installed package.
execute_process(COMMAND ldd ${WORK}/mlp/mlp OUTPUT_VARIABLE libraries)
if(NOT libraries MATCHES "libopenblas[^\n]*openblas-openmp")
  message(FATAL_ERROR "mlp is not linked with OpenBLAS's OpenMP build:\n${libraries}")
endif()

# --- 4. through add_subdirectory -------------------------------------------------------------
build_project(add_subdirectory ${SOURCE}/tests/package/add_subdirectory -DKD_SOURCE_DIR=${SOURCE})
run(custom_op IN add_subdirectory EXPECT 0 STDOUT "right backward: passed")
message(STATUS "the package works: outputs in ${WORK}/outputs.txt")
