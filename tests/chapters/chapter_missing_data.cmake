# ctest: every chapter that reads Fashion-MNIST (EXES), pointed at a directory without it,
# exits 1 with one line naming the missing file and the Debian package, and writes nothing.
file(REMOVE_RECURSE ${WORK})
foreach(exe IN LISTS EXES)
  get_filename_component(chapter ${exe} NAME)
  set(out ${WORK}/book/${chapter})
  execute_process(COMMAND ${exe} --quick --data ${WORK}/nowhere --out ${out}
                  RESULT_VARIABLE code OUTPUT_QUIET ERROR_VARIABLE err)
  string(STRIP "${err}" line)
  string(FIND "${line}" "\n" newline)
  if(NOT code EQUAL 1 OR NOT newline EQUAL -1
     OR NOT line MATCHES "^${chapter}: .*/nowhere/train-images-idx3-ubyte.gz: cannot open.*dataset-fashion-mnist")
    message(FATAL_ERROR "${chapter} without data: exit ${code}, stderr:\n${err}")
  endif()
  file(GLOB left ${out}/*)
  if(left)
    message(FATAL_ERROR "${chapter} without data left ${left}")
  endif()
  message(STATUS "${chapter}: ${line}")
endforeach()
file(REMOVE_RECURSE ${WORK})
