#!/usr/bin/env bash
# The fleet flow end to end, as a scheduler runs it: 4 shards of ci/nightly/fuzz_shard.sh (the
# script both job definitions run) as 4 concurrent processes writing one results tree, then
# `merge-results` over them, and the same seeds as one unsharded campaign.
# The merged report must equal the unsharded one in everything the runs determine: totals,
# distinct failures (count, lowest seeds, smallest run, detail, repro file), probe counts, the
# report's failure and probe sections and the JUnit XML. Also: a missing shard is an error
# (exit 2) unless --allow-missing-shards, the same shard twice is an error, and a shard's --out
# is refused to another shard. Run by ctest (fleet_sharded_flow).
#
# Usage: fleet_test.sh SEEDGRID FUZZ_SHARD_SH SCENARIO OUT_DIR
set -euo pipefail
seedgrid=$1
fuzz_shard=$2
scenario=$3
out=$4
rm -rf "$out"
mkdir -p "$out"

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*"
  exit 1
}

# Shard i of 4 takes seeds 1000 + 4k + i, k < 8: together exactly 1000..1031.
for i in 0 1 2 3; do
  timeout 300 bash "$fuzz_shard" --shard "$i" --shards 4 --seed-base 1000 --runs 8 --jobs 1 \
    --scenarios "$scenario" --tool "$seedgrid" --out "$out/shards" >"$out/shard-$i.log" 2>&1 &
  pids+=($!)
done
for i in 0 1 2 3; do
  code=0
  wait "${pids[$i]}" || code=$?
  # The scenario fails some seeds on purpose; a shard that ran exits 0 all the same.
  [[ $code -eq 0 ]] || { cat "$out/shard-$i.log"; fail "shard $i exited $code"; }
done
shards="$out/shards/$(basename "$scenario" .json)"  # fuzz_shard.sh: OUT/FILE_NAME/shard-I
pids=()

code=0
timeout 300 "$seedgrid" fuzz --scenario "$scenario" --runs 32 --seed-base 1000 --jobs 2 \
  --out "$out/whole" >"$out/whole.log" 2>&1 || code=$?
[[ $code -le 1 ]] || { cat "$out/whole.log"; fail "the unsharded campaign exited $code"; }

# The shards' parent directory (as an artifact download lays them out) and the whole campaign.
code=0
"$seedgrid" merge-results "$shards" --out "$out/merged" >"$out/merge.log" 2>&1 || code=$?
[[ $code -eq 1 ]] || { cat "$out/merge.log"; fail "merge-results exited $code, want 1 (failures)"; }
"$seedgrid" merge-results "$out/whole" --out "$out/merged-whole" >/dev/null 2>&1 || true

python3 - "$out/merged" "$out/merged-whole" <<'EOF'
import json, sys, re
a_dir, b_dir = sys.argv[1], sys.argv[2]
a = json.load(open(a_dir + "/summary.json"))
b = json.load(open(b_dir + "/summary.json"))
def strip(d):
    return {k: d[k] for k in ("runs", "failures", "distinct", "probes")}
if strip(a) != strip(b):
    sys.exit("FAIL: merged shards and the unsharded campaign differ:\n%s\n%s" %
             (json.dumps(strip(a), indent=1)[:3000], json.dumps(strip(b), indent=1)[:3000]))
if a["runs"] != 32 or not a["distinct"]:
    sys.exit("FAIL: want 32 runs and at least one distinct failure, got %d and %d" %
             (a["runs"], len(a["distinct"])))
if [c["shards"] for c in a["campaigns"]] != [4] or a["campaigns"][0]["missing"]:
    sys.exit("FAIL: want one campaign of 4 shards, none missing: %s" % a["campaigns"])
def section(path, start, end):
    text = open(path).read()
    return text[text.index(start):text.index(end) if end else len(text)]
