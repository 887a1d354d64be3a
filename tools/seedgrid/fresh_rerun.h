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
// - A rerun that crashes or answers garbage is an error naming what happened; one that cannot
//   start at all (no /proc, a sandbox) is Unavailable.
// - A fresh process gets a new address layout and hash seeds only with ASLR on (not under
//   `setarch -R` or a debugger that disables it); without it the check is as strong as in-process.
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

// For the tool's own tests: kNextSeed makes every fresh rerun of this process run seed + 1 (a
// difference only the fresh process shows); kNoExec makes every exec fail (no fresh process).
enum class FreshRerunTestMode { kNone, kNextSeed, kNoExec };
void SetFreshRerunTestMode(FreshRerunTestMode mode);

struct FreshRun {
  uint64_t trace_hash = 0;
  bool pass = false;
};

// Runs (scenario, seed, swarm) in a fresh process. Errors: Unavailable when no process could be
// started (fork or exec failed; Execute then warns and checks in process); Internal when it
// died (naming the signal or exit code) or printed no valid answer.
absl::StatusOr<FreshRun> RerunInFreshProcess(const scenarios::Scenario& scenario, uint64_t seed,
                                             const std::optional<scenarios::SwarmDraw>& swarm);

// The `__rerun` command: reads {"scenario": JSON text, "seed": N, "swarm": {...}} on stdin, runs
// it and prints {"trace_hash": "hex", "pass": bool}. Exit 0, or 2 with a message on bad input.
int RerunCommandMain();

}  // namespace seedgrid::tools

#endif  // SEEDGRID_TOOLS_SEEDGRID_FRESH_RERUN_H_
