# ctest: the same seed and thread count give bit-identical checkpoints and results, and the
# students give the same results on one thread as on two (the lab trains each on one core). EXE
# is ch02_teacher (trains the quick teacher: teacher.ckpt), STUDENTS is ch07_unseen_class
# (trains students in the lab; its results.json holds no timings, so it can be compared byte for
# byte, all but the thread count it records).
file(REMOVE_RECURSE ${WORK})
foreach(run a b)
  foreach(exe ${EXE} ${STUDENTS})
    get_filename_component(name ${exe} NAME)
    execute_process(COMMAND ${exe} --quick --threads 2 --data ${DATA} --out ${WORK}/${run}/${name}
                    RESULT_VARIABLE code OUTPUT_QUIET ERROR_VARIABLE err)
    if(NOT code EQUAL 0)
      message(FATAL_ERROR "${name} failed (${code}): ${err}")
    endif()
  endforeach()
endforeach()
foreach(file ch02_teacher/teacher.ckpt ch02_teacher/teacher_logits.ckpt ch07_unseen_class/results.json)
  execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${WORK}/a/${file} ${WORK}/b/${file} RESULT_VARIABLE differ)
  if(differ)
    message(FATAL_ERROR "two runs with the same seed wrote different ${file}")
  endif()
  message(STATUS "${file}: identical in both runs")
endforeach()
# Run c: the students alone, on one thread, from run a's teacher.
file(COPY ${WORK}/a/ch02_teacher DESTINATION ${WORK}/c)
get_filename_component(name ${STUDENTS} NAME)
execute_process(COMMAND ${STUDENTS} --quick --threads 1 --data ${DATA} --out ${WORK}/c/${name}
                RESULT_VARIABLE code OUTPUT_QUIET ERROR_VARIABLE err)
if(NOT code EQUAL 0)
  message(FATAL_ERROR "${name} --threads 1 failed (${code}): ${err}")
endif()
foreach(run b c)
  file(READ ${WORK}/${run}/${name}/results.json results_${run})
  string(JSON threads_${run} GET "${results_${run}}" blas threads)
  string(JSON results_${run} REMOVE "${results_${run}}" blas threads)
endforeach()
if(NOT threads_b EQUAL 2 OR NOT threads_c EQUAL 1)
  message(FATAL_ERROR "the runs recorded ${threads_b} and ${threads_c} threads, not 2 and 1")
endif()
if(NOT results_b STREQUAL results_c)
  message(FATAL_ERROR "${name} wrote other results on one thread than on two")
endif()
message(STATUS "${name}/results.json: identical on one thread and on two (but the thread count)")
file(REMOVE_RECURSE ${WORK})
