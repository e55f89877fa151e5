# ctest: a chapter (EXE, a quick one) driven as a user would, with bad input.
# Each case: the exit code, one line on stderr naming what is wrong and where, and no
# results.json (or temporary file) left behind. WORK is a scratch directory; DATA the real data.
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
get_filename_component(chapter ${EXE} NAME)
set(files train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz)

# run(NAME EXPECTED_EXIT ARGS...): runs EXE ARGS with --out WORK/NAME/out; sets out, err, code.
macro(run name expected)
  set(out ${WORK}/${name}/out)
  execute_process(COMMAND ${EXE} ${ARGN} --out ${out} RESULT_VARIABLE code OUTPUT_VARIABLE stdout ERROR_VARIABLE err)
  if(NOT code STREQUAL "${expected}")
    message(FATAL_ERROR "${name}: ${chapter} exited with ${code}, expected ${expected}\nstdout:\n${stdout}\nstderr:\n${err}")
  endif()
endmacro()

# expect_error(NAME TEXT...): stderr is one line, `chapter: ...`, holding every TEXT.
function(expect_error name)
  string(STRIP "${err}" line)
  string(FIND "${line}" "\n" newline)
  if(NOT newline EQUAL -1 OR NOT line MATCHES "^${chapter}: ")
    message(FATAL_ERROR "${name}: expected one line `${chapter}: ...` on stderr, got:\n${err}")
  endif()
  foreach(text IN LISTS ARGN)
    string(FIND "${line}" "${text}" at)
    if(at EQUAL -1)
      message(FATAL_ERROR "${name}: the error does not say `${text}`:\n${line}")
    endif()
  endforeach()
  file(GLOB left ${out}/*)  # no results.json, no table, no plot, no temporary file
  if(left)
    message(FATAL_ERROR "${name}: a failed run left ${left}")
  endif()
  message(STATUS "${name}: ${line}")
endfunction()

# 1. No data at all.
run(missing_data 1 --quick --data ${WORK}/nowhere)
expect_error(missing_data "${WORK}/nowhere/train-images-idx3-ubyte.gz" "cannot open" "dataset-fashion-mnist")

# 2. Empty files.
file(MAKE_DIRECTORY ${WORK}/empty)
foreach(f IN LISTS files)
  file(WRITE ${WORK}/empty/${f} "")
endforeach()
run(empty_data 1 --quick --data ${WORK}/empty)
expect_error(empty_data "${WORK}/empty/train-images-idx3-ubyte.gz" "too short" "dataset-fashion-mnist")

# 3. Truncated gzip files.
file(MAKE_DIRECTORY ${WORK}/truncated)
foreach(f IN LISTS files)
  execute_process(COMMAND head -c 5000 ${DATA}/${f} OUTPUT_FILE ${WORK}/truncated/${f})
endforeach()
run(truncated_data 1 --quick --data ${WORK}/truncated)
expect_error(truncated_data "${WORK}/truncated/train-images-idx3-ubyte.gz" "ends early")

# 3b. One file missing (the others fine), and one whose gzip checksum fails (a flipped byte).
file(MAKE_DIRECTORY ${WORK}/one_missing ${WORK}/flipped)
foreach(f IN LISTS files)
  file(COPY ${DATA}/${f} DESTINATION ${WORK}/one_missing)
  file(COPY ${DATA}/${f} DESTINATION ${WORK}/flipped)
endforeach()
file(REMOVE ${WORK}/one_missing/t10k-labels-idx1-ubyte.gz)
run(one_missing 1 --quick --data ${WORK}/one_missing)
expect_error(one_missing "${WORK}/one_missing/t10k-labels-idx1-ubyte.gz" "cannot open")
file(SIZE ${WORK}/flipped/train-labels-idx1-ubyte.gz size)
math(EXPR middle "${size} / 2")
execute_process(COMMAND sh -c "printf 'XXXX' | dd of=\"$0\" bs=1 seek=$1 conv=notrunc status=none"
                        ${WORK}/flipped/train-labels-idx1-ubyte.gz ${middle})
run(flipped 1 --quick --data ${WORK}/flipped)
expect_error(flipped "${WORK}/flipped/train-labels-idx1-ubyte.gz" "gzip")

# 4. A header that lies: 2^31 images of 2^24 x 2^24 pixels in a 16-byte file.
file(MAKE_DIRECTORY ${WORK}/lying)
foreach(f IN LISTS files)
  file(COPY ${DATA}/${f} DESTINATION ${WORK}/lying)
endforeach()
execute_process(COMMAND sh -c "printf '\\000\\000\\010\\003\\200\\000\\000\\000\\001\\000\\000\\000\\001\\000\\000\\000' > \"$0\""
                        ${WORK}/lying/train-images-idx3-ubyte.gz)
run(lying_header 1 --quick --data ${WORK}/lying)
expect_error(lying_header "${WORK}/lying/train-images-idx3-ubyte.gz")

# 5. Flags: unknown, a value that is not a number, a negative seed (which an unsigned seed
# would otherwise wrap to 2^64 - 1) and too many threads: CLI11's message naming the flag, and
# usage, exit 2.
foreach(args "--bogus" "--seed;abc" "--seed;-1" "--seed;18446744073709551616" "--threads;-3" "--threads;100000")
  run(bad_flag 2 ${args})
  if(NOT err MATCHES "Usage: ${chapter}")
    message(FATAL_ERROR "bad flag ${args}: no usage on stderr:\n${err}")
  endif()
  list(GET args 0 flag)
  if(NOT err MATCHES "${flag}")
    message(FATAL_ERROR "bad flag ${args}: the message does not name ${flag}:\n${err}")
  endif()
  message(STATUS "bad flag ${args}: exit 2 with usage")
endforeach()

# 6. A corrupt teacher cache is noticed by its checksum and rebuilt, with a message.
run(teacher_first 0 --quick --data ${DATA})
set(cache ${WORK}/teacher_first/ch02_teacher/teacher_logits.ckpt)
if(NOT EXISTS ${cache})
  message(FATAL_ERROR "no teacher cache at ${cache} after a first run")
endif()
file(SIZE ${cache} size)
math(EXPR middle "${size} / 2")
execute_process(COMMAND sh -c "printf 'XXXX' | dd of=\"$0\" bs=1 seek=$1 conv=notrunc status=none" ${cache} ${middle})
set(out ${WORK}/teacher_first/out)
execute_process(COMMAND ${EXE} --quick --data ${DATA} --out ${out} RESULT_VARIABLE code OUTPUT_VARIABLE stdout ERROR_VARIABLE err)
if(NOT code EQUAL 0 OR NOT stdout MATCHES "teacher cache is unreadable.*training it")
  message(FATAL_ERROR "corrupt cache: exit ${code}, expected a rebuild with a message:\n${stdout}\n${err}")
endif()
message(STATUS "corrupt teacher cache: rebuilt, exit 0")
file(REMOVE_RECURSE ${WORK})
