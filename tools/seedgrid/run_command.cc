#include "tools/seedgrid/run_command.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>

#include "tools/seedgrid/execute.h"
#include "tools/seedgrid/fresh_rerun.h"
#include "tools/seedgrid/isolation.h"
#include "tools/seedgrid/outcome_codec.h"
#include "tools/seedgrid/profile.h"
#include "tools/seedgrid/report.h"
#include "tools/seedgrid/repro.h"

namespace seedgrid::tools {

namespace {

// --trace: every trace event as one JSON line.
struct TraceFile {
  explicit TraceFile(const std::string& path) : out(path, std::ios::binary | std::ios::trunc) {
    if (!out) throw InputError{fmt::format("{}: cannot write the trace file", path)};
  }
  sim::Trace::Sink Sink() {
    return [this](const sim::TraceEvent& e) {
      if (e.note) return;  // Not part of the canonical trace.
      nlohmann::json line{{"i", e.index},
                          {"t_ns", e.time_ns},
                          {"kind", sim::TraceKindName(e.kind)},
                          {"node", e.node},
                          {"peer", e.peer},
                          {"digest", Hex(e.digest)},
                          {"detail", std::string(e.detail)}};
      out << line.dump() << '\n';
    };
  }
  std::ofstream out;
};

}  // namespace

void AddRunOutputFlags(CLI::App& app, RunFlags& f) {
  app.add_option("--trace", f.trace, "write every trace event as a JSON line to this file");
  app.add_option("--repro-out", f.repro_out,
                 "on failure, write a repro file (scenario, seed, swarm, commit) here");
  app.add_flag("--json", f.json,
               "print exactly one JSON object on stdout (the report goes to stderr)");
  app.add_flag("--check-determinism", f.check_determinism,
               "run the seed again in a fresh process and fail on any difference (naming the "
               "first divergent event when one process shows it)");
  app.add_flag("--profile", f.profile,
               "after the report, a table of where the run's wall time went: each message type "
               "per node kind, timers, the owner's tasks (with --json: a \"profile\" object)");
  AddTimelineFlags(app, f.timeline);
  AddIsolationFlags(app, f.isolation);
}

namespace {

// What a run reports besides its outcome, made where the run ran (in the worker process).
struct RunExtras {
  std::string files;       // the timeline's report lines
  nlohmann::json profile;  // --profile (RunProfile::Json); null when the worker reported none
};

// Runs the seed where the flags say: in a worker process (a crash or hang becomes the outcome),
// or in this process. The trace and timeline files are written where the run ran.
Outcome ExecuteAsFlagged(const Loaded& loaded, uint64_t seed, const RunFlags& f,
                         std::optional<TraceFile>& trace, TimelineOutput& timeline,
                         RunExtras& extras, const std::optional<scenarios::SwarmDraw>& swarm) {
  const auto work = [&] {
    std::optional<RunProfile> profile;
    if (f.profile) profile.emplace(loaded.scenario);
    Outcome o = Execute(loaded, seed, f.check_determinism,
                        TeeSinks(trace ? trace->Sink() : sim::Trace::Sink(), timeline.Sink()),
                        swarm, profile ? &*profile : nullptr);
    if (trace) trace->out.flush();  // In a worker, before it reports.
    extras.files = timeline.Write(o.result);
    if (profile) {
      // wall_ms is the first run's (a determinism check's second run is not profiled).
      extras.profile = profile->Json(o.wall_ms, o.result.virtual_ms);
    }
    return o;
  };
  if (f.isolation.in_process) return work();
  const double timeout_s = f.isolation.run_timeout_s();
  TaskEnd end = RunIsolated(
      [&] {
        const Outcome o = work();
        return nlohmann::json{
            {"outcome", EncodeOutcome(o)}, {"files", extras.files}, {"profile", extras.profile}}
            .dump();
      },
      timeout_s);
  if (end.kind == TaskEnd::Kind::kDone) {
    std::fputs(end.stderr_tail.c_str(), stderr);
    const nlohmann::json j = nlohmann::json::parse(end.payload, nullptr, false);
    if (j.is_object() && j.contains("outcome") && j.contains("files")) {
      end.payload = j["outcome"].get<std::string>();
      extras.files = j["files"].get<std::string>();
      extras.profile = j.value("profile", nlohmann::json());
    }
  }
  Outcome o =
      OutcomeOf(end, swarm ? *swarm : scenarios::DrawSwarm(loaded.scenario, seed), timeout_s);
  DiagnoseIfCrashed(loaded, seed, timeout_s, o, swarm);
  return o;
}

}  // namespace

uint64_t SeedFor(const Loaded& loaded, uint64_t seed, bool seed_given) {
  if (seed_given || !loaded.scenario.regression) return seed;
  return loaded.scenario.regression->seed;
}

int RunAndReport(std::string_view command, const Loaded& loaded, uint64_t seed, const RunFlags& f,
                 const char* commit, const nlohmann::json* recorded,
                 const std::optional<scenarios::SwarmDraw>& swarm) {
  TimelineOutput timeline(f.timeline, loaded, seed);  // Checks its flags before the run.
  std::optional<TraceFile> trace;
  if (!f.trace.empty()) trace.emplace(f.trace);
  std::FILE* const text_out = f.json ? stderr : stdout;
  std::fputs(RunHeader(command, loaded, seed, commit, swarm).c_str(), text_out);
  std::fflush(text_out);
  RunExtras extras;
  const Outcome o = ExecuteAsFlagged(loaded, seed, f, trace, timeline, extras, swarm);
  const bool write_repro = !f.repro_out.empty() && Failed(o);
  if (write_repro) WriteRepro(f.repro_out, o, loaded, seed, commit);
  std::string report = RunReport(o, loaded, seed);
  report += extras.files;
  if (f.profile) {
    report += extras.profile.is_object()
                  ? ProfileTable(extras.profile)
                  : "profile: none (the run crashed or hung in its worker process, which "
                    "reported no profile)\n";
  }
  if (write_repro) report += fmt::format("  repro file: {}\n", f.repro_out);
  if (recorded != nullptr) report += ReplayVerdict(o, *recorded, commit);
  std::fputs(report.c_str(), text_out);
  if (f.json) {
    nlohmann::json j = RunJson(o, loaded, seed);
    if (f.profile) j["profile"] = extras.profile;
    std::puts(j.dump().c_str());
  }
  return Failed(o) ? kExitViolation : kExitOk;
}

CommandMain SetUpRunCommand(CLI::App& app, const char* commit) {
  app.description(
      "Runs one seeded simulation of a scenario: a safety phase (workload and faults), then a "
      "liveness phase (faults healed) that must converge; every invariant is checked.\nExit "
      "codes: 0 pass, 1 invariant violation (or nondeterminism), 2 usage or input error.");
  auto f = std::make_shared<RunFlags>();
  app.add_option("--scenario", f->scenario, "scenario file (JSON; see docs/scenarios.md)")
      ->required();
  CLI::Option* seed_option = app.add_option(
      "--seed", f->seed,
      "root seed, decimal or 0x-hex (default: a regression test's fixed seed, else 1)");
  AddRunOutputFlags(app, *f);
  // Hidden (group ""): the tool's own tests of the fresh-process determinism check.
  app.add_option_function<std::string>(
         "--test-fresh-rerun",
         [](const std::string& mode) {
           SetFreshRerunTestMode(mode == "next-seed" ? FreshRerunTestMode::kNextSeed
                                                     : FreshRerunTestMode::kNoExec);
         },
         "(test only) next-seed: fresh reruns run the next seed; no-exec: they cannot start")
      ->check(CLI::IsMember({"next-seed", "no-exec"}))
      ->group("");
  return [f, seed_option, commit] {
    const uint64_t seed = ParseSeed(f->seed);  // Checked before the scenario file is read.
    const Loaded loaded = LoadScenarioFile(f->scenario);
    return RunAndReport("run", loaded, SeedFor(loaded, seed, seed_option->count() > 0), *f, commit,
                        nullptr);
  };
}

}  // namespace seedgrid::tools
