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
# The determinism check's second run is a fresh process: a difference only it shows (planted: it
# runs the next seed) fails the run as nondeterministic, and runs 3 and 4 here locate it.
expect_run(ARGS run --scenario "${tmp}/suite/tiny.json" --seed 5 --check-determinism
           --test-fresh-rerun next-seed CODE 1
           MATCH "invariant=determinism.*in runs 1, 3 and 4 \\(this process\\), but the fresh-process rerun gave trace hash [0-9a-f]+.*replay:  seedgrid replay --scenario [^ ]*tiny.json --seed 5 --check-determinism")
# When no fresh process can start, a warning says so and the check runs in process (and passes).
expect_run(ARGS run --scenario "${tmp}/suite/tiny.json" --seed 5 --check-determinism
           --test-fresh-rerun no-exec CODE 0
           MATCH "verdict: PASS.*warning: cannot start a fresh process for --check-determinism \\(execv /nonexistent/seedgrid: No such file or directory\\)")
# The hidden rerun command refuses a bad request with a message.
file(WRITE "${tmp}/rerun-bad.json" "{\"scenario\": 1}")
execute_process(COMMAND ${SEEDGRID} __rerun INPUT_FILE "${tmp}/rerun-bad.json"
                RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT code EQUAL 2 OR NOT err MATCHES "__rerun: bad request")
  message(FATAL_ERROR "seedgrid __rerun on a bad request: exit ${code}\n${out}${err}")
endif()
# A failing run: exit 1, a report with the replay command, and a repro file that replays it.
expect_run(ARGS run --scenario "${tmp}/stuck.json" --seed 4 --repro-out "${tmp}/stuck.repro.json"
           CODE 1 MATCH "invariant=liveness.*replay:  seedgrid replay --scenario .*stuck.json --seed 4")
expect_run(ARGS replay "${tmp}/stuck.repro.json" CODE 1 MATCH "reproduced bit for bit")
expect_run(ARGS replay "${tmp}/bad.json" CODE 2 MATCH "not a seedgrid repro file")
expect_run(ARGS suite "${tmp}/suite" --seeds 3 --jobs 2 --junit "${tmp}/junit.xml" CODE 0
           MATCH "6 runs, 0 failed")
file(READ "${tmp}/junit.xml" junit)
if(NOT junit MATCHES "<testsuite name=\"tiny\" tests=\"3\" failures=\"0\" time=\"[0-9]+\\.[0-9]+\">")
  message(FATAL_ERROR "unexpected JUnit XML:\n${junit}")
endif()
# suite --json: one JSON object on stdout (the table goes to stderr).
expect_run(ARGS suite "${tmp}/suite" --seeds 2 --json CODE 0)
string(JSON verdict GET "${LAST_OUT}" verdict)
string(JSON runs GET "${LAST_OUT}" runs)
string(JSON tiny_runs GET "${LAST_OUT}" scenarios 0 runs)
string(JSON tiny_wall GET "${LAST_OUT}" scenarios 0 wall_ms)
if(NOT verdict STREQUAL "pass" OR NOT runs EQUAL 4 OR NOT tiny_runs EQUAL 2 OR tiny_wall LESS 0)
  message(FATAL_ERROR "unexpected suite --json:\n${LAST_OUT}")
endif()
file(MAKE_DIRECTORY "${tmp}/stuck-suite")
file(COPY "${tmp}/stuck.json" DESTINATION "${tmp}/stuck-suite")
expect_run(ARGS suite "${tmp}/stuck-suite" --seeds 1 --json CODE 1)
string(JSON verdict GET "${LAST_OUT}" verdict)
string(JSON failed GET "${LAST_OUT}" scenarios 0 failures 0 violation invariant)
if(NOT verdict STREQUAL "fail" OR NOT failed STREQUAL "liveness")
  message(FATAL_ERROR "unexpected suite --json of a failing suite:\n${LAST_OUT}")
endif()
expect_run(ARGS suite "${tmp}/nowhere" --seeds 1 CODE 2 MATCH "cannot list the directory")
expect_run(ARGS fuzz --scenario "${tmp}/suite/tiny.json" --runs 4 --jobs 2 --seed-base 100
           --out "${tmp}/fuzz" CODE 0 MATCH "4 runs in .* 0 failed")
expect_run(ARGS fuzz --scenario "${tmp}/stuck.json" --runs 3 --seed-base 1 --shard 1/2
           --out "${tmp}/fuzz" CODE 2 MATCH "give each shard its own directory")
