#!/usr/bin/env bash
# Nightly job: what is too slow for every CI run.
#   1. the canaries (ci/canaries/run.py): every planted bug must be caught cleanly; the catch
#      matrix is written to $OUT/canary-matrix.md
#   2. the scenario suite over more seeds (--seeds, default 50) with --check-determinism
#   3. a guided fuzz campaign per scenario (--fuzz-time per scenario, default 5m)
#   4. the wire decoder under libFuzzer (clang, ASan+UBSan; build-fuzz/) for --fuzz-time, from
#      the checked-in corpus (every-commit CI leaves this build out: ci/build_and_test.sh)
# Usage: ci/nightly/run.sh [--out DIR] [--seeds N] [--fuzz-time T] [--skip-canaries]
#   T is a positive whole number of seconds, minutes or hours: 90s, 5m, 2h (or plain seconds).
# Exit 1 when any part fails; every part runs regardless, and the summary lists each.
set -uo pipefail
cd "$(dirname "$0")/../.."

out=nightly-out seeds=50 fuzz_time=5m canaries=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --seeds) seeds="$2"; shift 2 ;;
    --fuzz-time) fuzz_time="$2"; shift 2 ;;
    --skip-canaries) canaries=0; shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "ci/nightly/run.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done
# libFuzzer's -max_total_time is in seconds (0 would mean no limit: refused here).
if [[ $fuzz_time =~ ^([0-9]+)([smh]?)$ ]] && (( 10#${BASH_REMATCH[1]} > 0 )); then
  case "${BASH_REMATCH[2]}" in
    h) fuzz_s=$(( 10#${BASH_REMATCH[1]} * 3600 )) ;;
    m) fuzz_s=$(( 10#${BASH_REMATCH[1]} * 60 )) ;;
    *) fuzz_s=$(( 10#${BASH_REMATCH[1]} )) ;;
  esac
else
  echo "ci/nightly/run.sh: --fuzz-time '$fuzz_time' is not a positive duration like 90s, 5m or 2h" >&2
  exit 2
fi

bash ci/setup.sh --with-fuzzer
cmake --preset dev >/dev/null && cmake --build --preset dev -j "$(nproc)" || exit 1
mkdir -p "$out"
tool=build/tools/seedgrid
declare -A status

if [[ $canaries == 1 ]]; then
  python3 ci/canaries/run.py --matrix "$out/canary-matrix.md"
  status[canaries]=$?
fi

"$tool" suite scenarios --seeds "$seeds" --jobs "$(nproc)" --check-determinism \
  --junit "$out/suite.xml" --repro-dir "$out/suite-repro" --probes "$out/probes.json" \
  --require-probes ci/probes-required.txt
status[suite]=$?

fuzz_failed=0
for s in scenarios/*.json; do
  name=$(basename "$s" .json)
  "$tool" fuzz --scenario "$s" --time "$fuzz_time" --jobs "$(nproc)" --guided \
    --out "$out/fuzz/$name" || fuzz_failed=1
done
status[fuzz]=$fuzz_failed

mkdir -p "$out/wire-fuzz-corpus"
if cmake --preset fuzz >/dev/null && cmake --build build-fuzz --target seedgrid_wire_fuzz -j "$(nproc)"
then
  ASAN_OPTIONS=detect_leaks=0 build-fuzz/engine/wire/seedgrid_wire_fuzz -max_total_time="$fuzz_s" \
    -max_len=4096 -print_final_stats=1 -artifact_prefix="$out/wire-fuzz-" \
    "$out/wire-fuzz-corpus" engine/wire/fuzz_corpus
  status[libfuzzer]=$?
else
  status[libfuzzer]=1
fi

echo "== nightly summary (artifacts in $out)"
rc=0
for part in "${!status[@]}"; do
  if [[ ${status[$part]} == 0 ]]; then echo "  $part: pass"; else echo "  $part: FAIL"; rc=1; fi
done
exit $rc
