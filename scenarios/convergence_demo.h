// The convergence demo: N replicas whose physical clocks are skewed and drifting write to shared
// LWW maps, OR maps and a PN-counter, replicate over a lossy network (OP_BATCH), and then, in a
// liveness phase with a reliable network, run Merkle anti-entropy rounds until every replica is
// identical (checked by invariants::CheckConvergence) or the round bound is hit.
//
// Everything is derived from `seed` through named sub-streams ("clocks", "workload", "network"),
// so the same seed prints the same report and the same trace hash on every run.
#ifndef SEEDGRID_SCENARIOS_CONVERGENCE_DEMO_H_
#define SEEDGRID_SCENARIOS_CONVERGENCE_DEMO_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "invariants/convergence.h"

namespace seedgrid::scenarios {

struct ConvergenceDemoOptions {
  uint64_t seed = 1;
  int nodes = 5;                 // 2..1000
  int writes = 2000;             // 0..10'000'000
  int keys = 200;                // 1..1'000'000
  int64_t skew_ms_max = 20'000;  // clock offsets drawn from [-skew, +skew]
  int64_t drift_ppm_max = 200;   // drift drawn from [-drift, +drift]
  uint32_t loss_ppm = 200'000;   // replication messages lost, parts per million
  int flush_every = 10;          // a node flushes its outbox every N of its own writes
  int sync_rounds_max = 100;     // liveness bound; each round advances virtual time 1 s
  bool verbose = false;
};

// OK, or InvalidArgument naming the option that is out of range.
absl::Status Validate(const ConvergenceDemoOptions& options);

struct ConvergenceDemoResult {
  bool converged = false;
  int sync_rounds = 0;
  uint64_t trace_hash = 0;  // XXH3 chain over every delivered (from, to, bytes)
  uint64_t messages_delivered = 0;
  uint64_t messages_dropped = 0;
  uint64_t merge_errors = 0;  // e.g. writes rejected by the HLC drift bound
  std::optional<invariants::Violation> violation;
};

// REQUIRES: Validate(options).ok(). Appends a human-readable report to `report`.
ConvergenceDemoResult RunConvergenceDemo(const ConvergenceDemoOptions& options,
                                         std::string& report);

}  // namespace seedgrid::scenarios

#endif  // SEEDGRID_SCENARIOS_CONVERGENCE_DEMO_H_
