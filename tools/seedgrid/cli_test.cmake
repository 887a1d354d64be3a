# End-to-end checks of the seedgrid tool's exit codes and messages. Run by ctest (seedgrid_cli).
function(expect_run)
  cmake_parse_arguments(E "" "CODE;MATCH" "ARGS" ${ARGN})
  execute_process(COMMAND ${SEEDGRID} ${E_ARGS} RESULT_VARIABLE code OUTPUT_VARIABLE out
                  ERROR_VARIABLE err)
  if(NOT code EQUAL E_CODE)
    message(FATAL_ERROR "seedgrid ${E_ARGS}: exit ${code}, expected ${E_CODE}\n${out}${err}")
  endif()
  if(E_MATCH AND NOT "${out}${err}" MATCHES "${E_MATCH}")
    message(FATAL_ERROR "seedgrid ${E_ARGS}: output does not match '${E_MATCH}':\n${out}${err}")
  endif()
  set(LAST_OUT "${out}" PARENT_SCOPE)
endfunction()

expect_run(ARGS CODE 2 MATCH "Usage:")
expect_run(ARGS help CODE 0 MATCH "seedgrid shrink")
expect_run(ARGS version CODE 0 MATCH "seedgrid [0-9.]+ \\(commit ")
expect_run(ARGS frobnicate CODE 2 MATCH "unknown command 'frobnicate'")
# The hand-stepped convergence demo is gone: `demo` is an unknown command now.
expect_run(ARGS demo CODE 2 MATCH "unknown command 'demo'")

# --- The simulation commands: run, replay, suite, fuzz.
set(tmp "${CMAKE_CURRENT_BINARY_DIR}/seedgrid_cli_tmp")
file(REMOVE_RECURSE "${tmp}")
file(MAKE_DIRECTORY "${tmp}/suite")
file(WRITE "${tmp}/suite/tiny.json" "{\"name\": \"tiny\", \"nodes\": 3, \"duration_ms\": 3000,
  \"workload\": {\"ops_per_sec\": 50, \"keys\": 20},
  \"swarm\": {\"loss_ppm\": [0, 100000], \"crashes_per_min\": [0, 20]}}\n")
file(WRITE "${tmp}/suite/tiny2.json" "{\"name\": \"tiny2\", \"nodes\": 4, \"duration_ms\": 2000,
  \"faults\": [{\"at_ms\": 500, \"kind\": \"split\", \"nodes\": [0]}]}\n")
file(WRITE "${tmp}/stuck.json" "{\"name\": \"stuck\", \"nodes\": 3, \"duration_ms\": 3000,
  \"liveness_ms\": 1, \"faults\": [{\"at_ms\": 100, \"kind\": \"isolate\", \"node\": 2}]}\n")
file(WRITE "${tmp}/bad.json" "{\n  \"name\": \"bad\",\n  \"nodes\": 3,\n  \"swarm\": {\"loss_ppm\": [9, 2]}\n}\n")

expect_run(ARGS help CODE 0 MATCH "seedgrid fuzz --scenario F")
expect_run(ARGS run --help CODE 0 MATCH "--repro-out")
expect_run(ARGS help suite CODE 0 MATCH "--junit")
expect_run(ARGS fuzz --help CODE 0 MATCH "--shard")
expect_run(ARGS run CODE 2 MATCH "--scenario is required")
expect_run(ARGS run --scenario "${tmp}/nope.json" CODE 2 MATCH "nope.json: cannot read the scenario file")
expect_run(ARGS run --scenario "${tmp}/bad.json" CODE 2
           MATCH "bad.json:4:13: swarm.loss_ppm: range \\[9, 2\\] has lo > hi")
expect_run(ARGS run --scenario "${tmp}/suite/tiny.json" --seed x1 CODE 2
           MATCH "--seed 'x1' is not a 64-bit unsigned integer")
