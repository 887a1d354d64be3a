// `seedgrid suite DIR --seeds K [--first-seed S] [--junit out.xml] [--hashes out.txt]
// [--jobs N] [--check-determinism] [--probes out.json] [--require-probes FILE]`: every scenario
// (*.json, sorted by path) in DIR for seeds S..S+K-1.
//
// Contract: every scenario file (and the required-probes file) is parsed before any run starts (a
// bad file is an InputError). Runs go through the worker pool; "FAIL" lines are printed in
// (scenario, seed) order whatever --jobs is, then the summary table, then the JUnit XML and hashes
// files when asked for, then the probe coverage (probe_report.h). Exit 0 when every run passed
// and every required probe was hit, 1 otherwise.
#ifndef SEEDGRID_TOOLS_SEEDGRID_SUITE_COMMAND_H_
#define SEEDGRID_TOOLS_SEEDGRID_SUITE_COMMAND_H_

#include "tools/seedgrid/command.h"

namespace seedgrid::tools {

CommandMain SetUpSuiteCommand(CLI::App& app, const char* commit);

}  // namespace seedgrid::tools

#endif  // SEEDGRID_TOOLS_SEEDGRID_SUITE_COMMAND_H_
