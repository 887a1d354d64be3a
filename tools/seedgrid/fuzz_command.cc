#include "tools/seedgrid/fuzz_command.h"

#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>
#include <random>
#include <string>

#include "absl/container/btree_map.h"
#include "absl/strings/numbers.h"
#include "tools/seedgrid/execute.h"
#include "tools/seedgrid/guided.h"
#include "tools/seedgrid/input.h"
#include "tools/seedgrid/probe_report.h"
#include "tools/seedgrid/report.h"
#include "tools/seedgrid/repro.h"
#include "tools/seedgrid/worker_pool.h"

namespace seedgrid::tools {

namespace {

struct FuzzFlags {
  std::string scenario;
  std::string time;
  uint64_t runs = 0;
  int jobs = 1;
  std::string shard = "0/1";
  std::string out_dir = "fuzz-out";
  std::string seed_base;
  bool check_determinism = false;
  bool guided = false;
  ProbeFlags probes;
};

// The campaign after its flags are parsed and checked.
struct Campaign {
  uint64_t time_s = 0;  // 0 with a run budget
  uint64_t runs = 0;    // 0 with a time budget
  int jobs = 1;
  uint64_t shard = 0;
  uint64_t shards = 1;
  uint64_t seed_base = 0;
  std::string out_dir;
  bool check_determinism = false;
  bool guided = false;
};

uint64_t ParseDuration(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  uint64_t n = 0;
  if (digits == 0 || !absl::SimpleAtoi(text.substr(0, digits), &n)) {
    throw InputError{fmt::format("--time '{}' is not a duration (e.g. 60s, 10m, 2h)", text)};
  }
  const std::string unit = text.substr(digits);
  uint64_t scale;
  if (unit.empty() || unit == "s") {
    scale = 1;
  } else if (unit == "m") {
    scale = 60;
  } else if (unit == "h") {
    scale = 3600;
  } else {
    throw InputError{fmt::format("--time '{}': unknown unit '{}' (use s, m or h)", text, unit)};
  }
  if (n == 0 || n > 366ull * 24 * 3600 / scale) {
    throw InputError{fmt::format("--time '{}' must be between 1 s and a year", text)};
  }
  return n * scale;
}

// Checks the flags, in the order the errors are reported, and draws the seed base if not given.
Campaign ParseCampaign(const FuzzFlags& f) {
  if (f.time.empty() && f.runs == 0) throw InputError{"give a budget: --time 60s or --runs N"};
  Campaign c{.runs = f.runs,
             .jobs = f.jobs,
             .out_dir = f.out_dir,
             .check_determinism = f.check_determinism,
             .guided = f.guided};
  c.time_s = f.time.empty() ? 0 : ParseDuration(f.time);
  const size_t slash = f.shard.find('/');
  if (slash == std::string::npos || !absl::SimpleAtoi(f.shard.substr(0, slash), &c.shard) ||
      !absl::SimpleAtoi(f.shard.substr(slash + 1), &c.shards) || c.shards == 0 ||
      c.shard >= c.shards) {
    throw InputError{fmt::format("--shard '{}' must be i/n with 0 <= i < n", f.shard)};
  }
  if (f.seed_base.empty()) {
    std::random_device os;  // Tools may use OS entropy: only to pick fresh seeds, printed.
    const uint64_t high = os();
    const uint64_t low = os();
    c.seed_base = ((high << 32) | low) & ((uint64_t{1} << 48) - 1);
  } else {
    c.seed_base = ParseSeed(f.seed_base, "--seed-base");
  }
  return c;
}

// Counts and distinct failures; updated only from the pool's in-order delivery.
struct Tally {
  uint64_t done = 0;
  uint64_t failures = 0;
  absl::btree_map<std::string, uint64_t> distinct;  // failure key -> first seed
  ProbeCoverage probes;
  size_t corpus = 0;  // with --guided
};

// Saves and prints a failure the first time its key is seen.
void RecordFailure(const Loaded& loaded, const Campaign& c, uint64_t seed, const Outcome& o,
                   bool tty, const char* commit, Tally& tally) {
  ++tally.failures;
  const std::string key = FailureKey(o);
  if (!tally.distinct.emplace(key, seed).second) return;
  const std::string path = FuzzReproPath(c.out_dir, loaded.scenario.name, seed);
  try {
    WriteRepro(path, o, loaded, seed, commit);
  } catch (const InputError&) {
    std::fprintf(stderr, "seedgrid fuzz: cannot write %s\n", path.c_str());
  }
  std::fprintf(stdout, "%sFAIL seed %llu: %s\n  saved %s\n  replay: seedgrid replay %s\n",
               tty ? "\r\033[K" : "", static_cast<unsigned long long>(seed), key.c_str(),
               path.c_str(), path.c_str());
  std::fflush(stdout);
}

// Runs the campaign on the worker pool.
Tally RunCampaign(const Loaded& loaded, const Campaign& c, bool tty, const char* commit) {
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::seconds(c.time_s);
  const auto elapsed_s = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  // Shard i of n takes seeds base + k*n + i: shards never repeat each other's seeds.
  const auto seed_of = [&](uint64_t k) { return c.seed_base + k * c.shards + c.shard; };
  Tally tally;
  std::optional<Guide> guide;  // --guided: swarm draws steered towards rare probes (guided.h)
  if (c.guided) guide.emplace(loaded.scenario, GuideOptions{.seed_base = c.seed_base});
  WorkerPool<Outcome> pool(
      {.jobs = c.jobs,
       .tasks_max = c.runs > 0 ? c.runs : std::numeric_limits<uint64_t>::max(),
       .results_waiting_max = uint64_t{64} * static_cast<uint64_t>(c.jobs)},
      [&](uint64_t k) {
        return Execute(loaded, seed_of(k), c.check_determinism, {},
                       guide ? guide->Plan(k) : std::nullopt);
      },
      [&](uint64_t k, Outcome& o) {
        ++tally.done;
        tally.probes.Add(o.result.probes);
        if (guide) guide->Learn(seed_of(k), o.result.swarm, o.result.probes);
        if (Failed(o)) RecordFailure(loaded, c, seed_of(k), o, tty, commit, tally);
        if (!tty) return;
        std::fprintf(stderr, "\r\033[Kruns=%llu failures=%llu distinct=%zu runs/s=%.1f",
                     static_cast<unsigned long long>(tally.done),
                     static_cast<unsigned long long>(tally.failures), tally.distinct.size(),
                     tally.done / std::max(elapsed_s(), 1e-3));
      },
      [&] { return c.runs > 0 || std::chrono::steady_clock::now() < deadline; });
  pool.Run();
  if (guide) tally.corpus = guide->corpus().size();
  return tally;
}

int RunFuzz(const FuzzFlags& f, const char* commit) {
  const Campaign c = ParseCampaign(f);
  const Loaded loaded = LoadScenarioFile(f.scenario);
  const std::vector<std::string> required_probes = LoadRequiredProbes(f.probes);
  std::error_code ec;
  std::filesystem::create_directories(c.out_dir, ec);
  if (ec) {
    throw InputError{
        fmt::format("--out {}: cannot create the directory: {}", c.out_dir, ec.message())};
  }
  std::printf(
      "seedgrid fuzz  scenario=%s (%s)  budget=%s  jobs=%d  shard=%llu/%llu  seed_base=%llu  "
      "out=%s%s  commit=%s\n",
      loaded.scenario.name.c_str(), loaded.path.c_str(),
      c.runs ? fmt::format("{} runs", c.runs).c_str() : fmt::format("{} s", c.time_s).c_str(),
      c.jobs, static_cast<unsigned long long>(c.shard), static_cast<unsigned long long>(c.shards),
      static_cast<unsigned long long>(c.seed_base), c.out_dir.c_str(), c.guided ? "  guided" : "",
      commit);
  std::fflush(stdout);
  const bool tty = isatty(fileno(stderr));
  const auto start = std::chrono::steady_clock::now();
  const Tally tally = RunCampaign(loaded, c, tty, commit);
  if (tty) std::fputs("\n", stderr);
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%llu runs in %.1f s (%.1f runs/s, %.0f runs/min), %llu failed, %zu distinct\n",
              static_cast<unsigned long long>(tally.done), wall, tally.done / std::max(wall, 1e-3),
              60.0 * tally.done / std::max(wall, 1e-3),
              static_cast<unsigned long long>(tally.failures), tally.distinct.size());
  if (c.guided) {
    std::printf("guided: corpus of %zu runs (the first %llu to reach each probe)\n", tally.corpus,
                static_cast<unsigned long long>(GuideOptions{}.keep_per_probe));
  }
  const bool probes_ok = FinishProbes(tally.probes, f.probes, required_probes, stdout);
  return tally.failures == 0 && probes_ok ? kExitOk : kExitViolation;
}

}  // namespace

