// RunScenario: one seeded, deterministic simulated run of a scenario.
//
//   1. The seed draws the swarm (which fault kinds are on and their rates, within the scenario's
//      ranges), each node's clock offset and drift, and whether SG_BUGGIFY sites are active.
//   2. Safety phase (duration_ms): the workload writes to LWW-Maps, OR-Maps and a PN-Counter and
//      runs queries on random nodes (each a ReplicaNode: timers, Merkle anti-entropy, durable
//      pages, indexes and live subscriptions), while swarm faults and the scenario's fixed fault
//      events hit the network, the nodes and their clocks. Cheap invariants run as it goes: HLC
//      monotonicity on every operation, and query/live-query correctness on one node per check
//      interval.
//   3. Liveness phase: every partition and clog is healed, crashed nodes restart, pauses end,
//      loss/duplication/reordering stop (clocks stay skewed). The replicas must converge within
//      liveness_ms; then every invariant runs on every node.
//
// The first violation stops the run. Same scenario + same seed + same binary = same trace hash.
#ifndef SEEDGRID_SCENARIOS_RUNNER_H_
#define SEEDGRID_SCENARIOS_RUNNER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/replica/replica_node.h"
#include "scenarios/scenario.h"
#include "sim/simulator.h"
#include "sim/trace.h"

namespace seedgrid::scenarios {

// What the seed drew from the scenario's swarm ranges.
struct SwarmDraw {
  uint32_t loss_ppm = 0, duplicate_ppm = 0, reorder_ppm = 0;
  uint32_t partitions_per_min = 0, crashes_per_min = 0, pauses_per_min = 0;
  uint32_t clock_steps_per_min = 0, clogs_per_min = 0;
  bool buggify = false;
  std::string ToString() const;
};
SwarmDraw DrawSwarm(const Scenario& scenario, uint64_t seed);
// A rate from a swarm range: always two draws; a range with lo <= 0 is off for about half the
// seeds, else uniform in [max(lo, 1), hi].
uint32_t DrawRate(Random& r, const Range& range);
// Each node's clock offset and drift, drawn from the scenario's ranges.
std::vector<sim::NodeClockParams> DrawClocks(const Scenario& scenario, uint64_t seed);

struct RunViolation {
  std::string invariant;
  std::string detail;
  uint64_t virtual_time_ns = 0;
  uint64_t event_index = 0;  // trace events recorded before the violation was found
};

struct RunOptions {
  uint64_t seed = 1;
  sim::Trace::Sink trace_sink;  // every trace event (e.g. written as JSON lines)
  bool keep_trace_log = false;  // keep every event in memory (for the determinism check)
  // Test hook: runs each time a node (re)starts, to plant a fault the checkers must catch.
  std::function<void(int node, ReplicaNode& replica_node)> on_node_start;
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
  uint64_t ops = 0;                 // workload operations applied
  uint64_t checks = 0;              // invariant checks run
  uint64_t converged_after_ms = 0;  // into the liveness phase
  uint64_t buggify_fired = 0;
  std::vector<std::string> buggify_sites;  // enabled sites
  sim::SimStats stats;
  std::vector<sim::Trace::LoggedEvent> trace_log;  // with keep_trace_log
};

RunResult RunScenario(const Scenario& scenario, const RunOptions& options);

}  // namespace seedgrid::scenarios

#endif  // SEEDGRID_SCENARIOS_RUNNER_H_
