#include "tools/seedgrid/fuzz_command.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <string>

#include "absl/container/btree_map.h"
#include "absl/strings/numbers.h"
#include "tools/seedgrid/campaign.h"
#include "tools/seedgrid/execute.h"
#include "tools/seedgrid/fleet.h"
#include "tools/seedgrid/guided.h"
#include "tools/seedgrid/input.h"
#include "tools/seedgrid/probe_report.h"
#include "tools/seedgrid/progress.h"
#include "tools/seedgrid/report.h"
#include "tools/seedgrid/repro.h"

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
  IsolationFlags isolation;
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
  bool in_process = false;
  double run_timeout_s = 0;
  bool guided = false;
};

// Checks the flags, in the order the errors are reported, and draws the seed base if not given.
Campaign ParseCampaign(const FuzzFlags& f) {
  if (f.time.empty() && f.runs == 0) throw InputError{"give a budget: --time 60s or --runs N"};
  Campaign c{.runs = f.runs,
             .jobs = f.jobs,
             .out_dir = f.out_dir,
             .check_determinism = f.check_determinism,
             .in_process = f.isolation.in_process,
             .run_timeout_s = f.isolation.run_timeout_s(),
             .guided = f.guided};
  c.time_s = f.time.empty() ? 0 : ParseDuration(f.time, "--time", /*zero_ok=*/false);
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
  absl::btree_map<std::string, FailureGroup> distinct;  // by FailureKey
  ProbeCoverage probes;
  size_t corpus = 0;  // with --guided
};

// A failing run's size for picking the smallest repro (fleet.h): trace events before the
// violation (a crash or hang has none: 0, so the lowest seed wins).
uint64_t RunSize(const Outcome& o) {
  return o.result.violation ? o.result.violation->event_index : o.result.events;
}

// Counts a failure; saves its repro (and prints it) when it is the first or the smallest of its
// signature so far, replacing the larger one. A crash is diagnosed (re-run to keep its last
// events) only then.
void RecordFailure(const Loaded& loaded, const Campaign& c, uint64_t seed, Outcome& o,
                   ProgressPrinter& progress, const char* commit, Tally& tally) {
  ++tally.failures;
  const std::string key = FailureKey(o);
  FailureGroup& g = tally.distinct[key];
  const bool first = g.count == 0;
  const uint64_t size = RunSize(o);
  if (!first && g.SmallerThan(loaded.scenario.name, seed, size)) {
    g.Add(loaded.scenario.name, seed, size, g.detail);  // counted; the smaller run stays
    return;
  }
  const bool given = SwarmGiven(o, loaded, seed);
  DiagnoseIfCrashed(loaded, seed, c.run_timeout_s, o,
                    given ? std::optional(o.result.swarm) : std::nullopt);
  const std::string replaced = g.repro.empty() ? "" : c.out_dir + "/" + g.repro;
  g.Add(loaded.scenario.name, seed, size, FailureDetail(o));
  g.signature = key;
  g.invariant = InvariantOf(o);
  const std::string path = FuzzReproPath(c.out_dir, loaded.scenario.name, seed);
  try {
    WriteRepro(path, o, loaded, seed, commit);
    g.repro = std::filesystem::path(path).filename().string();
    std::error_code ec;
    if (!replaced.empty() && replaced != path) std::filesystem::remove(replaced, ec);
  } catch (const InputError&) {
    // The group's smallest run is now this one, which has no file: name none rather than the
    // larger run's (a replay of it would be another seed).
    g.repro.clear();
    std::fprintf(stderr, "seedgrid fuzz: cannot write %s\n", path.c_str());
  }
  if (first) {
    progress.Print(stdout, fmt::format("FAIL seed {}: {}\n  saved {}\n  replay: {} replay {}\n",
                                       seed, key, path, ProgramName(), path));
  } else {
    progress.Print(stdout, fmt::format("smaller run of '{}': seed {} ({} events), saved {}\n", key,
                                       seed, size, path));
  }
}

