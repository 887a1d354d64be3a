// Driver: the one run loop both clusters share (see cluster.h for the split of duties).
//
//   1. The seed draws the swarm (swarm.h), unless RunOptions gives one; the simulator, the fault
//      injector and the cluster are built; SG_BUGGIFY sites are active when the swarm says so, and
//      SG_PROBE hits are counted for the RunResult from here to the end of the run.
//   2. Safety phase (duration_ms): the cluster's workload, swarm and fixed faults, and the
//      cluster's periodic checks every check_interval_ms.
//   3. Liveness phase: every partition and clog healed, pauses ended, network faults and storage
//      errors off, crashed nodes restarted, clients online (clocks stay skewed). The driver probes
//      every 100 ms until the cluster reports no difference, then waits until everything in
//      flight has landed (quiescence) and probes once more in full; a difference then is a
//      violation of the invariant it concerns (unless the cluster is still making legitimate
//      progress, e.g. garbage collection). No convergence by liveness_ms: `liveness`.
//   4. Final checks. The event budget (events_max) is the backstop: `hang`.
//
// The first violation stops the run. Same scenario + same seed + same binary = same trace hash.
#ifndef SEEDGRID_SCENARIOS_DRIVER_H_
#define SEEDGRID_SCENARIOS_DRIVER_H_

#include <functional>
#include <memory>

#include "scenarios/cluster.h"
#include "scenarios/runner.h"

namespace seedgrid::scenarios {

using ClusterFactory =
    std::function<std::unique_ptr<Cluster>(RunContext& run, const RunOptions& options)>;

RunResult DriveRun(const Scenario& scenario, const RunOptions& options,
                   const ClusterFactory& make_cluster);

}  // namespace seedgrid::scenarios

#endif  // SEEDGRID_SCENARIOS_DRIVER_H_
