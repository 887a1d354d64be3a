#!/usr/bin/env bash
# One shard of a fleet-wide fuzzing campaign: every scenario, this shard's disjoint seeds.
# Used by both job definitions in this directory (github-actions.yml, kubernetes-indexed-job.yaml)
# and runnable by hand; `seedgrid merge-results OUT/*` folds the shards afterwards.
#
# Usage: ci/nightly/fuzz_shard.sh --shard I --shards N --seed-base S --out DIR
#            (--time T | --runs R) [--scenarios PATH] [--jobs J] [--tool PATH] [--guided]
#   --shard I --shards N   this shard, 0 <= I < N (e.g. the scheduler's job index)
#   --seed-base S          shared by every shard of the campaign: a number, or any text (a run id,
#                          a Job's uid), which is hashed to one
#   --out DIR              writes DIR/<scenario>/shard-I/ (summary.json and repro files) per scenario
#   --time T | --runs R    the budget per scenario (90s, 20m, 2h | a run count)
#   --scenarios PATH       a scenario file or a directory of them (default: scenarios/)
#   --jobs J               parallel runs (default: every core)
#   --tool PATH            the seedgrid binary (default: build/tools/seedgrid)
#   --guided               coverage-guided swarm draws (fuzz --guided)
# Exit 0 when every scenario's campaign ran to its budget, whether or not it found failures (the
# merge reports those, so a scheduler does not retry a shard for finding a bug); 2 on a usage
# error; 3 when a campaign could not run (bad scenario file, unwritable --out, interrupted).
set -uo pipefail

shard="" shards="" seed_base="" out="" budget=() scenarios=scenarios jobs="" guided=()
tool=build/tools/seedgrid
usage() { sed -n '5,16p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "fuzz_shard.sh: $*" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --guided|-h|--help) ;;
    --*) [[ $# -ge 2 ]] || die "$1 needs a value" ;;
  esac
  case "$1" in
    --shard) shard="${2:-}"; shift 2 ;;
    --shards) shards="${2:-}"; shift 2 ;;
    --seed-base) seed_base="${2:-}"; shift 2 ;;
    --out) out="${2:-}"; shift 2 ;;
    --time) budget=(--time "${2:-}"); shift 2 ;;
    --runs) budget=(--runs "${2:-}"); shift 2 ;;
    --scenarios) scenarios="${2:-}"; shift 2 ;;
    --jobs) jobs="${2:-}"; shift 2 ;;
    --tool) tool="${2:-}"; shift 2 ;;
    --guided) guided=(--guided); shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option '$1' (try --help)" ;;
  esac
done
[[ $shard =~ ^[0-9]+$ && $shards =~ ^[0-9]+$ ]] && (( shard < shards )) ||
  die "--shard I --shards N: want whole numbers with 0 <= I < N, got '$shard' and '$shards'"
[[ -n $seed_base ]] || die "--seed-base is required (the same for every shard)"
[[ -n $out ]] || die "--out is required"
[[ ${#budget[@]} -eq 2 && -n ${budget[1]} ]] || die "give a budget: --time T or --runs R"
[[ -x $tool ]] || die "--tool $tool: not an executable (build it: cmake --build build --target seedgrid)"
if [[ ! $seed_base =~ ^[0-9]+$ ]]; then
  seed_base=$(printf '%s' "$seed_base" | cksum | cut -d' ' -f1)  # text -> a 32-bit number
fi
jobs=${jobs:-$(nproc)}

files=()
if [[ -d $scenarios ]]; then
  for f in "$scenarios"/*.json; do [[ -f $f ]] && files+=("$f"); done
elif [[ -f $scenarios ]]; then
  files=("$scenarios")
fi
[[ ${#files[@]} -gt 0 ]] || die "--scenarios $scenarios: no scenario files"

echo "fuzz_shard.sh: shard $shard/$shards, seed base $seed_base, ${#files[@]} scenarios, ${budget[*]} each"
rc=0
for f in "${files[@]}"; do
  name=$(basename "$f" .json)
  code=0
  "$tool" fuzz --scenario "$f" "${budget[@]}" --jobs "$jobs" --shard "$shard/$shards" \
    --seed-base "$seed_base" --out "$out/$name/shard-$shard" "${guided[@]}" || code=$?
  # 0: no failure; 1: failures (in the summary, for the merge); anything else: it did not run.
  if [[ $code -gt 1 ]]; then
    echo "fuzz_shard.sh: $name: seedgrid fuzz exited $code" >&2
    rc=3
  fi
done
exit $rc
