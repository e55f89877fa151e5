# ctest: kd_results_page (EXE) turns a chapter's output directory into the HTML fragments of
# its page: tables from CSV (quoted cells and all), plots copied and linked, the verdict box
# from results.json; and a missing run into a note that says how to make one. With --summary,
# the main page's table of every chapter's verdicts.
set(dir ${WORK}/book/ch99_test)
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${dir})
file(WRITE ${dir}/results.json [=[{"verdicts": {"first": {"claim": "soft <beats> hard", "criterion": "CI above 0",
  "outcome": "holds", "holds": true, "evidence": "+0.004"}, "second": {"claim": "more", "criterion": "c",
  "outcome": "cannot tell", "holds": false, "evidence": "e"}, "third": {"claim": "less", "criterion": "c",
  "outcome": "no effect", "holds": false, "evidence": "e"}, "old": {"claim": "before outcomes", "criterion": "c",
  "holds": false, "evidence": "e"}},
  "students": [{"name": "wide", "verdict": {"claim": "wide wins", "criterion": "c", "outcome": "opposite",
  "holds": false, "evidence": "e"}}],
  "blas": {"library": "OpenBLAS", "version": "0.3.21", "kernel": "Zen", "threads": 2}, "cpu": "a CPU"}]=])
file(WRITE ${dir}/grid.csv "\nT,\"alpha, weight\"\n2,\"say \"\"<hi>\"\"\"\n3,\"two\nlines\"\n")
file(WRITE ${dir}/grid.svg "<svg xmlns=\"http://www.w3.org/2000/svg\"/>")

