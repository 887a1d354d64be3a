// Systems: your own node type under the simulator (docs/embedding.md).
//
// seedgrid simulates two built-in systems (peer replica nodes; grid servers and clients). A
// program that links seedgrid can register more: a SystemSpec names the system, lists the
// invariants its checkers report, and makes its Cluster (cluster.h) for each run. A scenario file
// then says `"system": "NAME"` and, optionally, `"params": {...}` for the system; everything else
// in the file — nodes, phases, network, clocks, swarm, fixed faults, schedule, regression — works
// as for the built-in systems, and so do `run`, `replay`, `suite`, `fuzz`, `shrink`, repro files,
// trace hashes and merge-results, through tools/seedgrid/tool.h.
//
// PeerCluster (below) is the short way to write a Cluster for a system of identical peers: the
// system starts and stops a node, performs one workload operation on it, and probes convergence;
// PeerCluster drives the workload, picks crash targets, and counts operations and checks.
//
// Contract:
// - Register every system before the first scenario is parsed (first thing in main): the
//   registry is process-wide and read without a lock afterwards (worker processes are forks and
//   inherit it). RegisterSystem refuses an invalid or taken name, an invariant name that is not
//   [a-z0-9_]+ or that a built-in invariant already uses, and a spec without `make`.
// - A system's invariants are on by default; a scenario's "invariants" list may pick some of
//   them (plus "liveness"). A checker reports through RunContext::Violate(name, detail) with one
//   of the system's names, and may ask RunContext::On(name) whether the scenario checks it.
// - `check_params` (optional) sees the scenario's "params" object when the file is parsed; an
//   error there is reported as "FILE:LINE:COL: params: MESSAGE". `make` receives the same object.
// - Determinism is the system's part of the bargain: a node talks to the world only through the
//   Env it is given (sim.env(node)); the workload and checks draw only from streams derived from
//   the run's seed (sim::Substream). Then same scenario + seed + binary = same trace hash.
#ifndef SEEDGRID_SCENARIOS_SYSTEM_H_
#define SEEDGRID_SCENARIOS_SYSTEM_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "engine/env/xoshiro.h"
#include "scenarios/cluster.h"

namespace seedgrid::scenarios {

struct SystemInvariant {
  std::string name;     // as written in scenario files and reports
  std::string summary;  // one line, for docs and errors
};

struct SystemSpec {
  std::string name;  // [a-z0-9_]+, not "replica" or "grid"
  std::string summary;
  std::vector<SystemInvariant> invariants;
  std::function<absl::Status(const nlohmann::json& params)> check_params;
  std::function<std::unique_ptr<Cluster>(RunContext& run, const nlohmann::json& params)> make;
};

absl::Status RegisterSystem(SystemSpec spec);
// nullptr when no system of that name is registered.
const SystemSpec* FindSystem(std::string_view name);
// "a, b": the registered names (for error messages); "none" when there are none.
std::string SystemList();

// A Cluster of identical peers, the shape most user systems take. Nodes are 0..nodes-1 and are
// all alike: any may crash, be partitioned, pause or step its clock.
class PeerCluster : public Cluster {
 public:
  explicit PeerCluster(RunContext& run);

  // --- What the system implements (besides StartNode, StopNode and Probe from Cluster).
  // One workload operation on live node `node`; draw what to do from `random` only: the
  // operation's own stream (the seed and the operation's index), so an operation the schedule
  // drops or one skipped on a down node changes no other. Called at the scenario's ops_per_sec
  // (Poisson arrivals) over the safety phase.
  virtual void Operate(int node, Random& random) = 0;
  // Safety checks every check_interval_ms of the safety phase (default: none); count each check
  // with CountCheck().
  void PeriodicCheck() override {}
  // After convergence (default: none).
  void FinalChecks() override {}
  // How long quiescence waits after convergence (default: 1 s): at least one of the system's
  // own repair rounds, so a difference that only shows after one is caught.
  uint64_t QuiescenceWaitMs() const override { return 1000; }

  // --- Provided.
  void ScheduleWorkload() override;
  std::string SafetyText() const override;
  int PickCrash(Random& r) override;
  // Stops every live node (before the simulator goes).
  void Shutdown() override;
  uint64_t ops() const override { return ops_; }
  uint64_t checks() const override { return checks_; }

 protected:
  RunContext& run() { return run_; }
  sim::Simulator& sim() { return run_.sim; }
  const Scenario& scenario() const { return run_.scenario; }
  void CountCheck() { ++checks_; }
  // Records an operation in the trace (part of the trace hash; shown by `replay --trace`).
  void TraceOp(int node, const std::string& text);

 private:
  void ScheduleNextOp();

  RunContext& run_;
  Xoshiro256 arrivals_;
  uint64_t arrivals_seen_ = 0;
  uint64_t ops_ = 0;
  uint64_t checks_ = 0;
};

}  // namespace seedgrid::scenarios

#endif  // SEEDGRID_SCENARIOS_SYSTEM_H_
