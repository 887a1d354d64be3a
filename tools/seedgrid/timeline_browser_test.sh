#!/usr/bin/env bash
# The timeline page in a real browser. seedgrid writes the HTML page of a planted liveness failure
# (testdata/timeline_stuck.json); headless Chromium renders it; the rendered DOM must show the
# lanes, message arrows (some lost, ending in a cross), a shaded partition, the violation marker,
# and status "ok" with no script errors. Run by ctest (seedgrid_timeline_browser), which treats
# exit 77 as skipped: Chromium is not installed.
#
# Usage: timeline_browser_test.sh SEEDGRID SCENARIO OUT_DIR
set -euo pipefail
seedgrid=$1
scenario=$2
out=$3

browser=""
for b in chromium chromium-browser google-chrome; do
  if command -v "$b" >/dev/null 2>&1; then
    browser=$(command -v "$b")
    break
  fi
done
if [[ -z $browser ]]; then
  echo "SKIPPED: no chromium on PATH (apt-get install chromium; ci/setup.sh lists it)"
  exit 77
fi

rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd)
code=0
"$seedgrid" run --scenario "$scenario" --seed 1 --html "$out/page.html" --window 3s \
  >"$out/run.log" 2>&1 || code=$?
if [[ $code -ne 1 ]]; then
  echo "FAIL: seedgrid exited $code, expected 1 (the planted liveness failure)"
  cat "$out/run.log"
  exit 1
fi

timeout 100 "$browser" --headless --disable-gpu --no-sandbox --no-first-run \
  --user-data-dir="$out/profile" --enable-logging=stderr --v=0 \
  --dump-dom "file://$out/page.html" >"$out/dom.html" 2>"$out/browser.log"

failures=0
count() { grep -o -- "$1" "$out/dom.html" | wc -l; }
expect() {  # expect DESCRIPTION PATTERN MIN [MAX]
  local n
  n=$(count "$2")
  if ((n < $3)) || { [[ $# -ge 4 ]] && ((n > $4)); }; then
    echo "FAIL: $1: found $n of '$2', expected ${3}${4:+..$4}"
    failures=$((failures + 1))
  fi
}
expect "status ok" 'id="status">ok<' 1 1
expect "no script errors" '<body data-errors="0"' 1 1
expect "one lane per node plus the cluster" 'class="lane"' 5 5
expect "four node lanes" 'data-lanes="4"' 1 1
expect "delivered message arrows" 'class="msg"' 50
expect "lost message arrows" 'class="msg lost"' 5
expect "crosses on lost messages" 'class="cross"' 5
expect "a shaded partition" 'class="span span-network"' 1
expect "a crash" 'class="span span-down"' 1
expect "the violation marker" 'class="violation"' 1 1
if grep -q "Uncaught" "$out/browser.log"; then
  echo "FAIL: script errors in the browser console:"
  grep "Uncaught" "$out/browser.log"
  failures=$((failures + 1))
fi
if ((failures > 0)); then
  echo "the rendered page is $out/dom.html"
  exit 1
fi
echo "PASS: the timeline page renders in $(basename "$browser")"
