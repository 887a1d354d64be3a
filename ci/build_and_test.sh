#!/usr/bin/env bash
# Quick start command (2): set up, build, and run every test.
#   bash ci/build_and_test.sh            dev preset (RelWithDebInfo, assertions on)
#   bash ci/build_and_test.sh --asan     the same under AddressSanitizer + UBSan
# With clang available, the wire-decoder libFuzzer target is built too and run briefly as part of
# the test suite (ctest test 'wire_decode_fuzz_smoke').
set -euo pipefail
cd "$(dirname "$0")/.."

preset=dev
case "${1:-}" in
  "") ;;
  --asan) preset=asan ;;
  -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
  *) echo "ci/build_and_test.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
esac

bash ci/setup.sh
jobs=$(nproc)

fuzz_flag=()
if command -v clang++ >/dev/null 2>&1 && [[ $preset == dev ]]; then
  echo "== building the wire-decoder fuzzer with clang (build-fuzz/)"
  if cmake --preset fuzz >/dev/null && cmake --build build-fuzz --target seedgrid_wire_fuzz -j "$jobs"
  then
    fuzz_flag=(-DSEEDGRID_FUZZ_BINARY="$PWD/build-fuzz/engine/wire/seedgrid_wire_fuzz")
  elif dpkg-query -W -f='${Status}' libclang-rt-14-dev 2>/dev/null | grep -q "install ok installed"
  then
    # Everything the fuzz build needs is installed, so its failure is a real break: stop.
    echo "== ERROR: the clang fuzz build failed (see above)" >&2
    exit 1
  else
    echo "== WARNING: the clang fuzz build failed (libclang-rt-14-dev is not installed);" \
         "continuing without the libFuzzer smoke test" >&2
    fuzz_flag=(-DSEEDGRID_FUZZ_BINARY=)
  fi
else
  echo "== clang++ not found (or sanitizer run): skipping the libFuzzer smoke test"
  fuzz_flag=(-DSEEDGRID_FUZZ_BINARY=)
fi

echo "== configuring and building preset '$preset'"
cmake --preset "$preset" "${fuzz_flag[@]}" >/dev/null
cmake --build --preset "$preset" -j "$jobs"

echo "== running tests"
ctest --preset "$preset" -j "$jobs"
