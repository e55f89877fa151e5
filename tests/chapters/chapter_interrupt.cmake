# ctest: a chapter (EXE, ch02_teacher: it writes checkpoints, tables and plots) stopped by a
# signal at several moments leaves every file written before whole, and no temporary file.
# An end-to-end check: the quick run writes its files in its last moments, so most stops land
# before any write; the handler itself is tested deterministically in test_interrupt.cpp.
# SIGTERM, because a background job started by a script ignores SIGINT (and so do we).
file(REMOVE_RECURSE ${WORK})
set(out ${WORK}/book/ch02_teacher)
file(MAKE_DIRECTORY ${out})
set(previous "{\"from\": \"the previous run\"}\n")
file(WRITE ${out}/results.json "${previous}")
# Interrupt after a given time, at several moments of the run (the quick teacher takes ~2 s).
foreach(delay 0.3 0.8 1.5)
  execute_process(COMMAND sh -c "\"$0\" --quick --data \"$1\" --out \"$2\" >/dev/null 2>&1 & pid=$!; sleep ${delay}; kill -TERM $pid; wait $pid; echo $?"
                          ${EXE} ${DATA} ${out}
                  OUTPUT_VARIABLE status OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT status MATCHES "^(0|143)$")
    message(FATAL_ERROR "stopped after ${delay} s: exit ${status}, expected 0 (finished) or 143 (SIGTERM)")
  endif()
  file(GLOB_RECURSE temporary ${WORK}/*.tmp*)
  if(temporary)
    message(FATAL_ERROR "stopped after ${delay} s (exit ${status}): temporary files left: ${temporary}")
  endif()
  file(READ ${out}/results.json results)
  if(NOT results STREQUAL previous)
    # The run got as far as writing results.json: then it must be a whole, new one.
    string(JSON teacher ERROR_VARIABLE error GET "${results}" teacher test_accuracy)
    if(error)
      message(FATAL_ERROR "stopped after ${delay} s: results.json is neither the old file nor a whole new one:\n${results}")
    endif()
    set(previous "${results}")
  endif()
  foreach(checkpoint teacher.ckpt teacher_logits.ckpt)
    if(EXISTS ${WORK}/book/ch02_teacher/${checkpoint})
      file(SIZE ${WORK}/book/ch02_teacher/${checkpoint} size)
      if(size LESS 64)
        message(FATAL_ERROR "stopped after ${delay} s: ${checkpoint} is ${size} bytes")
      endif()
    endif()
  endforeach()
  message(STATUS "stopped after ${delay} s: exit ${status}, no temporary file, results.json whole")
endforeach()
file(REMOVE_RECURSE ${WORK})
