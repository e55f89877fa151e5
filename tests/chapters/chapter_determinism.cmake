# ctest: the same seed and thread count give bit-identical checkpoints and results. EXE is
# ch02_teacher (trains the quick teacher: teacher.ckpt), STUDENTS is ch07_unseen_class
# (trains students; its results.json holds no timings, so it can be compared byte for byte).
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
file(REMOVE_RECURSE ${WORK})
