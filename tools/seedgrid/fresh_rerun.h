// The determinism check's second run, in a fresh process: the running program (/proc/self/exe)
// exec'd with the hidden command `__rerun`, which reads the run on stdin and answers with its
// trace hash and verdict on stdout.
//
// Why a fresh process and not a fork: a forked worker shares its parent's address layout and
// per-process hash seeds, so a hazard that is stable within one process (iteration order of a
// pointer-keyed or per-process-seeded hash container, an address in a hash) gives the same trace
// twice and escapes a check whose two runs share a process. An exec'd program gets a new layout
// and new seeds (ASLR), and costs a few milliseconds to start.
//
// Contract:
// - Fresh reruns are on only in a program whose main went through ToolMain (tool.h), which
//   handles `__rerun` before any command; elsewhere (a unit test calling Execute) the check's
//   second run stays in the calling process. The exec'd program is the same binary, so systems an
//   embedding program registers before ToolMain exist in the rerun too.
// - The child dies with the thread that started it (PR_SET_PDEATHSIG): a worker killed for a
//   timeout or an interrupted suite leaves no rerun behind. Its stderr is the caller's.
// - A rerun that cannot start, crashes or answers garbage is an error naming what happened.
#ifndef SEEDGRID_TOOLS_SEEDGRID_FRESH_RERUN_H_
#define SEEDGRID_TOOLS_SEEDGRID_FRESH_RERUN_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "scenarios/scenario.h"
#include "scenarios/swarm.h"

namespace seedgrid::tools {

// The hidden command's name (ToolMain dispatches it; it is in no usage text).
inline constexpr const char* kRerunCommand = "__rerun";

// Turns fresh reruns on for this process (ToolMain calls it).
void EnableFreshReruns();
bool FreshRerunsEnabled();

// For the tool's own test: every fresh rerun of this process runs seed + 1 instead, so the check
// must report a difference that only the fresh process shows.
void PlantCrossProcessDifferenceForTest();

struct FreshRun {
  uint64_t trace_hash = 0;
  bool pass = false;
};

// Runs (scenario, seed, swarm) in a fresh process. Errors: the exec'd program could not start,
// died (the status names the signal or exit code), or printed no valid answer.
absl::StatusOr<FreshRun> RerunInFreshProcess(const scenarios::Scenario& scenario, uint64_t seed,
                                             const std::optional<scenarios::SwarmDraw>& swarm);

// The `__rerun` command: reads {"scenario": JSON text, "seed": N, "swarm": {...}} on stdin, runs
// it and prints {"trace_hash": "hex", "pass": bool}. Exit 0, or 2 with a message on bad input.
int RerunCommandMain();

}  // namespace seedgrid::tools

#endif  // SEEDGRID_TOOLS_SEEDGRID_FRESH_RERUN_H_