// Runs the campaign (in worker processes unless --in-process).
Tally RunCampaignOf(const Loaded& loaded, const Campaign& c, ProgressPrinter& progress,
                    const char* commit, CampaignEnd& end) {
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::seconds(c.time_s);
  // Shard i of n takes seeds base + k*n + i: shards never repeat each other's seeds.
  const auto seed_of = [&](uint64_t k) { return c.seed_base + k * c.shards + c.shard; };
  Tally tally;
  std::optional<Guide> guide;  // --guided: swarm draws steered towards rare probes (guided.h)
  if (c.guided) guide.emplace(loaded.scenario, GuideOptions{.seed_base = c.seed_base});
  std::map<uint64_t, std::chrono::steady_clock::time_point> running;
  const auto show = [&](bool force) {
    const auto now = std::chrono::steady_clock::now();
    ProgressState p{.done = tally.done, .total = c.runs, .failures = tally.failures};
    p.elapsed_s = std::chrono::duration<double>(now - start).count();
    if (c.runs > 0 && tally.done > 0) {
      p.eta_s = p.elapsed_s * (c.runs - tally.done) / tally.done;
    } else if (c.runs == 0) {
      p.eta_s = std::max(0.0, std::chrono::duration<double>(deadline - now).count());
    }
    p.extra = fmt::format("distinct={} runs/s={:.1f}", tally.distinct.size(),
                          tally.done / std::max(p.elapsed_s, 1e-3));
    for (const auto& [k, t] : running) {
      p.running.push_back(fmt::format("seed {} ({})", seed_of(k),
                                      Duration(std::chrono::duration<double>(now - t).count())));
    }
    progress.Update(p, force);
  };
  const std::vector<Loaded> scenarios_list{loaded};
  end = RunCampaign(
      scenarios_list,
      {.jobs = c.jobs,
       .tasks_max = c.runs > 0 ? c.runs : std::numeric_limits<uint64_t>::max(),
       .results_waiting_max = uint64_t{64} * static_cast<uint64_t>(c.jobs),
       .in_process = c.in_process,
       .run_timeout_s = c.run_timeout_s,
       .check_determinism = c.check_determinism},
      {.spec =
           [&](uint64_t k) {
             return RunSpec{0, seed_of(k), guide ? guide->Plan(k) : std::nullopt};
           },
       .deliver =
           [&](uint64_t k, const RunSpec&, Outcome& o, const std::string& text) {
             running.erase(k);
             ++tally.done;
             tally.probes.Add(o.result.probes);
             if (guide) guide->Learn(k, seed_of(k), o.result.swarm, o.result.probes);
             if (!text.empty()) {
               progress.Print(stderr, fmt::format("[seed {} stderr]\n{}", seed_of(k), text));
             }
             if (Failed(o)) RecordFailure(loaded, c, seed_of(k), o, progress, commit, tally);
             show(false);
           },
       .started =
           [&](uint64_t k, const RunSpec&) {
             running[k] = std::chrono::steady_clock::now();
             show(progress.tty());
           },
       .ended = [&](uint64_t k) { running.erase(k); },
       .tick = [&] { show(false); },
       .more = [&] { return c.runs > 0 || std::chrono::steady_clock::now() < deadline; }});
  if (guide) tally.corpus = guide->corpus().size();
  return tally;
}

// The shard's summary.json (fleet.h), written whole and then renamed into place.
void WriteSummary(const Campaign& c, const Loaded& loaded, const Tally& tally, double wall_s,
                  bool interrupted, const char* commit) {
  ShardSummary s{.commit = commit,
                 .scenario = loaded.scenario.name,
                 .scenario_path = loaded.path,
                 .shard = c.shard,
                 .shards = c.shards,
                 .seed_base = c.seed_base,
                 .guided = c.guided,
                 .runs = tally.done,
                 .failures = tally.failures,
                 .wall_s = wall_s,
                 .interrupted = interrupted};
  for (const auto& [key, g] : tally.distinct) s.distinct.push_back(g);
  for (const auto& [name, p] : tally.probes.probes) {
    s.probes.emplace_back(name, ProbeCount{p.hits, p.runs});
  }
  const std::string path = c.out_dir + "/summary.json";
  WriteFileOrThrow(path + ".tmp", SummaryJson(s).dump(2) + "\n");
  std::error_code ec;
  std::filesystem::rename(path + ".tmp", path, ec);
  if (ec) throw InputError{fmt::format("{}: cannot write: {}", path, ec.message())};
}

