# Determinism across processes: the suite run twice, in two processes, must give every
# (scenario, seed) the same trace hash. --check-determinism compares two runs inside one process,
# which cannot see hazards that are stable within a process (per-process hash seeds, address
# layout); this test can. Run by ctest (scenario_suite_cross_process).
foreach(run 1 2)
  execute_process(COMMAND ${SEEDGRID} suite ${SCENARIOS} --seeds ${SEEDS} --jobs 2
                          --hashes ${OUT_DIR}/hashes-${run}.txt
                  RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT code EQUAL 0)
    message(FATAL_ERROR "suite run ${run} failed (exit ${code}):\n${out}${err}")
  endif()
endforeach()
file(READ ${OUT_DIR}/hashes-1.txt first)
file(READ ${OUT_DIR}/hashes-2.txt second)
if(NOT first STREQUAL second)
  message(FATAL_ERROR "trace hashes differ between two processes:\n${first}\n---\n${second}")
endif()
string(REGEX MATCHALL "\n" lines "${first}")
list(LENGTH lines count)
message(STATUS "${count} runs: identical trace hashes in two processes")
