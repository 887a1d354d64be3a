#include "tools/seedgrid/shrink_command.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "scenarios/shrink.h"
#include "tools/seedgrid/campaign.h"
#include "tools/seedgrid/emit_test.h"
#include "tools/seedgrid/execute.h"
#include "tools/seedgrid/input.h"
#include "tools/seedgrid/isolation.h"
#include "tools/seedgrid/outcome_codec.h"
#include "tools/seedgrid/report.h"
#include "tools/seedgrid/repro.h"

namespace seedgrid::tools {

namespace {

struct ShrinkFlags {
  std::string repro_file;
  std::string scenario;
  std::string seed = "1";
  bool seed_given = false;
  std::string prefix = "shrunk";
  std::string emit_test;
  uint64_t runs_max = 1000;
  bool skip_schedule = false;
  IsolationFlags isolation;
};

// The failing run to shrink: from a repro file, or a scenario file and a seed.
struct Target {
  Loaded loaded;
  uint64_t seed = 0;
  std::string found_by;  // for an emitted test's record
};

Target LoadTarget(const ShrinkFlags& f) {
  if (!f.repro_file.empty()) {
    if (!f.scenario.empty()) {
      throw InputError{"give either REPRO_FILE or --scenario with --seed, not both"};
    }
    Repro repro = LoadRepro(f.repro_file);
    if (repro.swarm) {  // Shrinking runs the seed's own swarm draw, not a given one.
      throw InputError{fmt::format(
          "{}: the run was given its swarm (fuzz --guided); shrink replays seeds with their own "
          "draw and cannot shrink it yet",
          f.repro_file)};
    }
    return Target{std::move(repro.loaded), repro.seed, f.repro_file};
  }
  if (f.scenario.empty()) throw InputError{"give a REPRO_FILE, or --scenario F and --seed N"};
  Loaded loaded = LoadScenarioFile(f.scenario);  // Read before the seed is checked.
  // A regression test's file fixes its seed; --seed overrides it.
  const uint64_t seed = !f.seed_given && loaded.scenario.regression
                            ? loaded.scenario.regression->seed
                            : ParseSeed(f.seed);
  return Target{std::move(loaded), seed, fmt::format("{} seed {}", f.scenario, seed)};
}

// A run of the shrink, in a worker process (a crash or hang is its failure) unless --in-process.
scenarios::CandidateRunner Runner(const ShrinkFlags& f) {
  if (f.isolation.in_process) return {};
  const double timeout_s = f.isolation.run_timeout_s();
  return [timeout_s](const scenarios::Scenario& s, const scenarios::RunOptions& o) {
    TaskEnd end = RunIsolated([&] { return EncodeOutcome(Outcome{scenarios::RunScenario(s, o)}); },
                              timeout_s);
    return OutcomeOf(end, scenarios::DrawSwarm(s, o.seed), timeout_s).result;
  };
}

// Runs the failing seed and the shrinker, printing each simplification kept.
scenarios::ShrinkResult Search(const Loaded& loaded, uint64_t seed, const ShrinkFlags& f,
                               scenarios::RunResult& failing) {
  const scenarios::CandidateRunner run = Runner(f);
  failing = run ? run(loaded.scenario, {.seed = seed})
                : scenarios::RunScenario(loaded.scenario, {.seed = seed});
  if (failing.pass) {
    throw InputError{
        fmt::format("seed {} of {} passes: there is nothing to shrink", seed, loaded.path)};
  }
  std::printf("fails with %s after %llu ops and %llu fault events; shrinking (at most %llu runs)\n",
              failing.violation->invariant.c_str(),
              static_cast<unsigned long long>(failing.ops_generated),
              static_cast<unsigned long long>(failing.faults_generated),
              static_cast<unsigned long long>(f.runs_max));
  std::fflush(stdout);
  return scenarios::Shrink(
      loaded.scenario, {.seed = seed}, failing, f.runs_max,
      [](const scenarios::ShrinkStep& step) {
        std::printf("  still fails: %s (%llu ops)\n", step.what.c_str(),
                    static_cast<unsigned long long>(step.ops));
        std::fflush(stdout);
      },
      !f.skip_schedule, run);
}

// "nodes 5 -> 2, safety phase 20000 -> 312 ms, ops 2011 -> 4, faults 37 -> 1, events ..."
std::string Sizes(const Loaded& before, const scenarios::RunResult& failing,
                  const scenarios::ShrinkResult& r) {
  const scenarios::ShrinkSize a = scenarios::SizeOf(before.scenario, failing);
  const scenarios::ShrinkSize b = scenarios::SizeOf(r.scenario, r.result);
  return fmt::format(
      "nodes {} -> {}, safety phase {} -> {} ms, ops {} -> {}, faults {} -> {}, events {} -> {}, "
      "fixed faults {} -> {}",
      a.nodes, b.nodes, before.scenario.duration_ms, r.scenario.duration_ms, a.ops, b.ops, a.faults,
      b.faults, a.events, b.events, before.scenario.faults.size(), r.scenario.faults.size());
}

// Writes the regression test and runs it once from the written file: it must fail now, exactly
// as the shrunk run did (same trace hash), and pass once the bug is fixed.
void EmitTest(const ShrinkFlags& f, const Target& t, const scenarios::ShrinkResult& r,
              const std::string& sizes, const char* commit) {
  const RegressionOrigin origin{t.seed, r.result.violation->invariant, t.found_by, commit, sizes};
  WriteFileOrThrow(f.emit_test, RegressionTest(r.scenario, f.emit_test, origin).text);
  const Loaded written = LoadScenarioFile(f.emit_test);
  const Outcome o = ExecuteAsFlagged(written, written.scenario.regression->seed, f.isolation);
  if (o.result.trace_hash != r.result.trace_hash) {
    std::printf("warning: %s runs with trace hash %s, not the shrunk run's %s\n",
                f.emit_test.c_str(), Hex(o.result.trace_hash).c_str(),
                Hex(r.result.trace_hash).c_str());
  }
  std::printf(
      "wrote regression test %s (seed %llu): it fails now (%s) and must pass once the bug is "
      "fixed; commit it with the fix (the suite over its directory runs it)\n",
      f.emit_test.c_str(), static_cast<unsigned long long>(t.seed), InvariantOf(o).c_str());
}

int RunShrink(const ShrinkFlags& f, const char* commit) {
  if (!f.emit_test.empty()) CheckEmitPath(f.emit_test);
  const Target t = LoadTarget(f);
  const Loaded& loaded = t.loaded;
  std::fputs(RunHeader("shrink", loaded, t.seed, commit).c_str(), stdout);
  scenarios::RunResult failing;
  const scenarios::ShrinkResult r = Search(loaded, t.seed, f, failing);
  scenarios::Scenario shrunk = r.scenario;
  shrunk.description = fmt::format("shrunk from {} seed {} ({} steps, {} runs)", loaded.path,
                                   t.seed, r.steps.size(), r.runs);
  const Loaded out{shrunk, f.prefix + ".scenario.json", scenarios::ScenarioToJson(shrunk)};
  WriteFileOrThrow(out.path, out.text);
  // Run the shrunk scenario once more from its written text: the report (with wall time) and the
  // repro come from exactly what a replay will run.
  const Outcome o = ExecuteAsFlagged(out, t.seed, f.isolation);
  const std::string repro_path = f.prefix + ".repro.json";
  WriteRepro(repro_path, o, out, t.seed, commit);
  const std::string sizes = Sizes(loaded, failing, r);
  std::printf("shrunk in %zu steps (%llu runs): %s\n", r.steps.size(),
              static_cast<unsigned long long>(r.runs), sizes.c_str());
  std::printf("runs: %llu structure, %llu faults, %llu ops; schedule %s\n",
              static_cast<unsigned long long>(r.structure_runs),
              static_cast<unsigned long long>(r.fault_runs),
              static_cast<unsigned long long>(r.op_runs),
              f.skip_schedule ? "not shrunk (--skip-schedule)"
              : failing.events == 0
                  ? "not shrunk (a crashed or hung run reports no schedule: only its structure "
                    "shrinks)"
              : r.schedule_minimal ? "1-minimal (no single fault or op can go)"
                                   : "not minimal (the run budget ran out; raise --max-runs)");
  std::fputs(RunReport(o, out, t.seed).c_str(), stdout);
  std::printf("wrote %s and %s\n", out.path.c_str(), repro_path.c_str());
  if (!f.emit_test.empty()) EmitTest(f, t, r, sizes, commit);
  return kExitOk;
}

}  // namespace

CommandMain SetUpShrinkCommand(CLI::App& app, const char* commit) {
  app.description(
      "Shrinks a failing run: tries simpler scenarios with the same seed (fewer faults, fault "
      "kinds off, buggify off, a shorter safety phase, fewer nodes, a lighter workload), then "
      "drops fault events and workload ops from the run's schedule (delta debugging), keeping "
      "each change that still fails the same invariant. Writes PREFIX.scenario.json and "
      "PREFIX.repro.json, and with --emit-test a regression test. Exit 0 when shrunk, 2 when "
      "the run passes or the input is bad.");
  auto f = std::make_shared<ShrinkFlags>();
  app.add_option("REPRO_FILE", f->repro_file, "repro file (JSON) written by run or fuzz");
  app.add_option("--scenario", f->scenario, "scenario file (with --seed)");
  CLI::Option* seed = app.add_option(
      "--seed", f->seed, "root seed (with --scenario; default: the file's regression seed, or 1)");
  app.add_option("--out", f->prefix, "output prefix")->capture_default_str();
  app.add_option("--emit-test", f->emit_test,
                 "also write the shrunk run as a regression test here (a new .json file in an "
                 "existing directory, e.g. tests/regressions/NAME.json)");
  app.add_option("--max-runs,--runs-max", f->runs_max,
                 "run budget for the whole search (half at most for the structure)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_flag("--skip-schedule", f->skip_schedule,
               "shrink only the scenario's structure, not its schedule of faults and ops");
  AddIsolationFlags(app, f->isolation);
  return [f, seed, commit] {
    f->seed_given = seed->count() > 0;
    return RunShrink(*f, commit);
  };
}

}  // namespace seedgrid::tools
