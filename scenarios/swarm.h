// The swarm: what one seed draws from a scenario's ranges before the run starts (TigerBeetle's
// swarm testing: each seed turns fault kinds on or off and picks their rates, so a suite covers
// many fault mixes). Printed at the start of every run.
//
// Each draw comes from a named sub-stream of the seed, so adding a draw never moves another. A run
// may also be given a draw (RunOptions::swarm: guided fuzzing, repro files); ValidateSwarm says
// whether it is one the scenario's ranges allow.
#ifndef SEEDGRID_SCENARIOS_SWARM_H_
#define SEEDGRID_SCENARIOS_SWARM_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "engine/env/env.h"
#include "scenarios/scenario.h"
#include "sim/simulator.h"

namespace seedgrid::scenarios {

struct SwarmDraw {
  uint32_t loss_ppm = 0, duplicate_ppm = 0, reorder_ppm = 0;
  uint32_t partitions_per_min = 0, crashes_per_min = 0, pauses_per_min = 0;
  uint32_t clock_steps_per_min = 0, clogs_per_min = 0;
  bool buggify = false;
  uint32_t power_losses_per_min = 0, zone_losses_per_min = 0;  // correlated failures
  // Share (%) of swarm crashes that restart with the clock behind the last issued timestamp.
  uint32_t restart_clock_behind_pct = 0;
  uint32_t crash_points_ppm = 0;  // per crash point reached (SG_CRASH_POINT); 0: off
  // Grid scenarios only (zero otherwise).
  uint32_t offline_per_min = 0;     // client offline periods
  uint32_t storage_errors_ppm = 0;  // of writes and of syncs, on every node
  bool torn_writes = false;         // a crash tears the last unsynced write
  std::string ToString() const;
  friend bool operator==(const SwarmDraw&, const SwarmDraw&) = default;
};
SwarmDraw DrawSwarm(const Scenario& scenario, uint64_t seed);

// One rate of the swarm, by name, with the scenario range it is drawn from. SwarmRates lists the
// rates a scenario draws: the network and fault rates in SwarmDraw order, the grid's rates (grid
// scenarios only), then crash_points_ppm (appended last so earlier positions never moved).
struct SwarmRate {
  std::string_view name;  // e.g. "loss_ppm"
  uint32_t SwarmDraw::*field;
  Range range;
};
std::vector<SwarmRate> SwarmRates(const Scenario& scenario);
// The values DrawSwarm can give a rate drawn from `range`: 0 when hi <= 0; [0, hi] when lo <= 0;
// else [lo, hi].
bool RateInRange(uint32_t value, const Range& range);
// OK when DrawSwarm could have drawn `swarm` for `scenario` (some seed): every rate in its range,
// buggify only when the scenario allows it, torn writes only on a grid that allows them, the
// grid's rates zero on replica scenarios. Else InvalidArgument naming the field.
absl::Status ValidateSwarm(const Scenario& scenario, const SwarmDraw& swarm);

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
