// Crash and hang isolation for the simulation commands: a run executes in a worker process
// (process_pool.h); how it ended becomes an Outcome like any other.
//
// Contract:
// - OutcomeOf turns a task's end into the run's Outcome: a finished task's decoded result; a
//   worker that died as the failure `crash` (the signal or exit status, and the assertion,
//   sanitizer or std::terminate lines of its stderr); a task over its wall-clock limit as the
//   failure `hang`. Crash and hang outcomes carry the swarm drawn, trace hash 0 and no counts.
// - Diagnose re-runs a crashed seed in a fresh worker with a trace sink that keeps the last
//   kLastEvents events in memory shared with the tool, so the events before the crash survive
//   it; AddDiagnosis adds them (and whether the crash happened again, i.e. is deterministic) to
//   the outcome's detail. Costs one more run, so the commands diagnose each distinct crash once.
// - RunIsolated runs one function in a worker and returns how it ended (run and replay).
#ifndef SEEDGRID_TOOLS_SEEDGRID_ISOLATION_H_
#define SEEDGRID_TOOLS_SEEDGRID_ISOLATION_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "scenarios/swarm.h"
#include "tools/seedgrid/execute.h"
#include "tools/seedgrid/input.h"
#include "tools/seedgrid/process_pool.h"

namespace seedgrid::tools {

inline constexpr const char* kCrashInvariant = "crash";
inline constexpr const char* kHangInvariant = "hang";

// "killed by SIGABRT (signal 6)" or "exited with status 1"; then the telling stderr lines.
std::string CrashCause(const TaskEnd& end);
Outcome OutcomeOf(TaskEnd& end, const scenarios::SwarmDraw& swarm, double run_timeout_s);

struct Diagnosis {
  TaskEnd end;                           // how the second run ended
  std::vector<std::string> last_events;  // described, oldest first
  uint64_t last_time_ns = 0;
  uint64_t events = 0;  // trace events recorded before the end
};
inline constexpr size_t kLastEvents = 24;
Diagnosis Diagnose(const Loaded& loaded, uint64_t seed, double run_timeout_s,
                   const std::optional<scenarios::SwarmDraw>& swarm = std::nullopt);
void AddDiagnosis(Outcome& o, const Diagnosis& d);

// Runs `fn` in one worker process. Exits the tool (status 130) when interrupted.
TaskEnd RunIsolated(const std::function<std::string()>& fn, double run_timeout_s);

}  // namespace seedgrid::tools

#endif  // SEEDGRID_TOOLS_SEEDGRID_ISOLATION_H_
