#!/usr/bin/env python3
"""Canaries: planted bugs that measure the checkers (docs/scenarios.md, "Canaries").

Each canary in canaries.json is a small patch (ci/canaries/<name>.patch) that plants one bug in
the engine, and a budget: scenarios and seeds on which the checkers must catch it (with
"check_determinism": true the suite runs with --check-determinism). For each canary
this script applies the patch to a scratch checkout of HEAD, builds the `seedgrid` tool there, runs
`seedgrid suite` over the budget, and requires a clean catch: exit 1 with at least one run failing
an invariant (not `crash`, not `hang`) and a repro file for it. A canary whose patch no longer
applies is reported STALE and fails the script, like a canary that passes (MISSED) or only crashes
(CRASH). At the end it prints the catch matrix: canary x invariant x seeds to the first catch.

  ci/canaries/run.py                       every canary (nightly: ci/nightly/run.sh)
  ci/canaries/run.py --only a,b            just these
  ci/canaries/run.py --list                names, areas and the bug each plants
  ci/canaries/run.py --matrix FILE.md      also write the matrix as Markdown

The scratch tree lives in --work (default build-canary/ in the repository; reused between runs,
so after the first build each canary recompiles only what its patch touches). Only committed work
is tested: the scratch tree is HEAD.
"""
import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HERE = os.path.join(ROOT, "ci", "canaries")


def load_canaries():
    with open(os.path.join(HERE, "canaries.json")) as f:
        canaries = json.load(f)
    for c in canaries:
        for field in ("name", "area", "bug", "scenarios", "seeds"):
            if field not in c:
                sys.exit(f"canaries.json: canary {c.get('name', '?')} lacks \"{field}\"")
        patch = os.path.join(HERE, c["name"] + ".patch")
        if not os.path.exists(patch):
            sys.exit(f"canaries.json: {c['name']}: no patch file {patch}")
        c["patch"] = patch
    return canaries


