// Shrinking a failing run: greedy search for a smaller scenario that fails the same way with the
// same seed (fewer fixed faults, swarm fault kinds turned off, buggify off, a shorter safety
// phase, fewer nodes, a lighter workload, fewer operation kinds).
//
// Each candidate is one simplification of the current scenario; the first candidate whose run
// still fails with the same invariant is kept and the search restarts from it, until no candidate
// fails or the run budget is spent. Deterministic: the same input shrinks to the same scenario.
// Stable because every random stream is named (sub-streams) and the swarm always draws the same
// number of values, so removing one fault kind does not move the others.
#ifndef SEEDGRID_SCENARIOS_SHRINK_H_
#define SEEDGRID_SCENARIOS_SHRINK_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "scenarios/runner.h"
#include "scenarios/scenario.h"

namespace seedgrid::scenarios {

struct ShrinkStep {
  std::string what;  // e.g. "nodes 5 -> 4"
  uint64_t ops = 0;  // workload operations of the (still failing) run after the step
};

struct ShrinkResult {
  Scenario scenario;              // the smallest failing scenario found
  RunResult result;               // its run (fails with the original invariant)
  std::vector<ShrinkStep> steps;  // accepted simplifications, in order
  uint64_t runs = 0;              // runs spent
};

// The simplifications of `s` that shrinking tries, in order, each with a description.
std::vector<std::pair<std::string, Scenario>> ShrinkCandidates(const Scenario& s);

// REQUIRES: `failing` is the result of RunScenario(s, options) and did not pass. Candidates run
// with `options` (its seed and hooks; trace sinks and logs should be off).
// `progress` (optional) hears every accepted step.
ShrinkResult Shrink(const Scenario& s, const RunOptions& options, const RunResult& failing,
                    uint64_t runs_max, const std::function<void(const ShrinkStep&)>& progress = {});

}  // namespace seedgrid::scenarios

#endif  // SEEDGRID_SCENARIOS_SHRINK_H_
