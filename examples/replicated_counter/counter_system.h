// The replicated counter as a seedgrid system (scenarios/system.h): scenario files that say
// "system": "replicated_counter" run CounterNodes under the simulator, with three checkers.
//
//   counter_bounds       (safety, every check interval) no node has seen node j add or subtract
//                        more than node j was asked to: a merge that double-counts is caught.
//   counter_convergence  (liveness) after the heal every node holds the same state.
//   counter_model        (final) the converged value counts every acknowledged change and
//                        nothing that was never asked for: per node j, acknowledged adds <=
//                        p[j] <= all adds asked of j (likewise n[j]).
//
// Params: {"gossip_interval_ms": 1..60000 (default 100)}.
#ifndef REPLICATED_COUNTER_COUNTER_SYSTEM_H_
#define REPLICATED_COUNTER_COUNTER_SYSTEM_H_

#include "absl/status/status.h"

namespace counter {

// Registers "replicated_counter". Call once, first thing in main.
absl::Status RegisterCounterSystem();

}  // namespace counter

#endif  // REPLICATED_COUNTER_COUNTER_SYSTEM_H_
