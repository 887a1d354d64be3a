// `seedgrid replay (REPRO_FILE | --scenario F --seed N) [run's output flags]`: reproduces a run
// bit for bit.
//
// Contract: exactly one of REPRO_FILE or --scenario (with --seed, default 1) is given; otherwise
// InputError. Runs and reports like `run` under the name "replay"; from a repro file the report
// also says whether the recorded trace hash was reproduced. Exit 0 pass, 1 violation.
#ifndef SEEDGRID_TOOLS_SEEDGRID_REPLAY_COMMAND_H_
#define SEEDGRID_TOOLS_SEEDGRID_REPLAY_COMMAND_H_

#include "tools/seedgrid/command.h"

namespace seedgrid::tools {

CommandMain SetUpReplayCommand(CLI::App& app, const char* commit);

}  // namespace seedgrid::tools

#endif  // SEEDGRID_TOOLS_SEEDGRID_REPLAY_COMMAND_H_
