#include "tools/seedgrid/suite_command.h"

#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tools/seedgrid/campaign.h"
#include "tools/seedgrid/execute.h"
#include "tools/seedgrid/input.h"
#include "tools/seedgrid/isolation.h"
#include "tools/seedgrid/probe_report.h"
#include "tools/seedgrid/progress.h"
#include "tools/seedgrid/report.h"
#include "tools/seedgrid/repro.h"

namespace seedgrid::tools {

namespace {

struct SuiteFlags {
  std::string dir;
  uint64_t seeds = 5;
  std::string first_seed = "1";
  std::string junit;
  std::string hashes;
  std::string repro_dir;
  int jobs = 1;
  bool check_determinism = false;
  IsolationFlags isolation;
  bool allow_empty = false;
  bool json = false;
  ProbeFlags probes;
};

// Every *.json file in `dir`, parsed, in path order.
std::vector<Loaded> LoadScenarioDir(const std::string& dir, bool allow_empty) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".json") {
      files.push_back(entry.path().string());
    }
  }
  if (ec) throw InputError{fmt::format("{}: cannot list the directory: {}", dir, ec.message())};
  std::sort(files.begin(), files.end());
  if (files.empty() && !allow_empty) {
    throw InputError{fmt::format("{}: no scenario files (*.json)", dir)};
  }
  std::vector<Loaded> loaded;
  for (const std::string& f : files) loaded.push_back(LoadScenarioFile(f));
  return loaded;
}

std::string RunLabel(const Loaded& l, uint64_t seed) {
  return fmt::format("{} seed {}", l.scenario.name, seed);
}

// The suite while it runs: results so far, and what the progress line shows.
class SuiteRun {
 public:
  SuiteRun(const std::vector<Loaded>& loaded, const SuiteFlags& f, uint64_t first_seed,
           const char* commit)
      : loaded_(loaded),
        f_(f),
        commit_(commit),
        progress_(isatty(fileno(stderr)), 10.0),
        start_(std::chrono::steady_clock::now()),
        specs_(SpecsOf(loaded, f, first_seed)),
        outcomes_(specs_.size()) {}

  CampaignEnd Run(double run_timeout_s) {
    run_timeout_s_ = run_timeout_s;
    if (specs_.empty()) return {};  // --allow-empty and an empty directory
    return RunCampaign(loaded_,
                       {.jobs = f_.jobs,
                        .tasks_max = outcomes_.size(),
                        .results_waiting_max = outcomes_.size(),
                        .in_process = f_.isolation.in_process,
                        .run_timeout_s = run_timeout_s,
                        .check_determinism = f_.check_determinism},
                       {.spec = [this](uint64_t i) { return Spec(i); },
                        .deliver = [this](uint64_t i, const RunSpec& s, Outcome& o,
                                          const std::string& text) { Deliver(i, s, o, text); },
                        .started =
                            [this](uint64_t i, const RunSpec&) {
                              running_[i] = std::chrono::steady_clock::now();
                              ShowProgress(/*force=*/true);
                            },
                        // A run that finished is not "running", even while an earlier one
                        // holds back its in-order delivery.
                        .ended = [this](uint64_t i) { running_.erase(i); },
                        .tick = [this] { ShowProgress(false); }});
  }

  // The delivered runs, in (scenario, seed) order.
  std::vector<SeedOutcome> Delivered() const {
    std::vector<SeedOutcome> runs;
    for (size_t i = 0; i < outcomes_.size(); ++i) {
      if (!outcomes_[i]) continue;
      const RunSpec s = Spec(i);
      runs.push_back(SeedOutcome{&loaded_[s.scenario], s.seed, *outcomes_[i]});
    }
    return runs;
  }
  ProgressPrinter& progress() { return progress_; }