expect_run(ARGS fuzz --scenario "${tmp}/stuck.json" --runs 3 --seed-base 1 --shard 1/2
           --out "${tmp}/fuzz-stuck" CODE 1 MATCH "saved .*stuck-seed-[0-9]+.repro.json")
if(NOT EXISTS "${tmp}/fuzz-stuck/summary.json")
  message(FATAL_ERROR "fuzz wrote no summary.json")
endif()
expect_run(ARGS merge-results "${tmp}/fuzz-stuck" --out "${tmp}/report" CODE 2
           MATCH "missing shards: stuck shard 0/2")
expect_run(ARGS merge-results "${tmp}/nowhere" CODE 2 MATCH "nowhere: not a directory")
expect_run(ARGS merge-results "${tmp}/suite" CODE 2 MATCH "no summary.json in it")
expect_run(ARGS fuzz --scenario "${tmp}/suite/tiny.json" --runs 1 --shard 2/2 CODE 2
           MATCH "--shard '2/2' must be i/n with 0 <= i < n")
expect_run(ARGS fuzz --scenario "${tmp}/suite/tiny.json" CODE 2 MATCH "give a budget")
expect_run(ARGS fuzz --scenario "${tmp}/suite/tiny.json" --time 5x CODE 2 MATCH "unknown unit 'x'")
# Crash and hang isolation: a run over --run-timeout is killed and reported as `hang` (a long
# scenario: an hour of virtual time), the suite goes on with the next run, and the repro replays.
file(MAKE_DIRECTORY "${tmp}/slow")
file(WRITE "${tmp}/slow/long.json" "{\"name\": \"long\", \"nodes\": 5, \"duration_ms\": 3600000,
  \"workload\": {\"ops_per_sec\": 400, \"keys\": 50}}\n")
configure_file("${tmp}/suite/tiny.json" "${tmp}/slow/tiny.json" COPYONLY)
expect_run(ARGS suite "${tmp}/slow" --seeds 1 --jobs 2 --run-timeout 1s --repro-dir "${tmp}/slowrepro"
           --junit "${tmp}/slow.xml" CODE 1
           MATCH "FAIL long seed 1: hang \\(no result after 1 s.*2 runs, 1 failed")
file(READ "${tmp}/slow.xml" junit)
if(NOT junit MATCHES "<testsuite name=\"tiny\" tests=\"1\" failures=\"0\" time=\"[0-9.]+\">.*failure message=\"hang\"" AND
   NOT junit MATCHES "failure message=\"hang\".*<testsuite name=\"tiny\" tests=\"1\" failures=\"0\" time=\"[0-9.]+\">")
  message(FATAL_ERROR "the hang is not in the JUnit XML:\n${junit}")
endif()
expect_run(ARGS replay "${tmp}/slowrepro/long-seed-1.repro.json" --run-timeout 1s CODE 1
           MATCH "replay: reproduced the recorded hang")
expect_run(ARGS run --scenario "${tmp}/suite/tiny.json" --run-timeout 5q CODE 2
           MATCH "--run-timeout '5q': unknown unit 'q'")
expect_run(ARGS run --scenario "${tmp}/suite/tiny.json" --seed 3 --in-process CODE 0
           MATCH "verdict: PASS")
expect_run(ARGS suite "${tmp}/suite" --seeds 1 --in-process CODE 0 MATCH "2 runs, 0 failed")
# Shrinking: the isolate fault is what makes "stuck" fail, so it survives; the rest goes.
expect_run(ARGS shrink "${tmp}/stuck.repro.json" --out "${tmp}/stuck-small" CODE 0
           MATCH "shrunk in [0-9]+ steps .*nodes 3 -> 2.*wrote .*stuck-small.scenario.json")
expect_run(ARGS replay "${tmp}/stuck-small.repro.json" CODE 1 MATCH "reproduced bit for bit")
expect_run(ARGS shrink --scenario "${tmp}/suite/tiny.json" --seed 1 --out "${tmp}/x" CODE 2
           MATCH "passes: there is nothing to shrink")
expect_run(ARGS shrink CODE 2 MATCH "give a REPRO_FILE")
# Timelines: run and replay write them; bad timeline flags are usage errors naming the flag.
expect_run(ARGS replay "${tmp}/stuck.repro.json" --timeline "${tmp}/stuck.trace.json"
           --html "${tmp}/stuck.html" --window 2s --nodes n0,n2 CODE 1
           MATCH "timeline: .*stuck.trace.json .*timeline page: .*stuck.html")
