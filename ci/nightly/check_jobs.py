#!/usr/bin/env python3
"""Checks the nightly job definitions in ci/nightly/ without their schedulers (neither GitHub
Actions nor Kubernetes runs here): each file parses as YAML and has the keys and the shape the
fleet flow needs — shards that agree with each other, every shard running fuzz_shard.sh with its
own index and the shared seed base, results kept, and a merge step that runs merge-results after
every shard. Every flag the files pass to fuzz_shard.sh is one the script documents.

Usage: check_jobs.py [DIR]   (default: the directory of this script). Exit 0, or 1 listing every
problem as FILE: what.
"""
import os
import re
import sys

import yaml

problems = []


def need(cond, file, what):
    if not cond:
        problems.append(f"{file}: {what}")
    return cond


def script_flags(directory):
    text = open(os.path.join(directory, "fuzz_shard.sh")).read()
    return set(re.findall(r"^\s+(--[a-z-]+)\)", text, re.M))


def check_flags(file, command_text, flags):
    for flag in re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", command_text):
        need(flag in flags, file, f"passes {flag}, which fuzz_shard.sh does not take")


def check_github(path, flags):
    f = os.path.basename(path)
    doc = yaml.safe_load(open(path))
    if not need(isinstance(doc, dict), f, "not a YAML mapping"):
        return
    on = doc.get("on", doc.get(True))  # YAML 1.1 reads a bare `on` key as true
    need(isinstance(on, dict) and on.get("schedule"), f, "on.schedule (a nightly cron) is missing")
    jobs = doc.get("jobs") or {}
    fuzz, merge = jobs.get("fuzz"), jobs.get("merge")
    if not need(isinstance(fuzz, dict) and isinstance(merge, dict), f, "jobs fuzz and merge"):
        return
    shards = (doc.get("env") or {}).get("SHARDS")
    matrix = ((fuzz.get("strategy") or {}).get("matrix") or {}).get("shard")
    need(isinstance(matrix, list) and str(shards) == str(len(matrix)) and
         matrix == list(range(len(matrix))), f,
         f"strategy.matrix.shard must be 0..SHARDS-1 (SHARDS={shards}, matrix={matrix})")
    need((fuzz.get("strategy") or {}).get("fail-fast") is False, f,
         "strategy.fail-fast must be false (one shard's failure must not cancel the others)")
    runs = " ".join(s.get("run", "") for s in fuzz.get("steps", []))
    need("ci/nightly/fuzz_shard.sh" in runs and "${{ matrix.shard }}" in runs and
         "--seed-base" in runs and "$SHARDS" in runs, f,
         "the fuzz job must run ci/nightly/fuzz_shard.sh with matrix.shard, $SHARDS, --seed-base")
    check_flags(f, runs.split("fuzz_shard.sh", 1)[-1], flags)
    uploads = [s for s in fuzz.get("steps", []) if str(s.get("uses", "")).startswith(
        "actions/upload-artifact")]
    need(uploads and uploads[0].get("if") == "always()", f,
         "the fuzz job must upload its results with if: always()")
    need(merge.get("needs") in ("fuzz", ["fuzz"]) and merge.get("if") == "always()", f,
         "the merge job needs fuzz and runs if: always()")
    merge_runs = " ".join(s.get("run", "") for s in merge.get("steps", []))
    need("merge-results" in merge_runs, f, "the merge job must run seedgrid merge-results")
    need(any(str(s.get("uses", "")).startswith("actions/download-artifact")
             for s in merge.get("steps", [])), f, "the merge job must download the shards")


def check_kubernetes(path, flags):
    f = os.path.basename(path)
    docs = [d for d in yaml.safe_load_all(open(path)) if d]
    jobs = {d["metadata"]["name"]: d for d in docs if d.get("kind") == "Job"}
    pvcs = {d["metadata"]["name"] for d in docs if d.get("kind") == "PersistentVolumeClaim"}
    indexed = [j for j in jobs.values() if j["spec"].get("completionMode") == "Indexed"]
    if not need(len(indexed) == 1, f, "exactly one Job with completionMode: Indexed"):
        return
    spec = indexed[0]["spec"]
    pod = spec["template"]["spec"]
    need(pod.get("restartPolicy") == "Never", f, "the shard pods' restartPolicy must be Never")
    container = pod["containers"][0]
    args = [str(a) for a in container.get("args", [])]
    command = " ".join(container.get("command", []) + args)
    need("ci/nightly/fuzz_shard.sh" in command, f, "the shards must run ci/nightly/fuzz_shard.sh")
    check_flags(f, " ".join(args), flags)

    def arg(name):
        return args[args.index(name) + 1] if name in args and args.index(name) + 1 < len(args) else None

    need(arg("--shard") == "$(JOB_COMPLETION_INDEX)", f, "--shard must be $(JOB_COMPLETION_INDEX)")
    need(str(spec.get("completions")) == str(spec.get("parallelism")) == arg("--shards"), f,
         f"completions ({spec.get('completions')}), parallelism ({spec.get('parallelism')}) and "
         f"--shards ({arg('--shards')}) must agree")
    need(arg("--seed-base") is not None, f, "--seed-base must be given (shared by the shards)")
    env = {e["name"]: e for e in container.get("env", [])}
    seed_var = re.fullmatch(r"\$\((\w+)\)", arg("--seed-base") or "")
    need(not seed_var or seed_var.group(1) in env, f, "--seed-base names an env var not defined")
    cpu = str(((container.get("resources") or {}).get("requests") or {}).get("cpu"))
    need(arg("--jobs") == cpu, f,
         f"--jobs ({arg('--jobs')}) must equal the CPU request ({cpu}): nproc is the host's")
    out = arg("--out") or ""
    need(seed_var is not None and seed_var.group(0) in out, f,
         "--out must contain the seed base, so that nights never share a results directory")
    others = [j for j in jobs.values() if j is not indexed[0]]
    merges = [j for j in others if "merge-results" in " ".join(
        str(x) for c in j["spec"]["template"]["spec"]["containers"]
        for x in c.get("command", []) + c.get("args", []))]
    need(len(merges) == 1, f, "one merge Job running seedgrid merge-results")
    for j in [indexed[0]] + merges:
        for v in j["spec"]["template"]["spec"].get("volumes", []):
            claim = (v.get("persistentVolumeClaim") or {}).get("claimName")
            need(claim in pvcs, f, f"volume {v.get('name')} claims '{claim}', not defined here")


def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    flags = script_flags(directory)
    need(flags, "fuzz_shard.sh", "no options found")
    for name, check in (("github-actions.yml", check_github),
                        ("kubernetes-indexed-job.yaml", check_kubernetes)):
        path = os.path.join(directory, name)
        if need(os.path.exists(path), name, "missing"):
            try:
                check(path, flags)
            except (yaml.YAMLError, KeyError, TypeError, IndexError, AttributeError) as e:
                problems.append(f"{name}: malformed: {e}")
    for p in problems:
        print(p)
    print("nightly job definitions: " + ("ok" if not problems else f"{len(problems)} problems"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
