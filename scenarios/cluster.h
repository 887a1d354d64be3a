// Cluster: one kind of simulated system under test (ReplicaCluster: peer replica nodes;
// GridCluster: grid servers and clients). The Driver (driver.h) owns everything a run shares —
// the simulator, buggify, phases, the fault injector, the event budget, convergence probes,
// quiescence and the RunResult — and calls the cluster in FoundationDB's workload shape:
//
//   setup   StartNode/StopNode: the simulator's node lifecycle callbacks (start and stop only;
//           fault policy — disk loss, offline periods, joins, leaves — is the fault injector's,
//           through the FaultTargets hooks below)
//   start   ScheduleWorkload: the safety phase's operations
//   check   PeriodicCheck during the safety phase; Unconverged while the driver probes for
//           convergence in the liveness phase (and once more, `full`, at quiescence);
//           FinalChecks after the run converged.
//
// A cluster reports violations through RunContext::Violate; the first one ends the run.
#ifndef SEEDGRID_SCENARIOS_CLUSTER_H_
#define SEEDGRID_SCENARIOS_CLUSTER_H_

#include <xxhash.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/env/env.h"
#include "invariants/convergence.h"
#include "invariants/invariant.h"
#include "scenarios/scenario.h"
#include "scenarios/schedule.h"
#include "scenarios/swarm.h"
#include "sim/simulator.h"

namespace seedgrid::scenarios {

// Shared by the clusters' workloads: the values a document's `city` draws from, and the digest of
// an operation's text that the trace records.
inline constexpr const char* kCities[] = {"Oslo", "Rome", "Lima", "Kyiv", "Pune", "Quito"};
inline uint64_t OpDigest(std::string_view text) { return XXH3_64bits(text.data(), text.size()); }

inline constexpr uint64_t kNsPerMs = 1'000'000;

struct RunViolation;

// What the driver lends a cluster for one run.
class RunContext {
 public:
  RunContext(const Scenario& scenario, uint64_t seed, const SwarmDraw& swarm, sim::Simulator& sim)
      : scenario(scenario), seed(seed), swarm(swarm), sim(sim) {}

  const Scenario& scenario;
  const uint64_t seed;
  const SwarmDraw& swarm;
  sim::Simulator& sim;
  // The schedule's indexes (schedule.h): the cluster takes one per workload arrival, the fault
  // injector one per fault event; a false Next() means the scenario drops that item.
  ScheduleCounter op_schedule{scenario.schedule.ops};
  ScheduleCounter fault_schedule{scenario.schedule.faults};

  bool On(invariants::Invariant invariant) const { return scenario.invariants.contains(invariant); }
  // A registered system's invariant (system.h): whether the scenario checks it.
  bool On(std::string_view system_invariant) const {
    return scenario.system_invariants.contains(system_invariant);
  }
  bool liveness() const { return liveness_; }
  bool violated() const { return violation_.has_value(); }
  // Records the first violation (later ones are ignored: the run stops at the first).
  void Violate(invariants::Invariant invariant, std::string detail);
  void Violate(const std::optional<invariants::Violation>& v) {
    if (v) Violate(v->invariant, v->detail);
  }
  // A registered system's checker reports a violation of one of its invariants. REQUIRES: the
  // system registered `system_invariant`. Ignored when the scenario does not check it.
  void Violate(std::string_view system_invariant, std::string detail);

 private:
  friend class Driver;
  struct Failure {
    std::string invariant;  // its name
    std::string detail;
  };
  void Record(std::string_view invariant, std::string detail);
  bool liveness_ = false;
  std::optional<Failure> violation_;
  uint64_t violation_time_ns_ = 0;
  uint64_t violation_event_ = 0;
};

// What the fault injector may do to a cluster beyond the simulator's own faults. Defaults: plain
// nodes, none of the grid's faults.
class FaultTargets {
 public:
  virtual ~FaultTargets() = default;
  // The node a swarm crash hits (-1: none).
  virtual int PickCrash(Random& r) = 0;
  // A crashed node that may come back on a replaced (empty) disk.
  virtual bool MayLoseDisk(int /*node*/) const { return false; }
  // Called after the crash and before the wipe (the cluster checks what it promised), and after.
  virtual void BeforeDiskLoss(int /*node*/) {}
  virtual void AfterDiskLoss(int /*node*/) {}
  virtual int clients() const { return 0; }
  virtual void SetOffline(int /*client*/, bool /*offline*/) {}
  virtual bool offline(int /*client*/) const { return false; }
  // `nodes` crashed together (a power or zone loss) and just restarted together, from their disks.
  virtual void AfterRestartTogether(const std::vector<int>& /*nodes*/) {}
  virtual void Join(int /*node*/) {}
  virtual void BeginLeave(int /*node*/) {}
  // The millis of the newest timestamp the node issued and must never reissue (nullopt: none
  // known). A restart with the clock behind (faults.h) sets the node's clock below it.
  virtual std::optional<uint64_t> LastIssuedMs(int /*node*/) const { return std::nullopt; }
};

struct Unconverged {
  invariants::Invariant invariant;  // the invariant the difference concerns
  std::string detail;
  // A registered system's invariant instead of `invariant` (system.h); "" for the built-in ones.
  std::string system_invariant;
  std::string name() const {
    return system_invariant.empty() ? std::string(invariants::InvariantName(invariant))
                                    : system_invariant;
  }
};

class Cluster : public FaultTargets {
 public:
  // Setup: the simulator's lifecycle callbacks.
  virtual void StartNode(int node) = 0;
  virtual void StopNode(int node) = 0;
  // Start: schedule the safety phase's workload; the text for the trace's safety-phase event.
  virtual void ScheduleWorkload() = 0;
  virtual std::string SafetyText() const = 0;
  // Check.
  virtual void PeriodicCheck() = 0;
  virtual bool RestartsForLiveness(int /*node*/) const { return true; }
  virtual void BeginLiveness() {}
  virtual std::optional<Unconverged> Probe(bool full) = 0;
  // How long quiescence waits after convergence, beyond the last message in flight.
  virtual uint64_t QuiescenceWaitMs() const = 0;
  // A counter that moves while the system legitimately keeps changing after it converged (GC).
  virtual uint64_t Progress() const { return 0; }
  virtual void FinalChecks() = 0;
  // Destroys every node (before the simulator goes).
  virtual void Shutdown() = 0;
  virtual uint64_t ops() const = 0;
  virtual uint64_t checks() const = 0;
};

}  // namespace seedgrid::scenarios

#endif  // SEEDGRID_SCENARIOS_CLUSTER_H_
