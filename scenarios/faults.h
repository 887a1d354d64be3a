// FaultInjector: a scenario's fixed fault events and the seed's Poisson swarm faults, applied to a
// Simulator during the safety phase. Shared by the replica-node and grid runners.
//
// Each swarm fault kind draws from its own sub-stream ("faults/<kind>"), so turning one kind on or
// off never shifts another's schedule. Partitions heal after a drawn duration (lifting every
// partition), crashed nodes restart after one. Nothing is injected once `liveness` is true.
#ifndef SEEDGRID_SCENARIOS_FAULTS_H_
#define SEEDGRID_SCENARIOS_FAULTS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "engine/env/env.h"
#include "scenarios/scenario.h"
#include "sim/simulator.h"

namespace seedgrid::scenarios {

struct SwarmDraw;

class FaultInjector {
 public:
  // Picks the node a swarm crash hits (may return -1 for none). Default: uniform over all nodes.
  using CrashPicker = std::function<int(Random&)>;
  // All references must outlive the injector.
  FaultInjector(sim::Simulator& sim, const Scenario& scenario, const SwarmDraw& swarm,
                uint64_t seed, const bool& liveness, CrashPicker pick_crash = {});

  void Apply(const FaultEvent& f);
  // Schedules the scenario's fixed events and every swarm kind that is on.
  void ScheduleAll();

 private:
  uint64_t DurationNs(Random& r);
  void ScheduleKind(std::string_view kind, uint32_t per_min, void (FaultInjector::*fire)(Random&));
  void RandomPartition(Random& r);
  void RandomCrash(Random& r);
  void RandomPause(Random& r);
  void RandomClockStep(Random& r);
  void RandomClog(Random& r);
  void TraceFault(const std::string& text) { sim_.TraceFault(-1, text); }

  sim::Simulator& sim_;
  const Scenario& s_;
  const SwarmDraw& swarm_;
  uint64_t seed_;
  const bool& liveness_;
  CrashPicker pick_crash_;
};

}  // namespace seedgrid::scenarios

#endif  // SEEDGRID_SCENARIOS_FAULTS_H_
