// RunScenario: one seeded, deterministic simulated run of a scenario — of peer replica nodes
// (ReplicaCluster, replica_cluster.h) or, when the scenario has a `grid` section, of grid servers
// and clients (GridCluster, grid_cluster.h) — by the one run driver (driver.h). The first
// violation stops the run. Same scenario + same seed + same binary = same trace hash.
#ifndef SEEDGRID_SCENARIOS_RUNNER_H_
#define SEEDGRID_SCENARIOS_RUNNER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/replica/replica_node.h"
#include "scenarios/scenario.h"
#include "scenarios/swarm.h"
#include "sim/simulator.h"
#include "sim/trace.h"

namespace seedgrid::scenarios {

struct RunViolation {
  std::string invariant;  // invariants::InvariantName()
  std::string detail;
  uint64_t virtual_time_ns = 0;
  uint64_t event_index = 0;  // trace events recorded before the violation was found
};

struct RunOptions {
  uint64_t seed = 1;
  sim::Trace::Sink trace_sink;  // every trace event (e.g. written as JSON lines)
  bool keep_trace_log = false;  // keep every event in memory (for the determinism check)
  // The swarm to run with instead of the one the seed draws (guided fuzzing, repro files).
  // REQUIRES: ValidateSwarm(scenario, *swarm).ok().
  std::optional<SwarmDraw> swarm;
  // Test hook: runs each time a node (re)starts, to plant a fault the checkers must catch.
  std::function<void(int node, ReplicaNode& replica_node)> on_node_start;
  // Sees every dispatched event (sim::DispatchObserver; `run --profile`); must outlive the run.
  sim::DispatchObserver* observer = nullptr;
};

struct RunResult {
  bool pass = false;
  std::optional<RunViolation> violation;
  SwarmDraw swarm;
  uint64_t trace_hash = 0;
  uint64_t events = 0;      // trace events
  uint64_t sim_events = 0;  // events the simulator dispatched
  uint64_t messages = 0;    // messages delivered
  uint64_t virtual_ms = 0;
  uint64_t ops = 0;  // workload operations applied
  // The schedule (schedule.h): items generated (indexed) and how many the scenario dropped.
  uint64_t ops_generated = 0;
  uint64_t ops_dropped = 0;
  uint64_t faults_generated = 0;
  uint64_t faults_dropped = 0;
  uint64_t checks = 0;              // invariant checks run
  uint64_t converged_after_ms = 0;  // into the liveness phase
  uint64_t buggify_fired = 0;
  std::vector<std::string> buggify_sites;  // enabled sites
  // SG_PROBE hit counts of this run (engine/base/probe.h): (name, hits), only probes hit, sorted
  // by name.
  std::vector<std::pair<std::string, uint64_t>> probes;
  sim::SimStats stats;
  std::vector<sim::Trace::LoggedEvent> trace_log;  // with keep_trace_log
};

RunResult RunScenario(const Scenario& scenario, const RunOptions& options);

}  // namespace seedgrid::scenarios

#endif  // SEEDGRID_SCENARIOS_RUNNER_H_
