// What the simulation commands print and the report files they write: the header of a run, its
// text report (with the violation), its one-line JSON, the suite's summary table, JUnit XML and
// trace-hash list.
//
// Contract: every function is a pure formatter (it returns text; it prints nothing and writes no
// file), so output formats live here and nowhere else. Wall times are the only values in the
// output that are not determined by the scenario and seed (and, for the header, the commit).
#ifndef SEEDGRID_TOOLS_SEEDGRID_REPORT_H_
#define SEEDGRID_TOOLS_SEEDGRID_REPORT_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tools/seedgrid/execute.h"
#include "tools/seedgrid/input.h"

namespace seedgrid::tools {

// "seedgrid COMMAND  scenario=...  seed=...  commit=..." plus the swarm and clocks drawn (the
// swarm `given` instead, when the run is given one).
std::string RunHeader(std::string_view command, const Loaded& loaded, uint64_t seed,
                      const char* commit,
                      const std::optional<scenarios::SwarmDraw>& given = std::nullopt);
// Counts, network and fault statistics, then the verdict; for a failure the invariant, what,
// where, and the replay command.
std::string RunReport(const Outcome& o, const Loaded& loaded, uint64_t seed);
// The one JSON object `run --json` prints on stdout.
nlohmann::json RunJson(const Outcome& o, const Loaded& loaded, uint64_t seed);
// The line `replay REPRO_FILE` adds: reproduced, or which hash differs from the record.
std::string ReplayVerdict(const Outcome& o, const nlohmann::json& recorded, const char* commit);

// The suite's per-scenario table (with its heading line), one row per entry of `scenarios` in
// order, counting the runs of `runs` whose `loaded` is that entry.
std::string SuiteTable(const std::vector<Loaded>& scenarios, const std::vector<SeedOutcome>& runs);
// JUnit XML: one testsuite per scenario (its time: the scenario's runs added up), one testcase
// per seed (its time: that run's wall time).
std::string SuiteJUnitXml(const std::vector<Loaded>& scenarios,
                          const std::vector<SeedOutcome>& runs, double wall_s);
// `suite --json`: the whole suite as one object — totals, then per scenario its counts, summed
// times and each failed run as `run --json` prints it (docs/user-guide.md lists the fields).
struct SuiteJsonInfo {
  std::string dir;
  uint64_t seeds = 0;
  uint64_t first_seed = 0;
  bool check_determinism = false;
  bool interrupted = false;
  double wall_s = 0;
};
nlohmann::json SuiteJson(const std::vector<Loaded>& scenarios, const std::vector<SeedOutcome>& runs,
                         const SuiteJsonInfo& info);
// "scenario seed trace_hash verdict" per run, in the order of `runs`.
std::string SuiteHashes(const std::vector<SeedOutcome>& runs);

// `s` as XML text or attribute value: markup characters escaped, control characters other than
// tab and newline (not allowed in XML 1.0) as spaces.
std::string XmlEscape(std::string_view s);

// A failure's identity for de-duplication: the invariant and the detail (its first 100
// characters, line breaks as " | ") with every run of digits replaced by '#'. REQUIRES: Failed(o).
std::string FailureKey(const Outcome& o);

}  // namespace seedgrid::tools

#endif  // SEEDGRID_TOOLS_SEEDGRID_REPORT_H_
