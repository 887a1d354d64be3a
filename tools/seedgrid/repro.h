// Repro files and replay commands: how a failing run is written down so that anyone can run it
// again bit for bit.
//
// Contract:
// - A repro file is JSON with format "seedgrid-repro-1": the scenario's path and exact text, the
//   seed, the swarm (as text, and field by field in "swarm_draw"), the commit, the trace hash and
//   the violation (see docs/user-guide.md). When the run was given its swarm instead of drawing it
//   from the seed (`fuzz --guided`), "swarm_given" is true and LoadRepro returns the draw, so the
//   run replays bit for bit. LoadRepro accepts exactly what WriteRepro writes (and hand-edited
//   files that keep the required fields); anything else is an InputError naming the file.
// - ReplayCommand is the command line every report prints for a failing seed.
#ifndef SEEDGRID_TOOLS_SEEDGRID_REPRO_H_
#define SEEDGRID_TOOLS_SEEDGRID_REPRO_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "tools/seedgrid/execute.h"
#include "tools/seedgrid/input.h"

namespace seedgrid::tools {

// "seedgrid replay --scenario PATH --seed N", plus " --check-determinism" for a seed that failed
// the determinism check (a plain replay runs it once and would pass).
std::string ReplayCommand(const std::string& path, uint64_t seed, bool nondeterministic = false);

// The violation as JSON (invariant, detail, where, replay command); null for a pass.
nlohmann::json ViolationJson(const Outcome& o, const Loaded& loaded, uint64_t seed);

// A swarm draw field by field, and back. SwarmFromJson throws InputError naming `where` for a
// missing or mistyped field.
nlohmann::json SwarmJson(const scenarios::SwarmDraw& swarm);
scenarios::SwarmDraw SwarmFromJson(const nlohmann::json& j, const std::string& where);
// Whether the run used another swarm than the one its seed draws (it was given one).
bool SwarmGiven(const Outcome& o, const Loaded& loaded, uint64_t seed);

// The whole repro record of a run.
nlohmann::json ReproJson(const Outcome& o, const Loaded& loaded, uint64_t seed, const char* commit);
// ReproJson pretty-printed to `path`; throws InputError when the file cannot be written.
void WriteRepro(const std::string& path, const Outcome& o, const Loaded& loaded, uint64_t seed,
                const char* commit);

// Where fuzz saves a distinct failure: DIR/NAME-seed-N.repro.json, with the scenario name made
// one safe path segment.
std::string FuzzReproPath(const std::string& out_dir, const std::string& scenario_name,
                          uint64_t seed);

// A repro file read back: the scenario to run, the seed, the swarm when the run was given one,
// and the whole record (for the recorded trace hash and commit).
struct Repro {
  Loaded loaded;
  uint64_t seed = 0;
  nlohmann::json record;
  std::optional<scenarios::SwarmDraw> swarm;  // valid for the scenario (ValidateSwarm)
};
Repro LoadRepro(const std::string& file);

}  // namespace seedgrid::tools

#endif  // SEEDGRID_TOOLS_SEEDGRID_REPRO_H_
