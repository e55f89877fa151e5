# Runs one of examples/ for its page in the docs, and writes its command line and what it
# printed to OUT (the page shows it under the program):
#   cmake -DEXE=<program> "-DARGS=<arguments>" -DOUT=<file> -DWORK=<empty directory to run in>
#         -P run_example.cmake
# A failing example fails the docs build, with its output.
separate_arguments(args UNIX_COMMAND "${ARGS}")
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
execute_process(COMMAND ${EXE} ${args} WORKING_DIRECTORY ${WORK}
                RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
get_filename_component(name ${EXE} NAME)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${name} ${ARGS} failed (${status}):\n${out}${err}")
endif()
string(STRIP "$ ${name} ${ARGS}" command)
file(WRITE ${OUT} "${command}\n${out}")
