# Determinism across processes: every (scenario, seed) of a second suite process must give the
# trace hash the ctest scenario suite recorded (its --hashes file, ${SUITE_HASHES}).
# --check-determinism compares two runs inside one process tree (forked workers share the parent's
# address layout and per-process hash seeds), which cannot see hazards that are stable within a
# process; this test can. Run by ctest (scenario_suite_cross_process) after scenario_suite, whose
# hashes it reuses, so it costs one run per seed instead of two.
if(NOT EXISTS ${SUITE_HASHES})
  message(FATAL_ERROR "no suite hashes at ${SUITE_HASHES}: run ctest's scenario_suite first")
endif()
execute_process(COMMAND ${SEEDGRID} suite ${SCENARIOS} --seeds ${SEEDS} --jobs 2
                        --hashes ${OUT_DIR}/hashes-cross.txt
                RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT code EQUAL 0)
  message(FATAL_ERROR "the second suite process failed (exit ${code}):\n${out}${err}")
endif()
file(STRINGS ${SUITE_HASHES} suite_lines)
file(STRINGS ${OUT_DIR}/hashes-cross.txt cross_lines)
list(LENGTH cross_lines count)
if(count EQUAL 0)
  message(FATAL_ERROR "the second suite process recorded no runs")
endif()
set(differ "")
foreach(line IN LISTS cross_lines)
  list(FIND suite_lines "${line}" at)
  if(at EQUAL -1)
    string(APPEND differ "  ${line}\n")
  endif()
endforeach()
if(differ)
  message(FATAL_ERROR "runs whose trace hash (or verdict) differs from the suite's "
                      "(${SUITE_HASHES}):\n${differ}")
endif()
message(STATUS "${count} runs: the same trace hashes as the suite's process")
