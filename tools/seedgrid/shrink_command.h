// `seedgrid shrink (REPRO_FILE | --scenario F [--seed N]) [--out PREFIX] [--max-runs N]
// [--emit-test F.json] [--skip-schedule]`: shrinks a failing run to a smaller one that fails the
// same invariant with the same seed — the scenario's structure, then its schedule of fault events
// and workload ops (scenarios/shrink.h).
//
// Contract: the run must fail (a passing seed is an InputError, exit 2); --emit-test's path is
// checked before anything runs (emit_test.h). Prints each simplification kept, the sizes before
// and after (nodes, safety phase, ops, faults, events) and the runs per stage, then writes
// PREFIX.scenario.json and PREFIX.repro.json (the repro comes from running the written text once
// more, so it replays exactly) and prints the shrunk run's report; with --emit-test it writes the
// regression test and runs it once from the file. Exit 0 when shrunk.
#ifndef SEEDGRID_TOOLS_SEEDGRID_SHRINK_COMMAND_H_
#define SEEDGRID_TOOLS_SEEDGRID_SHRINK_COMMAND_H_

#include "tools/seedgrid/command.h"

namespace seedgrid::tools {

CommandMain SetUpShrinkCommand(CLI::App& app, const char* commit);

}  // namespace seedgrid::tools

#endif  // SEEDGRID_TOOLS_SEEDGRID_SHRINK_COMMAND_H_