// An --out directory may hold an earlier summary only of this same shard and scenario (a rerun
// overwrites it): two shards writing one summary.json would lose one of them. While the campaign
// runs, DIR/.fuzz.lock is locked (flock: released when the process and its workers end, also
// when killed), so two campaigns started together on one directory are refused too. Returns
// the lock's descriptor, kept open for the process's life.
int ClaimOutDir(const Campaign& c, const Loaded& loaded) {
  const std::string lock_path = c.out_dir + "/.fuzz.lock";
  const int fd = open(lock_path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  if (fd < 0) throw InputError{fmt::format("--out {}: cannot create {}", c.out_dir, lock_path)};
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd);
    throw InputError{fmt::format(
        "--out {}: another fuzz campaign is writing there; give each shard its own directory",
        c.out_dir)};
  }
  const std::string path = c.out_dir + "/summary.json";
  const std::optional<std::string> text = ReadFile(path);
  if (!text) return fd;
  const nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  const auto is = [&](const char* key, const nlohmann::json& want) {
    return j.is_object() && j.contains(key) && j[key] == want;
  };
  const bool same =
      is("scenario", loaded.scenario.name) && is("shard", c.shard) && is("shards", c.shards);
  if (!same) {
    throw InputError{fmt::format(
        "--out {}: holds the summary of another campaign or shard; give each shard its own "
        "directory (e.g. --out fuzz-out/shard-{})",
        c.out_dir, c.shard)};
  }
  return fd;
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
  ClaimOutDir(c, loaded);  // held until the process exits
  // A rerun's summary replaces the old one at once: were it killed midway, the old summary would
  // name repro files this run may already have replaced.
  WriteSummary(c, loaded, Tally{}, 0, /*interrupted=*/true, commit);
  std::printf(
      "seedgrid fuzz  scenario=%s (%s)  budget=%s  jobs=%d  shard=%llu/%llu  seed_base=%llu  "
      "out=%s%s  commit=%s\n",
      loaded.scenario.name.c_str(), loaded.path.c_str(),
      c.runs ? fmt::format("{} runs", c.runs).c_str() : fmt::format("{} s", c.time_s).c_str(),
      c.jobs, static_cast<unsigned long long>(c.shard), static_cast<unsigned long long>(c.shards),
      static_cast<unsigned long long>(c.seed_base), c.out_dir.c_str(), c.guided ? "  guided" : "",
      commit);
  std::fflush(stdout);
  ProgressPrinter progress(isatty(fileno(stderr)), 10.0);
  const auto start = std::chrono::steady_clock::now();
  CampaignEnd end;
  const Tally tally = RunCampaignOf(loaded, c, progress, commit, end);
  progress.Finish();
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
  WriteSummary(c, loaded, tally, wall, end.interrupted, commit);
  std::printf("summary: %s/summary.json\n", c.out_dir.c_str());
  if (end.interrupted) {
    std::string line = "interrupted; seeds in flight:";
    for (const auto& [spec, seconds] : end.in_flight) {
      line += fmt::format(" {} ({});", spec.seed, Duration(seconds));
    }
    std::puts(line.c_str());
    return kExitInterrupted;
  }
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
  app.add_option("--out", f->out_dir,
                 "this shard's directory: summary.json and a repro file per distinct failure "
                 "(its smallest run); merge shards with 'seedgrid merge-results'")
      ->capture_default_str();
  app.add_option("--seed-base", f->seed_base,
                 "first seed (default: drawn from the OS, printed at start)");
  app.add_flag("--check-determinism", f->check_determinism,
               "run each seed twice and fail on any difference");
  AddIsolationFlags(app, f->isolation);
  app.add_flag("--guided", f->guided,
               "coverage-guided: most runs take the swarm draw of an earlier run that reached a "
               "rare probe, mutated a little (reproducible with --seed-base and --jobs 1)");
  AddProbeFlags(app, f->probes);
  return [f, commit] { return RunFuzz(*f, commit); };
}

}  // namespace seedgrid::tools
