// `seedgrid merge-results DIR... --out REPORT_DIR [--allow-missing-shards]`: folds the
// summary.json of many fuzz shards (fleet.h) into one report.
//
// Contract: each DIR is a shard's --out directory, or a directory whose immediate
// subdirectories are (as a CI system's artifact download lays them out). REPORT_DIR receives
// report.md, junit.xml, summary.json (the merged totals) and repros/ with the smallest repro
// file of each distinct failure. Exit 0 when no shard found a failure, 1 when one did, 2 on bad
// input: no summary found, a malformed one, the same shard twice, or a campaign with missing
// shards (unless --allow-missing-shards; the report lists them either way).
#ifndef SEEDGRID_TOOLS_SEEDGRID_MERGE_RESULTS_COMMAND_H_
#define SEEDGRID_TOOLS_SEEDGRID_MERGE_RESULTS_COMMAND_H_

#include "tools/seedgrid/command.h"

namespace seedgrid::tools {

CommandMain SetUpMergeResultsCommand(CLI::App& app, const char* commit);

}  // namespace seedgrid::tools

#endif  // SEEDGRID_TOOLS_SEEDGRID_MERGE_RESULTS_COMMAND_H_
