// RunGridScenario: one seeded, deterministic simulated run of a grid scenario (Scenario::grid).
//
// Nodes: GridServers (initial members, then one per scheduled join) and GridClients. The safety
// phase runs client writes (LWW set/remove on map "users", each with a write concern drawn from
// the scenario's weights) on random clients — online or offline — while swarm and fixed faults,
// client offline periods, joins and graceful leaves happen. The liveness phase heals everything,
// restarts crashed nodes and brings every client online; then the grid must reach:
//   grid_table        every live server holds the same partition table, whose members are exactly
//                     the live servers (so every partition has a live owner)
//   grid_convergence  every partition's owner and backups hold the same records and marks, no
//                     other server holds it, and every client's copy equals the owners' (per
//                     partition digests) with an empty op log
// and still hold after everything in flight has landed (quiescence). Final checks:
//   grid_durability   whenever a server loses its disk, every write acknowledged at REPLICATED
//                     so far is held by another live server; at the end, every write acknowledged
//                     at REPLICATED is in its owner's state (that stamp or a later one), and so is
//                     every write acknowledged at APPLIED unless a disk was lost after the ack
//   grid_exactly_once every op-log entry ever written was applied, and no server applied one twice
//                     on the same disk (checked as it happens)
// Server restarts may come back on an empty disk (grid.disk_loss_pct): a replaced machine.
#ifndef SEEDGRID_SCENARIOS_GRID_RUNNER_H_
#define SEEDGRID_SCENARIOS_GRID_RUNNER_H_

#include "scenarios/runner.h"
#include "scenarios/scenario.h"

namespace seedgrid::scenarios {

// REQUIRES: scenario.grid.
RunResult RunGridScenario(const Scenario& scenario, const RunOptions& options);

}  // namespace seedgrid::scenarios

#endif  // SEEDGRID_SCENARIOS_GRID_RUNNER_H_
