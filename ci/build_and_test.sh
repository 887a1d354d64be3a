#!/usr/bin/env bash
# Quick start command (2): set up, build, and run every test.
#   bash ci/build_and_test.sh                 dev preset (RelWithDebInfo, assertions on)
#   bash ci/build_and_test.sh --asan          the same under AddressSanitizer + UBSan
#   bash ci/build_and_test.sh --with-fuzzer   dev, plus the wire-decoder libFuzzer target built
#                                             with clang (build-fuzz/) and run briefly as the
#                                             ctest test 'wire_decode_fuzz_smoke'
# The libFuzzer build is a second, sanitized build of the engine's wire and query libraries (about
# a quarter of a CI run's time), so every-commit CI leaves it to the nightly job
# (ci/nightly/run.sh), which builds it and fuzzes the decoder for longer.
set -euo pipefail
cd "$(dirname "$0")/.."

preset=dev with_fuzzer=0
if [[ $# -gt 1 ]]; then
  echo "ci/build_and_test.sh: one option at most, got: $*" >&2
  exit 2
fi
case "${1:-}" in
  "") ;;
  --asan) preset=asan ;;
  --with-fuzzer) with_fuzzer=1 ;;
  -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
  *) echo "ci/build_and_test.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
esac

if [[ $with_fuzzer == 1 ]]; then bash ci/setup.sh --with-fuzzer; else bash ci/setup.sh; fi
jobs=$(nproc)

fuzz_flag=(-DSEEDGRID_FUZZ_BINARY=)
if [[ $with_fuzzer == 1 ]]; then
  echo "== building the wire-decoder fuzzer with clang (build-fuzz/)"
  cmake --preset fuzz >/dev/null
  cmake --build build-fuzz --target seedgrid_wire_fuzz -j "$jobs"
  fuzz_flag=(-DSEEDGRID_FUZZ_BINARY="$PWD/build-fuzz/engine/wire/seedgrid_wire_fuzz")
else
  echo "== the libFuzzer smoke test is the nightly job's (or: bash ci/build_and_test.sh --with-fuzzer)"
fi

echo "== configuring and building preset '$preset'"
cmake --preset "$preset" "${fuzz_flag[@]}" >/dev/null
cmake --build --preset "$preset" -j "$jobs"

echo "== running tests"
# One test slot more than cores: the real-process tests (label "real", ~55 s of wall) mostly wait
# on sockets and timeouts, and now overlap the scenario suite (which holds 2 slots) instead of
# running after it. Measured here: 270 s -> 249 s of tests (docs/performance.md).
ctest --preset "$preset" -j "$((jobs + 1))"
