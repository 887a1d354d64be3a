#include "tools/seedgrid/campaign.h"

#include <CLI/CLI.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "engine/base/assert.h"
#include "tools/seedgrid/isolation.h"
#include "tools/seedgrid/outcome_codec.h"
#include "tools/seedgrid/process_pool.h"
#include "tools/seedgrid/repro.h"
#include "tools/seedgrid/worker_pool.h"

namespace seedgrid::tools {

namespace {

// A run spec as a worker's task bytes (JSON).
std::string EncodeSpec(const RunSpec& s) {
  nlohmann::json j{{"scenario", s.scenario}, {"seed", s.seed}};
  if (s.swarm) j["swarm"] = SwarmJson(*s.swarm);
  return j.dump();
}

RunSpec DecodeSpec(const std::string& bytes) {
  const nlohmann::json j = nlohmann::json::parse(bytes);  // Written by EncodeSpec just now.
  RunSpec s{j.at("scenario").get<size_t>(), j.at("seed").get<uint64_t>(), std::nullopt};
  if (j.contains("swarm")) s.swarm = SwarmFromJson(j["swarm"], "a task");
  return s;
}

scenarios::SwarmDraw SwarmOf(const std::vector<Loaded>& scenarios, const RunSpec& s) {
  return s.swarm ? *s.swarm : scenarios::DrawSwarm(scenarios[s.scenario].scenario, s.seed);
}

CampaignEnd InWorkerProcesses(const std::vector<Loaded>& scenarios, const CampaignOptions& o,
                              const CampaignHooks& hooks) {
  std::map<uint64_t, RunSpec> specs;  // handed out, not yet delivered
  ProcessPool pool(
      {.jobs = o.jobs,
       .tasks_max = o.tasks_max,
       .results_waiting_max = o.results_waiting_max,
       .run_timeout_s = o.run_timeout_s},
      [&](uint64_t, const std::string& task) {
        const RunSpec s = DecodeSpec(task);
        SG_ASSERT(s.scenario < scenarios.size());
        return EncodeOutcome(
            Execute(scenarios[s.scenario], s.seed, o.check_determinism, {}, s.swarm));
      },
      [&](uint64_t index, TaskEnd& end) {
        const RunSpec s = specs.at(index);
        specs.erase(index);
        Outcome outcome = OutcomeOf(end, SwarmOf(scenarios, s), o.run_timeout_s);
        const std::string text = end.kind == TaskEnd::Kind::kDone ? end.stderr_tail : "";
        hooks.deliver(index, s, outcome, text);
      });
  pool.set_task_of([&](uint64_t index) {
    const RunSpec s = hooks.spec(index);
    specs[index] = s;
    return EncodeSpec(s);
  });
  if (hooks.started) pool.set_started([&](uint64_t i) { hooks.started(i, specs.at(i)); });
  if (hooks.ended) pool.set_ended(hooks.ended);
  if (hooks.more) pool.set_more(hooks.more);
  if (hooks.tick) pool.set_tick(hooks.tick);
  CampaignEnd end;
  end.delivered = pool.Run();
  end.interrupted = pool.interrupted();
  const auto now = std::chrono::steady_clock::now();
  for (const auto& [index, start] : pool.InFlight()) {
    end.in_flight.emplace_back(specs.at(index), std::chrono::duration<double>(now - start).count());
  }
  return end;
}

CampaignEnd InProcess(const std::vector<Loaded>& scenarios, const CampaignOptions& o,
                      const CampaignHooks& hooks) {
  std::mutex mu;  // spec() and started() one at a time, in index order
  std::map<uint64_t, RunSpec> specs;
  WorkerPool<std::pair<RunSpec, Outcome>> pool(
      {.jobs = o.jobs, .tasks_max = o.tasks_max, .results_waiting_max = o.results_waiting_max},
      [&](uint64_t index) {
        RunSpec s;
        {
          std::lock_guard<std::mutex> lock(mu);
          s = specs.at(index);
        }
        return std::make_pair(
            s, Execute(scenarios[s.scenario], s.seed, o.check_determinism, {}, s.swarm));
      },
      [&](uint64_t index, std::pair<RunSpec, Outcome>& r) {
        if (hooks.ended) hooks.ended(index);
        hooks.deliver(index, r.first, r.second, "");
      },
      hooks.more);
  pool.set_claimed([&](uint64_t index) {
    std::lock_guard<std::mutex> lock(mu);
    specs[index] = hooks.spec(index);
    if (hooks.started) hooks.started(index, specs[index]);
  });
  return CampaignEnd{.delivered = pool.Run()};
}

}  // namespace

double IsolationFlags::run_timeout_s() const {
  return static_cast<double>(ParseDuration(run_timeout, "--run-timeout", /*zero_ok=*/true));
}

void AddIsolationFlags(CLI::App& app, IsolationFlags& f) {
  app.add_flag("--in-process", f.in_process,
               "run simulations in this process (for debuggers): a crash ends the tool, and "
               "--run-timeout does not apply");
  app.add_option("--run-timeout", f.run_timeout,
                 "wall-clock limit per run (e.g. 90s, 10m; 0 = none); a run over it is killed "
                 "and reported as 'hang'")
      ->capture_default_str();
}

void DiagnoseIfCrashed(const Loaded& loaded, uint64_t seed, double run_timeout_s, Outcome& o,
                       const std::optional<scenarios::SwarmDraw>& swarm) {
  if (InvariantOf(o) != kCrashInvariant) return;
  AddDiagnosis(o, Diagnose(loaded, seed, run_timeout_s, swarm));
}

Outcome ExecuteAsFlagged(const Loaded& loaded, uint64_t seed, const IsolationFlags& f) {
  if (f.in_process) return Execute(loaded, seed, false);
  const double timeout_s = f.run_timeout_s();
  TaskEnd end = RunIsolated([&] { return EncodeOutcome(Execute(loaded, seed, false)); }, timeout_s);
  Outcome o = OutcomeOf(end, scenarios::DrawSwarm(loaded.scenario, seed), timeout_s);
  DiagnoseIfCrashed(loaded, seed, timeout_s, o);
  return o;
}

CampaignEnd RunCampaign(const std::vector<Loaded>& scenarios, const CampaignOptions& options,
                        const CampaignHooks& hooks) {
  SG_ASSERT(hooks.spec != nullptr);
  SG_ASSERT(hooks.deliver != nullptr);
  return options.in_process ? InProcess(scenarios, options, hooks)
                            : InWorkerProcesses(scenarios, options, hooks);
}

}  // namespace seedgrid::tools