def run(cmd, cwd, log, check=True):
    with open(log, "a") as out:
        out.write("$ " + " ".join(cmd) + "\n")
        out.flush()
        r = subprocess.run(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    if check and r.returncode != 0:
        sys.exit(f"canaries: '{' '.join(cmd)}' failed (exit {r.returncode}); see {log}")
    return r.returncode


def prepare_tree(work, log):
    """A scratch checkout of HEAD in work/src with a configured build directory."""
    src = os.path.join(work, "src")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.strip()
    if not os.path.exists(os.path.join(src, ".git")):
        run(["git", "worktree", "prune"], ROOT, log)
        run(["git", "worktree", "add", "--detach", "--force", src, head], ROOT, log)
    run(["git", "checkout", "--force", "--detach", head], src, log)
    run(["git", "reset", "--hard", "-q"], src, log)
    # No precompiled header: ccache caches PCH builds poorly, and this build (nightly) then also
    # checks that the engine and the tool include what they use (CMakeLists.txt, SEEDGRID_PCH).
    configure = ["cmake", "--preset", "dev", "-DSEEDGRID_FUZZ_BINARY=", "-DSEEDGRID_PCH=OFF"]
    if shutil.which("ccache"):
        configure.append("-DCMAKE_CXX_COMPILER_LAUNCHER=ccache")
    run(configure, src, log)
    return src, head


def build(src, jobs, log):
    return run(["cmake", "--build", "build", "--target", "seedgrid", "-j", str(jobs)], src, log,
               check=False)


def Caught(violation):
    """The invariant a violation names; a liveness failure also names the check that never
    converged ("liveness (grid_convergence)"), which is the check that saw the bug."""
    name = violation["invariant"]
    m = re.search(r"after the heal \(([a-z_]+)\)", violation.get("detail", ""))
    return f"{name} ({m.group(1)})" if name == "liveness" and m else name


def catch(c, src, out_dir, jobs, log):
    """Runs the canary's budget; returns its row of the matrix."""
    scen_dir = os.path.join(out_dir, "scenarios")
    os.makedirs(scen_dir, exist_ok=True)
    for s in c["scenarios"]:
        path = os.path.join(src, "scenarios", s + ".json")
        if not os.path.exists(path):
            sys.exit(f"canaries.json: {c['name']}: no scenario {path}")
        shutil.copy(path, scen_dir)
    repros = os.path.join(out_dir, "repro")
    started = time.monotonic()
    # "check_determinism": true for a canary only the determinism check can catch.
    determinism = ["--check-determinism"] if c.get("check_determinism") else []
    code = run([os.path.join(src, "build", "tools", "seedgrid"), "suite", scen_dir, "--seeds",
                str(c["seeds"]), "--jobs", str(jobs), "--repro-dir", repros, "--run-timeout",
                "5m"] + determinism, src, log, check=False)
    wall_s = time.monotonic() - started
    caught = {}  # invariant -> sorted failing runs, "scenario:seed"
    for f in sorted(glob.glob(os.path.join(repros, "*.repro.json"))):
        with open(f) as fh:
            r = json.load(fh)
        scenario = os.path.basename(r["scenario_path"]).removesuffix(".json")
        caught.setdefault(Caught(r["violation"]), []).append(f"{scenario}:{r['seed']}")
    clean = {k: v for k, v in caught.items() if k not in ("crash", "hang")}
    if code == 1 and clean:
        verdict = "CAUGHT"
    elif code == 0:
        verdict = "MISSED"
    elif code == 1 and caught:
        verdict = "CRASH"
    else:
        verdict = f"ERROR (exit {code})"
    return {"verdict": verdict, "caught": {k: sorted(v) for k, v in caught.items()},
            "runs": c["seeds"] * len(c["scenarios"]), "wall_s": round(wall_s, 1)}


def matrix(canaries, results):
    invariants = sorted({i for r in results.values() for i in r.get("caught", {})})
    head = ["canary", "area", "verdict"] + invariants + ["first catch", "wall s"]
    rows = []
    for c in canaries:
        r = results.get(c["name"])
        if r is None:
            continue
        caught = r.get("caught", {})
        runs = r.get("runs", c["seeds"] * len(c["scenarios"]))
        cells = [f"{len(caught[i])}/{runs}" if i in caught else "" for i in invariants]
        # The first catch in the suite's run order: scenario by scenario (by name), seed by seed.
        order = {s: k for k, s in enumerate(sorted(c["scenarios"]))}
        fails = [run.split(":") for runs_of in caught.values() for run in runs_of]
        fails.sort(key=lambda f: (order.get(f[0], 0), int(f[1])))
        first = f"{fails[0][0]} seed {fails[0][1]}" if fails else "-"
        rows.append([c["name"], c["area"], r["verdict"]] + cells + [first, str(r.get("wall_s", ""))])
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__[__doc__.index("\n") + 1:])
    ap.add_argument("--only", help="comma-separated canary names")
    ap.add_argument("--list", action="store_true", help="list the canaries and exit")
    ap.add_argument("--work", default=os.path.join(ROOT, "build-canary"),
                    help="scratch directory (default: build-canary/)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="build and run jobs")
    ap.add_argument("--matrix", help="write the catch matrix as Markdown here")
    ap.add_argument("--matrix-only", action="store_true",
                    help="build nothing, run nothing: the matrix of the last results in --work")
    args = ap.parse_args()
    canaries = load_canaries()
    if args.list:
        for c in canaries:
            print(f"{c['name']:34} {c['area']:8} {c['bug']}")
        return 0
    if args.only:
        wanted = args.only.split(",")
        unknown = [w for w in wanted if w not in {c["name"] for c in canaries}]
        if unknown:
            sys.exit(f"canaries: unknown canary {', '.join(unknown)} (try --list)")
        canaries = [c for c in canaries if c["name"] in wanted]
    work = os.path.abspath(args.work)
    if args.matrix_only:
        results = {}
        for c in canaries:
            path = os.path.join(work, "out", c["name"], "result.json")
            if os.path.exists(path):
                with open(path) as f:
                    results[c["name"]] = json.load(f)
        table = matrix(canaries, results)
        print(table)
        if args.matrix:
            with open(args.matrix, "w") as f:
                f.write(table + "\n")
        return 0
    os.makedirs(work, exist_ok=True)
    log = os.path.join(work, "canaries.log")
    open(log, "w").close()
    print(f"canaries: {len(canaries)} to run; scratch tree and log in {work}", flush=True)
    src, head = prepare_tree(work, log)
    results = {}
    for k, c in enumerate(canaries):
        out_dir = os.path.join(work, "out", c["name"])
        shutil.rmtree(out_dir, ignore_errors=True)
        os.makedirs(out_dir)
        run(["git", "checkout", "--force", "-q", head, "--", "."], src, log)
        if run(["git", "apply", c["patch"]], src, log, check=False) != 0:
            results[c["name"]] = {"verdict": "STALE (patch does not apply)", "caught": {}}
        elif build(src, args.jobs, log) != 0:
            results[c["name"]] = {"verdict": "ERROR (build failed)", "caught": {}}
        else:
            results[c["name"]] = catch(c, src, out_dir, args.jobs, log)
        r = results[c["name"]]
        with open(os.path.join(out_dir, "result.json"), "w") as f:
            json.dump(r, f)
        print(f"[{k + 1}/{len(canaries)}] {c['name']}: {r['verdict']} "
              f"{json.dumps(r['caught'])} {r.get('wall_s', '')} s", flush=True)
    run(["git", "checkout", "--force", "-q", head, "--", "."], src, log)
    table = matrix(canaries, results)
    print("\n" + table)
    if args.matrix:
        with open(args.matrix, "w") as f:
            f.write(f"Canary catch matrix at {head[:12]} (seeds failing / seeds run):\n\n{table}\n")
    bad = [n for n, r in results.items() if r["verdict"] != "CAUGHT"]
    if bad:
        print(f"\ncanaries: NOT caught cleanly: {', '.join(bad)}")
        return 1
    print(f"\ncanaries: all {len(results)} caught cleanly")
    return 0


if __name__ == "__main__":
    sys.exit(main())
