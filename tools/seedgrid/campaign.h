// A campaign: many (scenario, seed) runs on `jobs` cores, as suite and fuzz run them — in worker
// processes by default (process_pool.h: a crash or hang costs one run), or on threads of this
// process with `in_process` (for debuggers; a crash then ends the tool).
//
// Contract:
// - `spec(index)` says which run task `index` is. It is called in this process, once per task,
//   in index order, when the task is handed out (so it may depend on results delivered so far).
// - `deliver(index, spec, outcome, stderr_text)` is called in index order, one call at a time.
//   A run whose worker died is a `crash` outcome and one over `run_timeout_s` a `hang` outcome
//   (isolation.h), not yet diagnosed; `stderr_text` is whatever the run wrote to stderr.
// - `started(index, spec)` when a task is handed out, `ended(index)` when its run ends (worker
//   processes: as soon as its result arrives, in any order; in-process: just before its
//   delivery), `tick()` about once a second (worker processes only), `more()` before each
//   hand-out (a time budget): all optional, all called one at a time.
// - On SIGINT/SIGTERM/SIGHUP the campaign stops and returns interrupted, naming the runs in
//   flight (worker processes only).
#ifndef SEEDGRID_TOOLS_SEEDGRID_CAMPAIGN_H_
#define SEEDGRID_TOOLS_SEEDGRID_CAMPAIGN_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "scenarios/swarm.h"
#include "tools/seedgrid/execute.h"
#include "tools/seedgrid/input.h"

namespace CLI {
class App;
}  // namespace CLI

namespace seedgrid::tools {

struct RunSpec {
  size_t scenario = 0;  // index into the campaign's scenarios
  uint64_t seed = 0;
  std::optional<scenarios::SwarmDraw> swarm;  // given (fuzz --guided); else the seed's draw
};

struct CampaignOptions {
  int jobs = 1;
  uint64_t tasks_max = 0;
  uint64_t results_waiting_max = 1024;
  bool in_process = false;
  double run_timeout_s = 0;  // 0 = none (worker processes only)
  bool check_determinism = false;
};

struct CampaignHooks {
  std::function<RunSpec(uint64_t index)> spec;
  std::function<void(uint64_t index, const RunSpec& spec, Outcome& outcome,
                     const std::string& stderr_text)>
      deliver;
  std::function<void(uint64_t index, const RunSpec& spec)> started;
  std::function<void(uint64_t index)> ended;
  std::function<void()> tick;
  std::function<bool()> more;
};

struct CampaignEnd {
  uint64_t delivered = 0;
  bool interrupted = false;
  std::vector<std::pair<RunSpec, double>> in_flight;  // (run, seconds running) when interrupted
};

// --in-process and --run-timeout, shared by suite and fuzz (and run/replay).
struct IsolationFlags {
  bool in_process = false;
  std::string run_timeout = "10m";
  double run_timeout_s() const;  // parsed; throws InputError
};
void AddIsolationFlags(CLI::App& app, IsolationFlags& f);

// Diagnoses a crash outcome (isolation.h: re-runs the seed to keep its last events); any other
// outcome is left alone.
void DiagnoseIfCrashed(const Loaded& loaded, uint64_t seed, double run_timeout_s, Outcome& o,
                       const std::optional<scenarios::SwarmDraw>& swarm = std::nullopt);

// One run as the flags say: in a worker process (a crash or hang becomes the outcome, a crash
// diagnosed) or, with --in-process, in this one.
Outcome ExecuteAsFlagged(const Loaded& loaded, uint64_t seed, const IsolationFlags& f);

CampaignEnd RunCampaign(const std::vector<Loaded>& scenarios, const CampaignOptions& options,
                        const CampaignHooks& hooks);

}  // namespace seedgrid::tools

#endif  // SEEDGRID_TOOLS_SEEDGRID_CAMPAIGN_H_
