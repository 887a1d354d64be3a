#include "scenarios/runner.h"

#include "engine/base/assert.h"
#include "scenarios/driver.h"
#include "scenarios/grid_cluster.h"
#include "scenarios/replica_cluster.h"
#include "scenarios/system.h"

namespace seedgrid::scenarios {

RunResult RunScenario(const Scenario& scenario, const RunOptions& options) {
  return DriveRun(scenario, options,
                  [&scenario](RunContext& run, const RunOptions& o) -> std::unique_ptr<Cluster> {
                    if (!scenario.system.empty()) {
                      const SystemSpec* system = FindSystem(scenario.system);
                      SG_ASSERT(system != nullptr);  // ParseScenario checked it.
                      return system->make(run, nlohmann::json::parse(scenario.params_json));
                    }
                    if (scenario.grid) return std::make_unique<GridCluster>(run);
                    return std::make_unique<ReplicaCluster>(run, o.on_node_start);
                  });
}

}  // namespace seedgrid::scenarios