function(expect fragment text)
  file(READ ${fragment} html)
  string(FIND "${html}" "${text}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "${fragment} lacks `${text}`:\n${html}")
  endif()
endfunction()

execute_process(COMMAND ${EXE} ch99_test ${dir} ${WORK}/out/ch99.html ${WORK}/out/ch99.verdict.html
                        ${WORK}/out/html/results/ch99_test
                RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "kd_results_page exited with ${status}")
endif()
expect(${WORK}/out/ch99.html "<th>alpha, weight</th>")
expect(${WORK}/out/ch99.html "<td>say &quot;&lt;hi&gt;&quot;</td>")
expect(${WORK}/out/ch99.html "<tr><th>T</th>")
expect(${WORK}/out/ch99.html "<td>two\nlines</td>")
expect(${WORK}/out/ch99.html "<img src=\"results/ch99_test/grid.svg\"")
expect(${WORK}/out/ch99.verdict.html "Holds</span> (first): soft &lt;beats&gt; hard")
expect(${WORK}/out/ch99.verdict.html "Cannot tell</span> (second): more")
expect(${WORK}/out/ch99.verdict.html "No effect</span> (third): less")
expect(${WORK}/out/ch99.verdict.html "Does not hold</span> (old): before outcomes")
expect(${WORK}/out/ch99.verdict.html "Opposite</span> (wide student): wide wins")
expect(${WORK}/out/ch99.verdict.html "OpenBLAS 0.3.21, Zen kernels; a CPU")
if(NOT EXISTS ${WORK}/out/html/results/ch99_test/grid.svg)
  message(FATAL_ERROR "the plot was not copied next to the pages")
endif()

execute_process(COMMAND ${EXE} ch98_none ${WORK}/book/ch98_none ${WORK}/out/ch98.html ${WORK}/out/ch98.verdict.html
                        ${WORK}/out/html/results/ch98_none
                RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "kd_results_page exited with ${status} for a chapter without results")
endif()
expect(${WORK}/out/ch98.html "No results yet.")
expect(${WORK}/out/ch98.html "./run book")
expect(${WORK}/out/ch98.verdict.html "No verdict yet")

# The summary: a row per chapter, titled from its README and linked to its page, each verdict
# with its outcome, counted per outcome; a chapter that claims nothing and one not run say so.
file(WRITE ${WORK}/chapters/ch99_test/README.md "# Chapter 99: a test {#ch99_test}\n\ntext\n")
file(WRITE ${WORK}/chapters/ch97_demo/README.md "# Chapter 97: a demonstration {#ch97_demo}\n")
file(WRITE ${WORK}/book/ch97_demo/results.json [=[{"blas": {"library": "OpenBLAS", "version": "0.3.21", "kernel": "Zen",
  "threads": 2}, "cpu": "a CPU"}]=])
execute_process(COMMAND ${EXE} --summary ${WORK}/book ${WORK}/chapters ${WORK}/out/summary.html ch97_demo ch98_none ch99_test
                RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "kd_results_page --summary exited with ${status}")
endif()
expect(${WORK}/out/summary.html "(OpenBLAS 0.3.21, Zen kernels; a CPU): of 5 verdicts, 1 holds, 1 opposite, 1 no effect, 1 cannot tell, 1 does not hold.")
expect(${WORK}/out/summary.html "<a href=\"ch99_test.html\">Chapter 99: a test</a>")
expect(${WORK}/out/summary.html "<span title=\"soft &lt;beats&gt; hard\">first: <b style=\"color: #1a7f37;\">holds</b>")
expect(${WORK}/out/summary.html "second: <b style=\"color: #9a6700;\">cannot tell</b>")
expect(${WORK}/out/summary.html "third: <b style=\"color: #4a5a78;\">no effect</b>")
expect(${WORK}/out/summary.html "wide student: <b")
expect(${WORK}/out/summary.html "<a href=\"ch98_none.html\">ch98_none</a></td><td><i>not run yet</i>")
expect(${WORK}/out/summary.html "Chapter 97: a demonstration</a></td><td><i>no verdict")

# --robustness: a table per chapter of each verdict's outcome in every run of the protocol, the
# default first, then the disjoint seed, then the kernels; a verdict that changes is fragile.
file(WRITE ${WORK}/runs/kernel-Zen/ch99_test/results.json [=[{"verdicts": {"first": {"outcome": "holds"},
  "second": {"outcome": "cannot tell"}}, "blas": {"library": "OpenBLAS", "version": "0.3.21", "kernel": "Zen",
  "threads": 2}, "cpu": "a CPU"}]=])
file(WRITE ${WORK}/runs/default/ch99_test/results.json [=[{"verdicts": {"first": {"outcome": "holds"},
  "second": {"outcome": "no effect"}}, "blas": {"library": "OpenBLAS", "version": "0.3.21", "kernel": "Haswell",
  "threads": 2}, "cpu": "a CPU"}]=])
file(WRITE ${WORK}/runs/seed11/ch99_test/results.json [=[{"verdicts": {"first": {"outcome": "holds"},
  "second": {"outcome": "no effect"}}, "seed": 11}]=])
execute_process(COMMAND ${EXE} --robustness ${WORK}/runs ${WORK}/out/robustness.md ch99_test ch98_none RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "kd_results_page --robustness exited with ${status}")
endif()
expect(${WORK}/out/robustness.md "| verdict | default | seed11 | kernel-Zen |")
expect(${WORK}/out/robustness.md "| first | holds | holds | holds |\n")
expect(${WORK}/out/robustness.md "| second | no effect | no effect | cannot tell | **fragile**")
expect(${WORK}/out/robustness.md "- `kernel-Zen`: OpenBLAS 0.3.21, Zen kernels; a CPU")
expect(${WORK}/out/robustness.md "## ch98_none\n\n| verdict | default | seed11 | kernel-Zen |\n|---|---|---|---|\n")
expect(${WORK}/out/robustness.json "\"fragile\": true")
expect(${WORK}/out/robustness.json "\"verdict\": \"second\"")

# With the reference run (docs/reference): each verdict shows the reference run's outcome and
# evidence beside this run's, the chapter's rows of the protocol's table become its own fragment,
# and a chapter not run yet shows the reference run's outcomes.
file(COPY ${WORK}/out/robustness.json DESTINATION ${WORK}/reference)
file(WRITE ${WORK}/reference/ch99_test.json [=[{"verdicts": {"first": {"claim": "soft <beats> hard", "criterion": "c",
  "outcome": "cannot tell", "evidence": "+0.001 [-0.002, +0.004]"}}}]=])
file(COPY ${WORK}/reference/ch99_test.json DESTINATION ${WORK}/reference/x)
file(RENAME ${WORK}/reference/x/ch99_test.json ${WORK}/reference/ch98_none.json)
file(WRITE ${WORK}/reference/run.json [=[{"cpu": "a CPU", "blas": "OpenBLAS 0.3.21 with Zen kernels", "threads": 2,
  "commit": "abc1234"}]=])
foreach(chapter ch99_test ch98_none)
  execute_process(COMMAND ${EXE} ${chapter} ${WORK}/book/${chapter} ${WORK}/out/${chapter}.html ${WORK}/out/${chapter}.verdict.html
                          ${WORK}/out/html/results/${chapter} ${WORK}/reference ${WORK}/out/${chapter}.robustness.html
                  RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "kd_results_page ${chapter} with a reference run exited with ${status}")
  endif()
endforeach()
expect(${WORK}/out/ch99_test.verdict.html "the reference run (a CPU, OpenBLAS 0.3.21 with Zen kernels, 2 threads, commit abc1234)")
expect(${WORK}/out/ch99_test.verdict.html "<i>The reference run:</i> <span style=\"color: #9a6700;\">cannot tell</span>; +0.001 [-0.002, +0.004]")
expect(${WORK}/out/ch99_test.robustness.html "Zen kernels; a CPU\">kernel-Zen</th>")
expect(${WORK}/out/ch99_test.robustness.html "<td>second</td><td style=\"color: #4a5a78;\">no effect</td>")
expect(${WORK}/out/ch99_test.robustness.html "<b>fragile</b>")
expect(${WORK}/out/ch98_none.verdict.html "No verdict yet")
expect(${WORK}/out/ch98_none.verdict.html "The reference run (a CPU, OpenBLAS 0.3.21 with Zen kernels, 2 threads, commit abc1234): first <b")

# --run-label: the reference run's run.json from a chapter's results.json.
execute_process(COMMAND ${EXE} --run-label ${WORK}/runs/default/ch99_test/results.json abc1234 2026-12-07 ${WORK}/out/run.json
                RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "kd_results_page --run-label exited with ${status}")
endif()
expect(${WORK}/out/run.json "\"blas\": \"OpenBLAS 0.3.21 with Haswell kernels\"")
expect(${WORK}/out/run.json "\"commit\": \"abc1234\"")
execute_process(COMMAND ${EXE} --robustness ${WORK}/nothing ${WORK}/out/none.md ch99_test RESULT_VARIABLE status
                ERROR_VARIABLE err)
if(status EQUAL 0 OR NOT err MATCHES "kd_results_page: robustness: ")
  message(FATAL_ERROR "a missing runs directory was not an error: ${status} ${err}")
endif()
file(REMOVE_RECURSE ${WORK})
