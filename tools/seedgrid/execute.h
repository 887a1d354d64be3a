// One seeded simulation of a loaded scenario, as the commands run it: the scenario runner's
// result plus the wall time and, with the determinism check, the verdict of a second run.
//
// Contract: Execute runs the whole simulation on the calling thread and shares no simulation state,
// so several Executes may run at once on different threads (the worker pool relies on this); the
// determinism check may fork and exec a rerun (fresh_rerun.h), which is thread-safe. The
// simulation itself is deterministic; only `wall_ms` depends on the machine.
#ifndef SEEDGRID_TOOLS_SEEDGRID_EXECUTE_H_
#define SEEDGRID_TOOLS_SEEDGRID_EXECUTE_H_

#include <cstdint>
#include <optional>
#include <string>

#include "scenarios/runner.h"
#include "tools/seedgrid/input.h"

namespace seedgrid::tools {

struct Outcome {
  scenarios::RunResult result;
  double wall_ms = 0;
  bool nondeterministic = false;
  std::string divergence;  // first divergent event, when nondeterministic
};

// One (scenario, seed) run of a suite or fuzz campaign. `loaded` is not owned.
struct SeedOutcome {
  const Loaded* loaded = nullptr;
  uint64_t seed = 0;
  Outcome outcome;
};

// Runs `seed` of `loaded`, streaming trace events to `sink` when given. With
// `check_determinism` the seed runs a second time and any difference in the trace makes the
// outcome nondeterministic: in a fresh process when FreshRerunsEnabled() (fresh_rerun.h; a
// difference is then located by two more runs here), else in this process; the divergence names
// the first divergent event whenever one process can show it. With `swarm` the run uses that
// swarm draw instead of the seed's (REQUIRES: ValidateSwarm(loaded.scenario, *swarm).ok()).
// With `observer`, it sees the first run's events (`run --profile`).
Outcome Execute(const Loaded& loaded, uint64_t seed, bool check_determinism,
                sim::Trace::Sink sink = {},
                const std::optional<scenarios::SwarmDraw>& swarm = std::nullopt,
                sim::DispatchObserver* observer = nullptr);

// A violation or nondeterminism.
bool Failed(const Outcome& o);
// The failed invariant ("determinism" when nondeterministic); "" for a pass.
std::string InvariantOf(const Outcome& o);
// What went wrong: the violation's detail or the divergence. REQUIRES: Failed(o).
const std::string& FailureDetail(const Outcome& o);

}  // namespace seedgrid::tools

#endif  // SEEDGRID_TOOLS_SEEDGRID_EXECUTE_H_
