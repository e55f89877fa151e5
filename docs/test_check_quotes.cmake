# ctest: kd_check_quotes (EXE) accepts a text whose marked numbers are the reference run's,
# rounded to the digits shown, and names the file, line and value of each one that is not.
file(REMOVE_RECURSE ${WORK})
file(WRITE ${WORK}/reference/ch99_test.json [=[{"accuracy": 0.92944, "gain": 0.00438, "errors": 1474,
  "tiny": 0.000302, "negative": -0.0831, "verdicts": {"small": {"outcome": "holds"}}, "list": [0.5, 0.25]}]=])

function(check_quotes text expected_status)
  file(WRITE ${WORK}/text.md "${text}")
  execute_process(COMMAND ${EXE} ${WORK}/reference ${WORK}/text.md RESULT_VARIABLE status OUTPUT_VARIABLE out)
  if(NOT status EQUAL expected_status)
    message(FATAL_ERROR "kd_check_quotes exited with ${status}, not ${expected_status}, on:\n${text}\nIt said:\n${out}")
  endif()
  set(out "${out}" PARENT_SCOPE)
endfunction()

# Every form a text writes a number in, each the reference value rounded to the digits shown.
check_quotes("Accuracy 0.9294<!--ref ch99_test/accuracy-->, or **92.9%**<!--ref ch99_test/accuracy-->;
a gain of +0.0044<!--ref ch99_test/gain--> (0.44%<!--ref ch99_test/gain-->), 1,474<!--ref ch99_test/errors--> errors,
3.0e-4<!--ref ch99_test/tiny-->, then −0.083<!--ref ch99_test/negative-->; it holds<!--ref ch99_test/verdicts/small/outcome-->,
`0.25`<!--ref ch99_test/list/1-->; falls by 0.083<!--ref -ch99_test/negative-->." 0)
if(NOT out MATCHES "10 quoted numbers checked")
  message(FATAL_ERROR "expected 10 quotes checked:\n${out}")
endif()

# A number that is not the reference's, with the line it is on and the value it should be.
check_quotes("first line\nAccuracy 0.9290<!--ref ch99_test/accuracy-->." 1)
if(NOT out MATCHES "text.md:2: quotes 0.9290 where the reference run's ch99_test/accuracy is 0.9294")
  message(FATAL_ERROR "the message does not name the line and both values:\n${out}")
endif()
# Rounded the other way, a wrong sign, a wrong outcome, a pointer to nothing, a chapter the run lacks.
check_quotes("0.9295<!--ref ch99_test/accuracy-->" 1)
check_quotes("+0.083<!--ref ch99_test/negative-->" 1)
check_quotes("it cannot tell<!--ref ch99_test/verdicts/small/outcome-->" 1)
check_quotes("0.5<!--ref ch99_test/nothing/here-->" 1)
if(NOT out MATCHES "has nothing at /nothing/here")
  message(FATAL_ERROR "a pointer to nothing is not named:\n${out}")
endif()
check_quotes("0.5<!--ref ch42_missing/x-->" 1)
check_quotes("no number here<!--ref ch99_test/accuracy-->" 1)
