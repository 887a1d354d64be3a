// The swarm: what one seed draws from a scenario's ranges before the run starts (TigerBeetle's
// swarm testing: each seed turns fault kinds on or off and picks their rates, so a suite covers
// many fault mixes). Printed at the start of every run.
//
// Each draw comes from a named sub-stream of the seed, so adding a draw never moves another.
#ifndef SEEDGRID_SCENARIOS_SWARM_H_
#define SEEDGRID_SCENARIOS_SWARM_H_

#include <cstdint>
#include <string>
#include <vector>

#include "engine/env/env.h"
#include "scenarios/scenario.h"
#include "sim/simulator.h"

namespace seedgrid::scenarios {

struct SwarmDraw {
  uint32_t loss_ppm = 0, duplicate_ppm = 0, reorder_ppm = 0;
  uint32_t partitions_per_min = 0, crashes_per_min = 0, pauses_per_min = 0;
  uint32_t clock_steps_per_min = 0, clogs_per_min = 0;
  bool buggify = false;
  // Grid scenarios only (zero otherwise).
  uint32_t offline_per_min = 0;     // client offline periods
  uint32_t storage_errors_ppm = 0;  // of writes and of syncs, on every node
  bool torn_writes = false;         // a crash tears the last unsynced write
  std::string ToString() const;
};
SwarmDraw DrawSwarm(const Scenario& scenario, uint64_t seed);

// A rate from a swarm range: always two draws; a range with lo <= 0 is off for about half the
// seeds, else uniform in [max(lo, 1), hi].
uint32_t DrawRate(Random& r, const Range& range);

// Each node's clock offset and drift, drawn from the scenario's ranges.
std::vector<sim::NodeClockParams> DrawClocks(const Scenario& scenario, uint64_t seed);

// The simulator's options for this scenario and seed.
sim::SimulatorOptions SimOptionsFor(const Scenario& scenario, uint64_t seed,
                                    const SwarmDraw& swarm);

}  // namespace seedgrid::scenarios

#endif  // SEEDGRID_SCENARIOS_SWARM_H_
