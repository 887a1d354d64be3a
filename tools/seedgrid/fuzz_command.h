// `seedgrid fuzz --scenario F (--time 60s | --runs N) [--jobs N] [--shard i/n] [--out DIR]
// [--seed-base S] [--check-determinism] [--guided] [--probes out.json] [--require-probes FILE]`:
// fresh seeds of one scenario until the budget is spent.
//
// Contract: shard i of n runs seeds S + k*n + i for k = 0, 1, ... (so shards never repeat each
// other's seeds); S is drawn from the OS when not given and printed first. Runs go through the
// worker pool, so results are handled in seed order: the smallest run of each distinct failure
// (FailureKey; smallest as fleet.h defines it) is saved as DIR/NAME-seed-N.repro.json, replacing
// a larger one, and printed with its replay command. At the end (also when interrupted) the
// shard writes DIR/summary.json (fleet.h) for `merge-results`; a DIR holding another shard's
// summary is refused. A
// time budget stops new runs; runs already started finish. The probe coverage is printed at the
// end (probe_report.h). With --guided most runs take a mutated swarm draw from a corpus of runs
// that reached rare probes (guided.h); their repro files record the draw. Exit 0 when no run
// failed and every required probe was hit, else 1.
#ifndef SEEDGRID_TOOLS_SEEDGRID_FUZZ_COMMAND_H_
#define SEEDGRID_TOOLS_SEEDGRID_FUZZ_COMMAND_H_

#include "tools/seedgrid/command.h"

namespace seedgrid::tools {

CommandMain SetUpFuzzCommand(CLI::App& app, const char* commit);

}  // namespace seedgrid::tools

#endif  // SEEDGRID_TOOLS_SEEDGRID_FUZZ_COMMAND_H_