 private:
  // Every (scenario, seed) in order; a regression test runs its one fixed seed.
  static std::vector<RunSpec> SpecsOf(const std::vector<Loaded>& loaded, const SuiteFlags& f,
                                      uint64_t first_seed) {
    std::vector<RunSpec> specs;
    for (size_t i = 0; i < loaded.size(); ++i) {
      if (loaded[i].scenario.regression) {
        specs.push_back({i, loaded[i].scenario.regression->seed});
        continue;
      }
      for (uint64_t k = 0; k < f.seeds; ++k) specs.push_back({i, first_seed + k});
    }
    return specs;
  }
  RunSpec Spec(uint64_t i) const { return specs_.at(i); }

  void Deliver(uint64_t i, const RunSpec& s, Outcome& o, const std::string& text) {
    running_.erase(i);
    const Loaded& l = loaded_[s.scenario];
    if (!text.empty()) {
      progress_.Print(stderr, fmt::format("[{} stderr]\n{}", RunLabel(l, s.seed), text));
    }
    DiagnoseIfCrashed(l, s.seed, run_timeout_s_, o);
    if (Failed(o)) {
      ++failures_;
      std::string line = fmt::format("FAIL {}: {}", RunLabel(l, s.seed), InvariantOf(o));
      const std::string& detail = FailureDetail(o);
      if (InvariantOf(o) == kCrashInvariant || InvariantOf(o) == kHangInvariant) {
        line += " (" + detail.substr(0, detail.find('\n')) + ")";
      }
      if (!f_.repro_dir.empty()) {
        const std::string path = FuzzReproPath(f_.repro_dir, l.scenario.name, s.seed);
        WriteRepro(path, o, l, s.seed, commit_);
        line += "\n  repro file: " + path;
      }
      progress_.Print(f_.json ? stderr : stdout, line + "\n");
    }
    outcomes_[i] = std::move(o);
    ++done_;
    ShowProgress(false);
  }

  void ShowProgress(bool force) {
    const auto now = std::chrono::steady_clock::now();
    ProgressState p{.done = done_, .total = outcomes_.size(), .failures = failures_};
    p.elapsed_s = std::chrono::duration<double>(now - start_).count();
    if (done_ > 0) p.eta_s = p.elapsed_s * (outcomes_.size() - done_) / done_;
    for (const auto& [i, started] : running_) {
      const RunSpec s = Spec(i);
      p.running.push_back(
          fmt::format("{} ({})", RunLabel(loaded_[s.scenario], s.seed),
                      Duration(std::chrono::duration<double>(now - started).count())));
    }
    progress_.Update(p, force);
  }

  const std::vector<Loaded>& loaded_;
  const SuiteFlags& f_;
  const char* commit_;
  ProgressPrinter progress_;
  const std::chrono::steady_clock::time_point start_;
  double run_timeout_s_ = 0;
  const std::vector<RunSpec> specs_;              // by task index
  std::vector<std::optional<Outcome>> outcomes_;  // by task index
  std::map<uint64_t, std::chrono::steady_clock::time_point> running_;
  uint64_t done_ = 0;
  uint64_t failures_ = 0;
};

// What was running when the suite was interrupted.
std::string InterruptedLine(const std::vector<Loaded>& loaded, const CampaignEnd& end) {
  std::string line = "interrupted; runs in flight:";
  for (const auto& [spec, seconds] : end.in_flight) {
    line += fmt::format(" {} ({});", RunLabel(loaded[spec.scenario], spec.seed), Duration(seconds));
  }
  if (end.in_flight.empty()) line += " none";
  return line + "\n";
}

