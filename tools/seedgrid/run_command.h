// `seedgrid run --scenario F --seed N [--trace out.jsonl] [--repro-out F] [--json]
// [--check-determinism] [--timeline out.json] [--html out.html] [--window 5s] [--nodes n0,n3]
// [--key k33]`: one seeded simulation of a scenario, every invariant checked.
//
// Contract: prints the run header (to stderr with --json), runs the seed, optionally streams
// every trace event as a JSON line to --trace and writes a repro file to --repro-out on failure,
// then prints the report (with --json: the report on stderr and exactly one JSON object on
// stdout). Exit 0 pass, 1 violation or nondeterminism; InputError for bad input.
// `replay` shares the flags and the run-and-report step declared here.
// The timeline flags and files: timeline_output.h.
#ifndef SEEDGRID_TOOLS_SEEDGRID_RUN_COMMAND_H_
#define SEEDGRID_TOOLS_SEEDGRID_RUN_COMMAND_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "scenarios/swarm.h"
#include "tools/seedgrid/campaign.h"
#include "tools/seedgrid/command.h"
#include "tools/seedgrid/input.h"
#include "tools/seedgrid/timeline_output.h"

namespace seedgrid::tools {

// The flags of run and replay.
struct RunFlags {
  std::string scenario;
  std::string seed = "1";
  std::string trace;
  std::string repro_out;
  bool json = false;
  bool check_determinism = false;
  bool profile = false;
  std::string repro_file;  // replay only
  TimelineFlags timeline;
  IsolationFlags isolation;
};

// --trace, --repro-out, --json, --check-determinism, --profile, the timeline flags, --in-process
// and --run-timeout.
void AddRunOutputFlags(CLI::App& app, RunFlags& f);

// The seed to run: `seed` when --seed was given or the file has no fixed seed; else the
// regression test's fixed seed.
uint64_t SeedFor(const Loaded& loaded, uint64_t seed, bool seed_given);

// Runs `seed` of `loaded` in a worker process (in this one with --in-process) and reports it as
// `command` ("run" or "replay"); a crash or hang is reported like a violation, after a second
// run that says whether it is deterministic. With `recorded` (a repro file's record), the report
// says whether the recorded trace hash was reproduced. With `swarm` (a repro file's given swarm)
// the run uses it instead of the seed's draw.
int RunAndReport(std::string_view command, const Loaded& loaded, uint64_t seed, const RunFlags& f,
                 const char* commit, const nlohmann::json* recorded,
                 const std::optional<scenarios::SwarmDraw>& swarm = std::nullopt);

CommandMain SetUpRunCommand(CLI::App& app, const char* commit);

}  // namespace seedgrid::tools

#endif  // SEEDGRID_TOOLS_SEEDGRID_RUN_COMMAND_H_