expect_run(ARGS run --scenario "${tmp}/suite/tiny.json" --seed 0x11 --json CODE 0
           MATCH "^{\"events\":[0-9]+,\"messages\":[0-9]+,\"scenario\":\"tiny\",\"seed\":17,\"trace_hash\":\"[0-9a-f]+\",\"verdict\":\"pass\",\"violation\":null,\"virtual_ms\":[0-9]+,\"wall_ms\":[0-9]+}\n")
string(REGEX MATCH "\"trace_hash\":\"[0-9a-f]+\"" hash1 "${LAST_OUT}")
expect_run(ARGS replay --scenario "${tmp}/suite/tiny.json" --seed 17 --json CODE 0)
string(REGEX MATCH "\"trace_hash\":\"[0-9a-f]+\"" hash2 "${LAST_OUT}")
if(NOT hash1 STREQUAL hash2)
  message(FATAL_ERROR "replay of seed 17 gave ${hash2}, the run gave ${hash1}")
endif()
expect_run(ARGS run --scenario "${tmp}/suite/tiny.json" --seed 5 --check-determinism
           --trace "${tmp}/trace.jsonl" CODE 0 MATCH "verdict: PASS")
file(STRINGS "${tmp}/trace.jsonl" first_line LIMIT_COUNT 1)
if(NOT first_line MATCHES "^{\"detail\":\"safety \\([0-9]+ replica nodes, loss=[0-9]+ppm[^\"]*\\)\",\"digest\":\"[0-9a-f]+\",\"i\":0,\"kind\":\"phase\"")
  message(FATAL_ERROR "unexpected first trace line: ${first_line}")
endif()
# A failing run: exit 1, a report with the replay command, and a repro file that replays it.
expect_run(ARGS run --scenario "${tmp}/stuck.json" --seed 4 --repro-out "${tmp}/stuck.repro.json"
           CODE 1 MATCH "invariant=liveness.*replay:  seedgrid replay --scenario .*stuck.json --seed 4")
expect_run(ARGS replay "${tmp}/stuck.repro.json" CODE 1 MATCH "reproduced bit for bit")
expect_run(ARGS replay "${tmp}/bad.json" CODE 2 MATCH "not a seedgrid repro file")
expect_run(ARGS suite "${tmp}/suite" --seeds 3 --jobs 2 --junit "${tmp}/junit.xml" CODE 0
           MATCH "6 runs, 0 failed")
file(READ "${tmp}/junit.xml" junit)
if(NOT junit MATCHES "<testsuite name=\"tiny\" tests=\"3\" failures=\"0\">")
  message(FATAL_ERROR "unexpected JUnit XML:\n${junit}")
endif()
expect_run(ARGS suite "${tmp}/nowhere" --seeds 1 CODE 2 MATCH "cannot list the directory")
expect_run(ARGS fuzz --scenario "${tmp}/suite/tiny.json" --runs 4 --jobs 2 --seed-base 100
           --out "${tmp}/fuzz" CODE 0 MATCH "4 runs in .* 0 failed")
expect_run(ARGS fuzz --scenario "${tmp}/stuck.json" --runs 3 --seed-base 1 --shard 1/2
           --out "${tmp}/fuzz" CODE 1 MATCH "saved .*stuck-seed-[0-9]+.repro.json")
expect_run(ARGS fuzz --scenario "${tmp}/suite/tiny.json" --runs 1 --shard 2/2 CODE 2
           MATCH "--shard '2/2' must be i/n with 0 <= i < n")
expect_run(ARGS fuzz --scenario "${tmp}/suite/tiny.json" CODE 2 MATCH "give a budget")
expect_run(ARGS fuzz --scenario "${tmp}/suite/tiny.json" --time 5x CODE 2 MATCH "unknown unit 'x'")
# Shrinking: the isolate fault is what makes "stuck" fail, so it survives; the rest goes.
expect_run(ARGS shrink "${tmp}/stuck.repro.json" --out "${tmp}/stuck-small" CODE 0
           MATCH "shrunk in [0-9]+ steps .*nodes 3 -> 2.*wrote .*stuck-small.scenario.json")
