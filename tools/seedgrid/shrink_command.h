// `seedgrid shrink (REPRO_FILE | --scenario F --seed N) [--out PREFIX] [--max-runs N]`: shrinks
// a failing run to a smaller scenario that fails the same invariant with the same seed.
//
// Contract: the run must fail (a passing seed is an InputError, exit 2). Prints each
// simplification kept, then writes PREFIX.scenario.json and PREFIX.repro.json (the repro comes
// from running the written text once more, so it replays exactly) and prints the shrunk run's
// report. Exit 0 when shrunk.
#ifndef SEEDGRID_TOOLS_SEEDGRID_SHRINK_COMMAND_H_
#define SEEDGRID_TOOLS_SEEDGRID_SHRINK_COMMAND_H_

#include "tools/seedgrid/command.h"

namespace seedgrid::tools {

CommandMain SetUpShrinkCommand(CLI::App& app, const char* commit);

}  // namespace seedgrid::tools

#endif  // SEEDGRID_TOOLS_SEEDGRID_SHRINK_COMMAND_H_
