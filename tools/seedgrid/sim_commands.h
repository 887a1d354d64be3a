// The simulation commands of the `seedgrid` tool: run, replay, suite, fuzz (CLI11 front end,
// nlohmann JSON for --json output, repro files and trace lines).
#ifndef SEEDGRID_TOOLS_SEEDGRID_SIM_COMMANDS_H_
#define SEEDGRID_TOOLS_SEEDGRID_SIM_COMMANDS_H_

#include <string_view>

namespace seedgrid::tools {

// True for "run", "replay", "suite" and "fuzz".
bool IsSimCommand(std::string_view command);
// argv[0] is the command name. Returns the process exit code: 0 pass, 1 violation (or
// nondeterminism), 2 usage or input error.
int SimCommandMain(int argc, char** argv, const char* commit);

}  // namespace seedgrid::tools

#endif  // SEEDGRID_TOOLS_SEEDGRID_SIM_COMMANDS_H_
