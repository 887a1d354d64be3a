#include "tools/seedgrid/shrink_command.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "scenarios/shrink.h"
#include "tools/seedgrid/execute.h"
#include "tools/seedgrid/input.h"
#include "tools/seedgrid/report.h"
#include "tools/seedgrid/repro.h"

namespace seedgrid::tools {

namespace {

struct ShrinkFlags {
  std::string repro_file;
  std::string scenario;
  std::string seed = "1";
  std::string prefix = "shrunk";
  uint64_t runs_max = 300;
};

// The failing run to shrink: from a repro file, or a scenario file and a seed.
struct Target {
  Loaded loaded;
  uint64_t seed = 0;
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
    return Target{std::move(repro.loaded), repro.seed};
  }
  if (f.scenario.empty()) throw InputError{"give a REPRO_FILE, or --scenario F and --seed N"};
  Loaded loaded = LoadScenarioFile(f.scenario);  // Read before the seed is checked.
  const uint64_t seed = ParseSeed(f.seed);
  return Target{std::move(loaded), seed};
}

// Runs the failing seed and the shrinker, printing each simplification kept.
scenarios::ShrinkResult Search(const Loaded& loaded, uint64_t seed, uint64_t runs_max,
                               scenarios::RunResult& failing) {
  failing = scenarios::RunScenario(loaded.scenario, {.seed = seed});
  if (failing.pass) {
    throw InputError{
        fmt::format("seed {} of {} passes: there is nothing to shrink", seed, loaded.path)};
  }
  std::printf("fails with %s after %llu ops; shrinking (at most %llu runs)\n",
              failing.violation->invariant.c_str(), static_cast<unsigned long long>(failing.ops),
              static_cast<unsigned long long>(runs_max));
  std::fflush(stdout);
  return scenarios::Shrink(loaded.scenario, {.seed = seed}, failing, runs_max,
                           [](const scenarios::ShrinkStep& step) {
                             std::printf("  still fails: %s (%llu ops)\n", step.what.c_str(),
                                         static_cast<unsigned long long>(step.ops));
                             std::fflush(stdout);
                           });
}

int RunShrink(const ShrinkFlags& f, const char* commit) {
  const Target t = LoadTarget(f);
  const Loaded& loaded = t.loaded;
  std::fputs(RunHeader("shrink", loaded, t.seed, commit).c_str(), stdout);
  scenarios::RunResult failing;
  const scenarios::ShrinkResult r = Search(loaded, t.seed, f.runs_max, failing);
  scenarios::Scenario shrunk = r.scenario;
  shrunk.description = fmt::format("shrunk from {} seed {} ({} steps, {} runs)", loaded.path,
                                   t.seed, r.steps.size(), r.runs);
  const Loaded out{shrunk, f.prefix + ".scenario.json", scenarios::ScenarioToJson(shrunk)};
  WriteFileOrThrow(out.path, out.text);
  // Run the shrunk scenario once more from its written text: the report (with wall time) and the
  // repro come from exactly what a replay will run.
  const Outcome o = Execute(out, t.seed, false);
  const std::string repro_path = f.prefix + ".repro.json";
  WriteRepro(repro_path, o, out, t.seed, commit);
  std::printf(
      "shrunk in %zu steps (%llu runs): nodes %d -> %d, safety phase %llu -> %llu ms, "
      "ops %llu -> %llu, fixed faults %zu -> %zu\n",
      r.steps.size(), static_cast<unsigned long long>(r.runs), loaded.scenario.nodes, shrunk.nodes,
      static_cast<unsigned long long>(loaded.scenario.duration_ms),
      static_cast<unsigned long long>(shrunk.duration_ms),
      static_cast<unsigned long long>(failing.ops), static_cast<unsigned long long>(r.result.ops),
      loaded.scenario.faults.size(), shrunk.faults.size());
  std::fputs(RunReport(o, out, t.seed).c_str(), stdout);
  std::printf("wrote %s and %s\n", out.path.c_str(), repro_path.c_str());
  return kExitOk;
}

}  // namespace

CommandMain SetUpShrinkCommand(CLI::App& app, const char* commit) {
  app.description(
      "Shrinks a failing run: tries simpler scenarios with the same seed (fewer faults, fault "
      "kinds off, buggify off, a shorter safety phase, fewer nodes, a lighter workload) and "
      "keeps each one that still fails the same invariant. Writes PREFIX.scenario.json and "
      "PREFIX.repro.json. Exit 0 when shrunk, 2 when the run passes or the input is bad.");
  auto f = std::make_shared<ShrinkFlags>();
  app.add_option("REPRO_FILE", f->repro_file, "repro file (JSON) written by run or fuzz");
  app.add_option("--scenario", f->scenario, "scenario file (with --seed)");
  app.add_option("--seed", f->seed, "root seed (with --scenario)");
  app.add_option("--out", f->prefix, "output prefix")->capture_default_str();
  app.add_option("--max-runs", f->runs_max, "run budget for the search")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  return [f, commit] { return RunShrink(*f, commit); };
}

}  // namespace seedgrid::tools
