#!/usr/bin/env bash
# An outside project built against the installed package, as a user would: `cmake --install` of
# this build into a scratch prefix, then examples/replicated_counter configured with only
# CMAKE_PREFIX_PATH pointing there (find_package(seedgrid CONFIG REQUIRED)), built, and its own
# ctest run (its scenario suite). Run by ctest (example_replicated_counter).
#
# Usage: example_test.sh BUILD_DIR EXAMPLE_DIR WORK_DIR GENERATOR CXX_FLAGS LINKER_FLAGS
#   CXX_FLAGS and LINKER_FLAGS are the main build's (the sanitizer preset's must match).
set -euo pipefail
build=$1 example=$2 work=$3 generator=$4 cxx_flags=$5 linker_flags=$6
rm -rf "$work"
mkdir -p "$work"
cmake --install "$build" --prefix "$work/prefix" >"$work/install.log" ||
  { cat "$work/install.log"; echo "FAIL: cmake --install"; exit 1; }
# Nothing of the source tree may leak into the example: it sees only the prefix.
cmake -S "$example" -B "$work/build" -G "$generator" -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_CXX_FLAGS="$cxx_flags" \
  -DCMAKE_EXE_LINKER_FLAGS="$linker_flags" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
  >"$work/configure.log" 2>&1 ||
  { cat "$work/configure.log"; echo "FAIL: configuring the example"; exit 1; }
cmake --build "$work/build" >"$work/build.log" 2>&1 ||
  { tail -50 "$work/build.log"; echo "FAIL: building the example"; exit 1; }
# The build tree's include roots (what seedgrid's own targets use) must not appear: only the
# prefix's include/seedgrid.
src=$(cd "$(dirname "$0")/.." && pwd)
build_abs=$(cd "$build" && pwd)
for root in "$src" "$build_abs"; do
  if grep -qE -- "(-I|-isystem )$root( |\")" "$work/build/compile_commands.json"; then
    echo "FAIL: the example compiled with $root on its include path, not only the package"
    exit 1
  fi
done
grep -q -- "$work/prefix/include/seedgrid" "$work/build/compile_commands.json" ||
  { echo "FAIL: the example did not compile against the installed headers"; exit 1; }
ctest --test-dir "$work/build" --output-on-failure
"$work/build/counter_sim" version | grep -q "counter_sim 1.0" ||
  { echo "FAIL: counter_sim version"; exit 1; }
echo "PASS"