for start, end in (("## Distinct failures", "## Probes"), ("## Probes", None)):
    if section(a_dir + "/report.md", start, end) != section(b_dir + "/report.md", start, end):
        sys.exit("FAIL: report.md section '%s' differs" % start)
ja = re.sub(r'time="[0-9.]*"', "", open(a_dir + "/junit.xml").read())
jb = re.sub(r'time="[0-9.]*"', "", open(b_dir + "/junit.xml").read())
if ja != jb:
    sys.exit("FAIL: junit.xml differs beyond times")
for g in a["distinct"]:
    repro = json.load(open(a_dir + "/" + g["repro"]))  # relative to the report
    if repro["seed"] != g["seed"]:
        sys.exit("FAIL: %s is not seed %d" % (g["repro"], g["seed"]))
print("merged == unsharded: %d runs, %d distinct failures" % (a["runs"], len(a["distinct"])))
EOF

# Every copied repro replays to the recorded failure.
for f in "$out"/merged/repros/*.json; do
  code=0
  "$seedgrid" replay "$f" >"$out/replay.log" 2>&1 || code=$?
  [[ $code -eq 1 ]] && grep -q "reproduced bit for bit" "$out/replay.log" ||
    { cat "$out/replay.log"; fail "replay $f"; }
done

# A missing shard: an error unless allowed (and listed either way).
mkdir -p "$out/partial"
cp -r "$shards/shard-0" "$shards/shard-1" "$shards/shard-3" "$out/partial/"
code=0
"$seedgrid" merge-results "$out/partial" --out "$out/merged-partial" >"$out/partial.log" 2>&1 ||
  code=$?
[[ $code -eq 2 ]] && grep -q "missing shards: flaky shard 2/4" "$out/partial.log" ||
  { cat "$out/partial.log"; fail "a missing shard: exit $code, want 2 naming shard 2/4"; }
code=0
"$seedgrid" merge-results "$out/partial" --out "$out/merged-partial" --allow-missing-shards \
  >"$out/partial.log" 2>&1 || code=$?
[[ $code -eq 1 ]] && grep -q "| 2 |" "$out/merged-partial/report.md" ||
  { cat "$out/partial.log"; fail "--allow-missing-shards: exit $code, want 1, report lists 2"; }

# The same shard twice.
code=0
"$seedgrid" merge-results "$shards/shard-1" "$shards/shard-1" --out "$out/m2" \
  >"$out/twice.log" 2>&1 || code=$?
[[ $code -eq 2 ]] && grep -q "given twice" "$out/twice.log" ||
  { cat "$out/twice.log"; fail "the same shard twice: exit $code"; }

# Another shard's --out directory is refused before any run.
code=0
"$seedgrid" fuzz --scenario "$scenario" --runs 1 --shard 1/4 --seed-base 1000 \
  --out "$shards/shard-0" >"$out/reuse.log" 2>&1 || code=$?
[[ $code -eq 2 ]] && grep -q "give each shard its own directory" "$out/reuse.log" ||
  { cat "$out/reuse.log"; fail "reusing shard 0's --out for shard 1: exit $code"; }

# Two campaigns at once on one directory: the second is refused while the first holds the lock.
"$seedgrid" fuzz --scenario "$scenario" --time 5s --seed-base 1 --out "$out/locked" \
  >"$out/locked.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [[ -f $out/locked/summary.json ]] && break; sleep 0.1; done
[[ -f $out/locked/summary.json ]] || fail "the first campaign wrote no summary at its start"
code=0
"$seedgrid" fuzz --scenario "$scenario" --runs 1 --seed-base 1 --out "$out/locked" \
  >"$out/locked2.log" 2>&1 || code=$?
[[ $code -eq 2 ]] && grep -q "another fuzz campaign is writing there" "$out/locked2.log" ||
  { cat "$out/locked2.log"; fail "a second campaign on a locked --out: exit $code"; }
wait "${pids[0]}" || true
pids=()

echo "PASS"