file(READ "${tmp}/stuck.trace.json" timeline LIMIT 200)
if(NOT timeline MATCHES "^{\"displayTimeUnit\":\"ms\",\"otherData\":")
  message(FATAL_ERROR "unexpected timeline start: ${timeline}")
endif()
expect_run(ARGS run --scenario "${tmp}/suite/tiny.json" --timeline "${tmp}/t.json" --window 5
           CODE 2 MATCH "--window: '5' is not a duration")
expect_run(ARGS run --scenario "${tmp}/suite/tiny.json" --html "${tmp}/t.html" --nodes n0,n7
           CODE 2 MATCH "--nodes: 'n7' is not a node of this scenario")
expect_run(ARGS run --scenario "${tmp}/suite/tiny.json" --key k3 CODE 2
           MATCH "--key needs --timeline or --html")

# --- Shrinking to a regression test (--emit-test) and running a regression directory.
expect_run(ARGS shrink "${tmp}/stuck.repro.json" --emit-test "${tmp}/nowhere/t.json" CODE 2
           MATCH "--emit-test .*nowhere/t.json: directory '.*nowhere' does not exist")
expect_run(ARGS shrink "${tmp}/stuck.repro.json" --emit-test "${tmp}/t.txt" CODE 2
           MATCH "must name a .json file")
file(MAKE_DIRECTORY "${tmp}/regressions")
expect_run(ARGS suite "${tmp}/regressions" CODE 2 MATCH "no scenario files")
expect_run(ARGS suite "${tmp}/regressions" --allow-empty CODE 0 MATCH "0 runs, 0 failed")
expect_run(ARGS shrink "${tmp}/stuck.repro.json" --out "${tmp}/stuck-reg"
           --emit-test "${tmp}/regressions/stuck_isolated.json" CODE 0
           MATCH "ops [0-9]+ -> [0-9]+, faults 1 -> 0, events [0-9]+ -> [0-9]+.*wrote regression test .*stuck_isolated.json \\(seed 4\\): it fails now \\(liveness\\)")
expect_run(ARGS shrink "${tmp}/stuck.repro.json" --emit-test "${tmp}/regressions/stuck_isolated.json"
           CODE 2 MATCH "already exists")
file(READ "${tmp}/regressions/stuck_isolated.json" emitted)
if(NOT emitted MATCHES "\"name\": \"stuck_isolated\".*\"regression\": {\n    \"seed\": 4,\n    \"invariant\": \"liveness\"")
  message(FATAL_ERROR "unexpected emitted test:\n${emitted}")
endif()
# A regression test runs its fixed seed: in a suite (whatever --seeds says), and in run without
# --seed; --seed still overrides it.
expect_run(ARGS suite "${tmp}/regressions" --seeds 3 CODE 1 MATCH "FAIL stuck_isolated seed 4: liveness.*1 runs, 1 failed")
expect_run(ARGS run --scenario "${tmp}/regressions/stuck_isolated.json" CODE 1 MATCH "seed=4")
file(WRITE "${tmp}/regressions/fixed.json" "{\"name\": \"fixed\", \"nodes\": 2, \"duration_ms\": 500,
  \"regression\": {\"seed\": 77}, \"schedule\": {\"keep_ops\": [0, [3, 5]], \"drop_faults\": [0]}}\n")
file(REMOVE "${tmp}/regressions/stuck_isolated.json")
expect_run(ARGS suite "${tmp}/regressions" --seeds 3 CODE 0
           MATCH "fixed +1 +1 +0 .*regression test, fixed seed 77.*1 runs, 0 failed")
expect_run(ARGS run --scenario "${tmp}/regressions/fixed.json" --json CODE 0 MATCH "\"seed\":77")
expect_run(ARGS run --scenario "${tmp}/regressions/fixed.json" --seed 5 --json CODE 0 MATCH "\"seed\":5")
file(WRITE "${tmp}/regressions/bad.json" "{\"name\": \"bad\", \"schedule\": {\"keep_ops\": [1], \"drop_ops\": [2]}}\n")
expect_run(ARGS suite "${tmp}/regressions" CODE 2
           MATCH "bad.json:1:30: schedule.keep_ops: give keep_ops or drop_ops, not both")

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
