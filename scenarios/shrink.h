// Shrinking a failing run: a smaller scenario that fails the same way (the same invariant) with
// the same seed, in two stages within one run budget.
//
// 1. Structure (ShrinkStructure): greedy search over simplifications of the scenario (fewer
//    fixed faults, swarm fault kinds turned off, buggify off, a shorter safety phase, fewer nodes,
//    a lighter workload, fewer operation kinds). Each candidate is one simplification of the
//    current scenario; the first whose run still fails with the same invariant is kept and the
//    search restarts from it, until no candidate fails or the budget is spent.
// 2. Schedule (ShrinkSchedule): delta debugging (ddmin.h) over the run's generated schedule
//    (schedule.h) — first its fault events, then its workload operations — writing what it drops
//    into the scenario's `schedule` section, so the result is one self-contained scenario file.
//    Then the structure again (a smaller schedule often allows it), and so on (Shrink).
//
// Deterministic: the same input shrinks to the same scenario. Stable because every random stream
// is named (sub-streams), the swarm always draws the same number of values, and a dropped
// schedule item still draws its values, so removing one thing does not move the others' draws.
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

// How big a failing run is: what shrinking reports before and after.
struct ShrinkSize {
  int nodes = 0;
  uint64_t ops = 0;     // workload ops the run generated and did not drop
  uint64_t faults = 0;  // fault events the run generated and did not drop
  uint64_t events = 0;  // trace events
};
ShrinkSize SizeOf(const Scenario& s, const RunResult& r);

struct ShrinkResult {
  Scenario scenario;              // the smallest failing scenario found
  RunResult result;               // its run (fails with the original invariant)
  std::vector<ShrinkStep> steps;  // accepted simplifications, in order
  uint64_t runs = 0;              // runs spent (all stages)
  uint64_t structure_runs = 0;    // of which the structural stage
  uint64_t fault_runs = 0;        // of which ddmin over fault events
  uint64_t op_runs = 0;           // of which ddmin over workload ops
  // The last schedule stage ended 1-minimal in faults and ops, and the scenario has not changed
  // since (no single fault event or op of the result can be dropped).
  bool schedule_minimal = false;
};

// Called with every accepted step.
using ShrinkProgress = std::function<void(const ShrinkStep&)>;
// How a candidate runs: RunScenario when empty. The tool runs each candidate in a worker process,
// so that a candidate that crashes is a failure (invariant "crash") rather than the shrink's end.
using CandidateRunner = std::function<RunResult(const Scenario&, const RunOptions&)>;

// The simplifications of `s` that shrinking tries, in order, each with a description.
std::vector<std::pair<std::string, Scenario>> ShrinkCandidates(const Scenario& s);

// REQUIRES: `failing` is the result of RunScenario(s, options) and did not pass. Candidates run
// with `options` (its seed and hooks; trace sinks and logs should be off). Each stage continues
// a ShrinkResult and counts its runs in it; `runs_max` bounds the total.

// A shrink that has not started: `s`, its failing run, no steps, no runs.
ShrinkResult ShrinkStart(const Scenario& s, const RunResult& failing);
// The structural search (stage 1).
ShrinkResult ShrinkStructure(ShrinkResult from, const RunOptions& options, uint64_t runs_max,
                             const ShrinkProgress& progress = {}, const CandidateRunner& run = {});
// ddmin over the fault events, then the workload ops, of from.result (stage 2).
ShrinkResult ShrinkSchedule(ShrinkResult from, const RunOptions& options, uint64_t runs_max,
                            const ShrinkProgress& progress = {}, const CandidateRunner& run = {});
// Both: the structure (at most `runs_max` / 2 runs, so the schedule always gets a share), then
// rounds of schedule and structure until a structural pass finds nothing (at most 4 rounds) or
// the budget is spent. Without `schedule`, the structural search alone with the whole budget.
ShrinkResult Shrink(const Scenario& s, const RunOptions& options, const RunResult& failing,
                    uint64_t runs_max, const ShrinkProgress& progress = {}, bool schedule = true,
                    const CandidateRunner& run = {});

}  // namespace seedgrid::scenarios

#endif  // SEEDGRID_SCENARIOS_SHRINK_H_
