// Probe coverage of a suite or fuzz campaign (SG_PROBE, engine/base/probe.h): the tally over
// runs, the text report, the `--probes out.json` document and the `--require-probes FILE` check.
//
// Contract:
// - ProbeCoverage is a plain value; Add folds in one run's RunResult::probes. Callers add runs in
//   a deterministic order (the worker pool's delivery order), though the tally does not depend on
//   the order.
// - ProbeReport, ProbeJson, ParseRequiredProbes, MissingProbes and MissingProbesMessage are pure:
//   they return values, print nothing and touch no file. `all` is the catalogue of probe names
//   (ProbeNames()); a probe hit but missing from it (impossible in one binary) is still reported.
// - The required-probes file: one probe name per line; '#' starts a comment; surrounding blanks
//   and empty lines are ignored; a name listed twice counts once. A malformed or unknown name is
//   an error naming FILE:LINE.
// - The glue at the end (flags, reading the file, printing, writing the JSON) is what suite and
//   fuzz call; it throws InputError for bad input (exit 2).
#ifndef SEEDGRID_TOOLS_SEEDGRID_PROBE_REPORT_H_
#define SEEDGRID_TOOLS_SEEDGRID_PROBE_REPORT_H_

#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/status/statusor.h"

namespace CLI {
class App;
}  // namespace CLI

namespace seedgrid::tools {

struct ProbeStat {
  uint64_t hits = 0;       // over all runs
  uint64_t runs = 0;       // runs that hit it at least once
  uint64_t first_run = 0;  // 1-based number (in Add order) of the first run that hit it
};

struct ProbeCoverage {
  uint64_t runs = 0;
  absl::btree_map<std::string, ProbeStat> probes;  // probes hit at least once, by name
  // One run's (name, hits) list, as in RunResult::probes.
  void Add(const std::vector<std::pair<std::string, uint64_t>>& run_probes);
};

// The names of `all` that no run hit, in the order of `all`.
std::vector<std::string> NeverHit(const ProbeCoverage& c, const std::vector<std::string>& all);

// "probes: H of N reached in R runs", one line per probe hit (runs, hits, first run), then the
// never-hit names.
std::string ProbeReport(const ProbeCoverage& c, const std::vector<std::string>& all);

// {"runs": R, "probes": {"name": {"hits": H, "runs": R, "first_run": F}, ...},
//  "never_hit": [...]}.
nlohmann::json ProbeJson(const ProbeCoverage& c, const std::vector<std::string>& all);

// The names listed in a required-probes file's `text`, in file order; `file` names it in errors.
absl::StatusOr<std::vector<std::string>> ParseRequiredProbes(std::string_view text,
                                                             std::string_view file,
                                                             const std::vector<std::string>& all);

// The names of `required` that no run hit, in order.
std::vector<std::string> MissingProbes(const ProbeCoverage& c,
                                       const std::vector<std::string>& required);
// What the command prints when required probes were not reached.
std::string MissingProbesMessage(const std::vector<std::string>& missing, std::string_view file,
                                 uint64_t runs);

// --- Glue for suite and fuzz.

struct ProbeFlags {
  std::string json_path;     // --probes
  std::string require_path;  // --require-probes
};
void AddProbeFlags(CLI::App& app, ProbeFlags& flags);
// The required probes of --require-probes (empty without the flag). Throws InputError.
std::vector<std::string> LoadRequiredProbes(const ProbeFlags& flags);
// Prints the report to `out`, writes --probes, and checks the required probes (printing what is
// missing). Returns false when a required probe was never hit. Throws InputError when the JSON
// file cannot be written.
bool FinishProbes(const ProbeCoverage& c, const ProbeFlags& flags,
                  const std::vector<std::string>& required, std::FILE* out);

}  // namespace seedgrid::tools

#endif  // SEEDGRID_TOOLS_SEEDGRID_PROBE_REPORT_H_
