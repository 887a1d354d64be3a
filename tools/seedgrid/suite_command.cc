#include "tools/seedgrid/suite_command.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tools/seedgrid/execute.h"
#include "tools/seedgrid/input.h"
#include "tools/seedgrid/probe_report.h"
#include "tools/seedgrid/report.h"
#include "tools/seedgrid/worker_pool.h"

namespace seedgrid::tools {

namespace {

struct SuiteFlags {
  std::string dir;
  uint64_t seeds = 5;
  std::string first_seed = "1";
  std::string junit;
  std::string hashes;
  int jobs = 1;
  bool check_determinism = false;
  ProbeFlags probes;
};

// Every *.json file in `dir`, parsed, in path order.
std::vector<Loaded> LoadScenarioDir(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".json") {
      files.push_back(entry.path().string());
    }
  }
  if (ec) throw InputError{fmt::format("{}: cannot list the directory: {}", dir, ec.message())};
  std::sort(files.begin(), files.end());
  if (files.empty()) throw InputError{fmt::format("{}: no scenario files (*.json)", dir)};
  std::vector<Loaded> loaded;
  for (const std::string& f : files) loaded.push_back(LoadScenarioFile(f));
  return loaded;
}

// Runs every (scenario, seed) on the worker pool; results in (scenario, seed) order.
std::vector<SeedOutcome> RunAll(const std::vector<Loaded>& loaded, const SuiteFlags& f,
                                uint64_t first_seed) {
  std::vector<SeedOutcome> runs;
  for (const Loaded& l : loaded) {
    for (uint64_t k = 0; k < f.seeds; ++k) runs.push_back(SeedOutcome{&l, first_seed + k, {}});
  }
  // With --check-determinism each run executes twice (Execute compares the two traces). The suite
  // keeps every result, so results may wait for delivery without a tighter bound.
  WorkerPool<Outcome> pool(
      {.jobs = f.jobs, .tasks_max = runs.size(), .results_waiting_max = runs.size()},
      [&](uint64_t i) { return Execute(*runs[i].loaded, runs[i].seed, f.check_determinism); },
      [&](uint64_t i, Outcome& outcome) {
        runs[i].outcome = std::move(outcome);
        if (!Failed(runs[i].outcome)) return;
        std::printf("FAIL %s seed %llu: %s\n", runs[i].loaded->scenario.name.c_str(),
                    static_cast<unsigned long long>(runs[i].seed),
                    InvariantOf(runs[i].outcome).c_str());
        std::fflush(stdout);
      });
  pool.Run();
  return runs;
}

int RunSuite(const SuiteFlags& f, const char* commit) {
  const uint64_t first_seed = ParseSeed(f.first_seed, "--first-seed");
  const std::vector<Loaded> loaded = LoadScenarioDir(f.dir);
  const std::vector<std::string> required_probes = LoadRequiredProbes(f.probes);
  std::printf("seedgrid suite  %s  %zu scenarios x %llu seeds (from %llu)  jobs=%d%s  commit=%s\n",
              f.dir.c_str(), loaded.size(), static_cast<unsigned long long>(f.seeds),
              static_cast<unsigned long long>(first_seed), f.jobs,
              f.check_determinism ? "  check-determinism" : "", commit);
  std::fflush(stdout);
  const auto start = std::chrono::steady_clock::now();
  const std::vector<SeedOutcome> runs = RunAll(loaded, f, first_seed);
  const double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const size_t failures = std::count_if(runs.begin(), runs.end(),
                                        [](const SeedOutcome& t) { return Failed(t.outcome); });
  std::fputs(SuiteTable(loaded, runs).c_str(), stdout);
  std::printf("\n%zu runs, %zu failed, %.1f s wall%s\n", runs.size(), failures, wall_s,
              f.check_determinism ? " (each seed run twice)" : "");
  if (!f.hashes.empty()) WriteFileOrThrow(f.hashes, SuiteHashes(runs));
  if (!f.junit.empty()) {
    WriteFileOrThrow(f.junit, SuiteJUnitXml(loaded, runs, wall_s));
    std::printf("JUnit XML: %s\n", f.junit.c_str());
  }
  ProbeCoverage probes;
  for (const SeedOutcome& run : runs) probes.Add(run.outcome.result.probes);
  const bool probes_ok = FinishProbes(probes, f.probes, required_probes, stdout);
  return failures == 0 && probes_ok ? kExitOk : kExitViolation;
}

}  // namespace

CommandMain SetUpSuiteCommand(CLI::App& app, const char* commit) {
  app.description(
      "Runs every scenario (*.json) in DIR for K seeds (first-seed .. first-seed+K-1) and "
      "prints a summary table; optional JUnit XML for CI systems.");
  auto f = std::make_shared<SuiteFlags>();
  app.add_option("DIR", f->dir, "directory of scenario files")->required();
  app.add_option("--seeds", f->seeds, "seeds per scenario")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();
  app.add_option("--first-seed", f->first_seed, "first seed")->capture_default_str();
  app.add_option("--junit", f->junit, "write JUnit XML here");
  app.add_option("--hashes", f->hashes,
                 "write 'scenario seed trace_hash verdict' per run here (compare two processes "
                 "or two builds)");
  app.add_option("--jobs", f->jobs, "parallel runs (each owns a whole simulation)")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_flag("--check-determinism", f->check_determinism,
               "run each seed twice and fail on any difference");
  AddProbeFlags(app, f->probes);
  return [f, commit] { return RunSuite(*f, commit); };
}

}  // namespace seedgrid::tools