CommandMain SetUpFuzzCommand(CLI::App& app, const char* commit) {
  app.description(
      "Runs fresh seeds of one scenario until the budget is spent, on --jobs cores; saves each "
      "distinct failure as a repro file in --out. --shard i/n makes n machines take disjoint "
      "seeds (seed = seed-base + k*n + i).");
  auto f = std::make_shared<FuzzFlags>();
  app.add_option("--scenario", f->scenario, "scenario file")->required();
  auto* time_opt = app.add_option("--time", f->time, "time budget, e.g. 60s, 10m, 2h");
  auto* runs_opt = app.add_option("--runs", f->runs, "run budget")->check(CLI::PositiveNumber);
  time_opt->excludes(runs_opt);
  app.add_option("--jobs", f->jobs, "parallel runs")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--shard", f->shard, "this machine's shard i of n, as i/n")->capture_default_str();
  app.add_option("--out", f->out_dir, "directory for repro files")->capture_default_str();
  app.add_option("--seed-base", f->seed_base,
                 "first seed (default: drawn from the OS, printed at start)");
  app.add_flag("--check-determinism", f->check_determinism,
               "run each seed twice and fail on any difference");
  app.add_flag("--guided", f->guided,
               "coverage-guided: most runs take the swarm draw of an earlier run that reached a "
               "rare probe, mutated a little (reproducible with --seed-base and --jobs 1)");
  AddProbeFlags(app, f->probes);
  return [f, commit] { return RunFuzz(*f, commit); };
}

}  // namespace seedgrid::tools
