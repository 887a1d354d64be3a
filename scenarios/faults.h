// FaultInjector: all fault policy of a run. A scenario's fixed fault events and the seed's Poisson
// swarm faults hit the Simulator (partitions, crashes, pauses, clock steps, clogs) and, through
// the cluster's FaultTargets hooks, what only a cluster knows how to do: a crashed server coming
// back on a replaced disk (grid.disk_loss_pct), client offline periods, scheduled joins and
// graceful leaves. Storage errors (swarm storage_errors_ppm) are switched on in every node's
// SimStorage at the start and off at the heal. Shared by both clusters.
//
// Restart with the clock behind (an NTP step after a reboot): just before the node restarts, its
// SkewedClock is stepped back so that it reads `clock_behind_ms` below the millis of the last
// timestamp the node issued (FaultTargets::LastIssuedMs; without one, `clock_behind_ms` below
// where it was; a clock already further behind is not moved). Fixed events ask for it with a
// restart's `clock_behind_ms`; the swarm makes `restart_clock_behind_pct` % of its crashes'
// restarts do it, drawing the roll and the margin (`swarm.clock_behind_ms`) for every swarm crash
// from the sub-stream "faults/clock_behind".
//
// Each fault kind draws from its own sub-stream ("faults/<kind>", "grid-disk",
// "faults/storage/n<i>"), so turning one kind on or off never shifts another's schedule.
// Partitions heal after a drawn duration (lifting every partition), crashed nodes restart after
// one. Nothing is injected once the run is in its liveness phase; StopAll() ends what lasts.
//
// Every fault event is planned at the start and takes an index from the run's fault schedule
// (schedule.h) in time order. A dropped event still draws what it would draw (its node, kind,
// duration; a crash's disk-loss roll) and then does nothing, so dropping one never shifts another's
// draws.
//
// Crash points (swarm crash_points_ppm; sim/simulator.h) are not planned: the simulator draws
// them as nodes reach SG_CRASH_POINTs. Each one drawn takes the next fault index when it fires
// (after every planned event's index, in firing order) and its restart delay from
// "faults/crash_point" (drawn even when the schedule drops it); a dropped one does nothing. The
// node restarts after that delay; a crash point never loses the disk (it targets what a node
// promised about its own disk). Like every fault, none fires in the liveness phase.
#ifndef SEEDGRID_SCENARIOS_FAULTS_H_
#define SEEDGRID_SCENARIOS_FAULTS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/env/env.h"
#include "scenarios/cluster.h"
#include "scenarios/scenario.h"
#include "sim/simulator.h"

namespace seedgrid::scenarios {

class FaultInjector {
 public:
  // All references must outlive the injector.
  FaultInjector(RunContext& run, FaultTargets& targets);

  void Apply(const FaultEvent& f);
  // Schedules the scenario's fixed events, every swarm kind that is on, offline periods, joins
  // and leaves; switches storage errors on.
  void ScheduleAll();
  // The heal: storage errors off, every client online.
  void StopAll();

 private:
  // A crash, and with grid.disk_loss_pct a replaced disk. Dropped (!apply): only the disk roll.
  void CrashNode(int node, bool apply = true);
  // Restarts a crashed node (alive: nothing), with its clock behind when clock_behind_ms > 0 and
  // the run is still in its safety phase.
  void RestartNode(int node, uint64_t clock_behind_ms);
  void SetClockBehind(int node, uint64_t clock_behind_ms);
  // A fixed event, or (dropped) only its draws.
  void ApplyFixed(const FaultEvent& f, bool apply);
  void ScheduleOffline();
  void Online(int client);
  uint64_t DurationNs(Random& r);
  // Each fires with its kind's stream and whether the event is applied (false: dropped).
  using Fire = void (FaultInjector::*)(Random& r, bool apply);
  void ScheduleKind(std::string_view kind, uint32_t per_min, Fire fire);
  void ScheduleMembership();
  // Indexes the plan's events and hands them to the simulator.
  void SchedulePlan();
  void RandomPartition(Random& r, bool apply);
  void RandomCrash(Random& r, bool apply);
  void RandomPause(Random& r, bool apply);
  void RandomClockStep(Random& r, bool apply);
  void RandomClog(Random& r, bool apply);
  void RandomPowerLoss(Random& r, bool apply);
  void RandomZoneLoss(Random& r, bool apply);
  // Correlated failures: `nodes` (those up) crash at this instant and restart together after
  // `down_ns`; then FaultTargets::AfterRestartTogether.
  void CrashTogether(std::vector<int> nodes, uint64_t down_ns, std::string what);
  void PowerLoss(uint64_t down_ns);
  void ZoneLoss(int zone, uint64_t down_ns);
  void TraceFault(const std::string& text) { sim_.TraceFault(-1, text); }
  void ArmCrashPoints();
  bool AdmitCrashPoint(int node);
  void RestartAfterCrashPoint(int node);

  bool liveness() const { return run_.liveness(); }

  RunContext& run_;
  FaultTargets& targets_;
  sim::Simulator& sim_;
  const Scenario& s_;
  const SwarmDraw& swarm_;
  const uint64_t seed_;
  Xoshiro256 disk_random_;
  Xoshiro256 behind_random_;  // "faults/clock_behind": swarm restarts with the clock behind
  Xoshiro256 crash_point_random_;
  std::vector<uint64_t> crash_point_restart_ns_;  // per node: the admitted crash point's delay
  // The run's fault events, planned by ScheduleAll before they are indexed and scheduled.
  struct Planned {
    uint64_t at_ns = 0;
    std::function<void(bool apply)> fire;  // apply false: the event is dropped
  };
  std::vector<Planned> plan_;
};

}  // namespace seedgrid::scenarios

#endif  // SEEDGRID_SCENARIOS_FAULTS_H_