int RunSuite(const SuiteFlags& f, const char* commit) {
  const uint64_t first_seed = ParseSeed(f.first_seed, "--first-seed");
  const double run_timeout_s = f.isolation.run_timeout_s();
  const std::vector<Loaded> loaded = LoadScenarioDir(f.dir, f.allow_empty);
  if (!f.repro_dir.empty()) CreateDirectoryOrThrow(f.repro_dir, "--repro-dir");
  const std::vector<std::string> required_probes = LoadRequiredProbes(f.probes);
  // With --json the one JSON object is stdout's only content; the text goes to stderr.
  std::FILE* const out = f.json ? stderr : stdout;
  const size_t fixed = std::count_if(loaded.begin(), loaded.end(),
                                     [](const Loaded& l) { return l.scenario.regression; });
  std::fprintf(
      out, "seedgrid suite  %s  %zu scenarios x %llu seeds (from %llu)%s  jobs=%d%s%s  commit=%s\n",
      f.dir.c_str(), loaded.size() - fixed, static_cast<unsigned long long>(f.seeds),
      static_cast<unsigned long long>(first_seed),
      fixed > 0 ? fmt::format(" + {} regression tests (fixed seeds)", fixed).c_str() : "", f.jobs,
      f.check_determinism ? "  check-determinism" : "",
      f.isolation.in_process ? "  in-process" : "", commit);
  std::fflush(out);
  const auto start = std::chrono::steady_clock::now();
  SuiteRun suite(loaded, f, first_seed, commit);
  const CampaignEnd end = suite.Run(run_timeout_s);
  suite.progress().Finish();
  const double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::vector<SeedOutcome> runs = suite.Delivered();
  const size_t failures = std::count_if(runs.begin(), runs.end(),
                                        [](const SeedOutcome& t) { return Failed(t.outcome); });
  std::fputs(SuiteTable(loaded, runs).c_str(), out);
  std::fprintf(out, "\n%zu runs, %zu failed, %.1f s wall%s\n", runs.size(), failures, wall_s,
               f.check_determinism ? " (each seed run twice)" : "");
  if (end.interrupted) std::fputs(InterruptedLine(loaded, end).c_str(), out);
  if (!f.hashes.empty()) WriteFileOrThrow(f.hashes, SuiteHashes(runs));
  if (!f.junit.empty()) {
    WriteFileOrThrow(f.junit, SuiteJUnitXml(loaded, runs, wall_s));
    std::fprintf(out, "JUnit XML: %s\n", f.junit.c_str());
  }
  ProbeCoverage probes;
  for (const SeedOutcome& run : runs) probes.Add(run.outcome.result.probes);
  const bool probes_ok = FinishProbes(probes, f.probes, required_probes, out);
  if (f.json) {
    nlohmann::json j = SuiteJson(loaded, runs,
                                 {.dir = f.dir,
                                  .seeds = f.seeds,
                                  .first_seed = first_seed,
                                  .check_determinism = f.check_determinism,
                                  .interrupted = end.interrupted,
                                  .wall_s = wall_s});
    j["commit"] = commit;
    j["probes_ok"] = probes_ok;
    if (!probes_ok) j["verdict"] = "fail";
    std::printf("%s\n", j.dump().c_str());
  }
  if (end.interrupted) return kExitInterrupted;
  return failures == 0 && probes_ok ? kExitOk : kExitViolation;
}

}  // namespace

CommandMain SetUpSuiteCommand(CLI::App& app, const char* commit) {
  app.description(
      "Runs every scenario (*.json) in DIR for K seeds (first-seed .. first-seed+K-1) and "
      "prints a summary table; optional JUnit XML for CI systems. A regression test (a file "
      "with a \"regression\" section) runs exactly its fixed seed. Each run executes in a worker "
      "process: a crash or a hang fails that run (invariant crash or hang) and the suite goes "
      "on.");
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
  app.add_option("--repro-dir", f->repro_dir,
                 "write a repro file for each failing run here (created if missing)");
  AddIsolationFlags(app, f->isolation);
  app.add_flag("--allow-empty", f->allow_empty,
               "a directory without *.json files passes (0 runs) instead of being an error");
  app.add_flag("--json", f->json,
               "print one JSON summary on stdout (totals, per-scenario counts and times, each "
               "failure as run --json prints it); the table and progress go to stderr");
  AddProbeFlags(app, f->probes);
  return [f, commit] { return RunSuite(*f, commit); };
}

}  // namespace seedgrid::tools