expect_run(ARGS replay "${tmp}/stuck-small.repro.json" CODE 1 MATCH "reproduced bit for bit")
expect_run(ARGS shrink --scenario "${tmp}/suite/tiny.json" --seed 1 --out "${tmp}/x" CODE 2
           MATCH "passes: there is nothing to shrink")
expect_run(ARGS shrink CODE 2 MATCH "give a REPRO_FILE")

# --- Coverage probes: the report, --probes JSON, --require-probes, fuzz --guided.
file(WRITE "${tmp}/probes-ok.txt" "# reached by every run\nhlc.update_same_millis\n\n")
file(WRITE "${tmp}/probes-unknown.txt" "hlc.update_same_millis\nnope.not_a_probe  # renamed?\n")
file(WRITE "${tmp}/probes-bad.txt" "Not-A-Name\n")
file(WRITE "${tmp}/probes-unreached.txt" "hlc.update_same_millis\nhlc.counter_rollover\n")
expect_run(ARGS suite "${tmp}/suite" --seeds 1 --probes "${tmp}/probes.json"
           --require-probes "${tmp}/probes-ok.txt" CODE 0
           MATCH "probes: [0-9]+ of [0-9]+ reached in 2 runs.*hlc.update_same_millis.*never hit")
file(READ "${tmp}/probes.json" probes_json)
if(NOT probes_json MATCHES "\"never_hit\": \\[" OR NOT probes_json MATCHES "\"runs\": 2"
   OR NOT probes_json MATCHES "\"hlc.update_same_millis\": {\n *\"first_run\": 1,\n *\"hits\": [0-9]+,\n *\"runs\": 2")
  message(FATAL_ERROR "unexpected probes JSON:\n${probes_json}")
endif()
expect_run(ARGS suite "${tmp}/suite" --seeds 1 --require-probes "${tmp}/probes-unknown.txt"
           CODE 2 MATCH "probes-unknown.txt:2: unknown probe 'nope.not_a_probe'")
expect_run(ARGS suite "${tmp}/suite" --seeds 1 --require-probes "${tmp}/probes-bad.txt"
           CODE 2 MATCH "probes-bad.txt:1: 'Not-A-Name' is not a probe name")
expect_run(ARGS suite "${tmp}/suite" --seeds 1 --require-probes "${tmp}/nope.txt"
           CODE 2 MATCH "nope.txt: cannot read the required-probes file")
expect_run(ARGS suite "${tmp}/suite" --seeds 1 --require-probes "${tmp}/probes-unreached.txt"
           CODE 1 MATCH "2 runs, 0 failed.*FAIL required probes: 1 of the probes listed in .*never hit in 2 runs.*hlc.counter_rollover")
expect_run(ARGS fuzz --scenario "${tmp}/suite/tiny.json" --runs 6 --seed-base 7 --guided
           --out "${tmp}/fuzz" --require-probes "${tmp}/probes-ok.txt" CODE 0
           MATCH "guided.*6 runs in .*guided: corpus of [1-9][0-9]* runs.*probes: [0-9]+ of")
expect_run(ARGS fuzz --scenario "${tmp}/suite/tiny.json" --runs 2 --seed-base 7
           --out "${tmp}/fuzz" --require-probes "${tmp}/probes-unreached.txt" CODE 1
           MATCH "FAIL required probes: 1 .*hlc.counter_rollover")
# A guided campaign is reproducible from its seed base with one job.
foreach(copy a b)
  expect_run(ARGS fuzz --scenario "${tmp}/suite/tiny.json" --runs 12 --seed-base 9 --guided
             --jobs 1 --out "${tmp}/fuzz" --probes "${tmp}/guided-${copy}.json" CODE 0)
  file(READ "${tmp}/guided-${copy}.json" guided_${copy})
endforeach()
if(NOT guided_a STREQUAL guided_b)
  message(FATAL_ERROR "two guided campaigns from one seed base differ:\n${guided_a}\n${guided_b}")
endif()
