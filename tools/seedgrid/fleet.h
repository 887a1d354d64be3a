// Fleet fuzzing: what one `fuzz` shard leaves behind (summary.json) and how `merge-results`
// folds many shards into one report.
//
// Contract:
// - A shard's --out directory holds its summary.json and one repro file per distinct failure
//   (the smallest run of that failure the shard saw). Repro file names carry the scenario and the
//   seed, and shards never share a seed, so shard directories can also be copied into one.
// - A failure's signature is FailureKey (report.h): the invariant and the detail with digits
//   normalised. The smallest run of a signature is the one with the fewest trace events before
//   the violation, then the lowest seed: a total order, so the merge of shards picks the same run
//   as one unsharded campaign over the same seeds, whatever order runs finished in.
// - Everything a merged report says except wall times and the shard list is a function of the
//   set of runs: 4 shards of `--runs 8` merge to exactly the report of one `--runs 32` campaign
//   with the same seed base (tested by fleet_test.sh).
// - SummaryFromJson and the merge throw InputError naming the file for malformed or conflicting
//   input (the same shard twice, one campaign with two shard counts). The formatters are pure.
#ifndef SEEDGRID_TOOLS_SEEDGRID_FLEET_H_
#define SEEDGRID_TOOLS_SEEDGRID_FLEET_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace seedgrid::tools {

inline constexpr const char* kSummaryFormat = "seedgrid-fuzz-summary-1";
inline constexpr size_t kSeedsListedMax = 20;  // lowest seeds kept per signature
inline constexpr uint64_t kShardsMax = uint64_t{1} << 20;

// One distinct failure: how often it happened and its smallest run.
struct FailureGroup {
  std::string signature;
  std::string invariant;
  uint64_t count = 0;
  std::vector<uint64_t> seeds;  // the lowest kSeedsListedMax failing seeds, ascending
  // The smallest run (see the contract).
  std::string scenario;
  uint64_t seed = 0;
  uint64_t events = 0;
  std::string detail;
  std::string repro;  // repro file, relative to the summary's directory ("" if it was not saved)

  // Folds in one failing run; true when it became the smallest.
  bool Add(const std::string& scenario_name, uint64_t run_seed, uint64_t run_events,
           const std::string& run_detail);
  bool SmallerThan(const std::string& scenario_name, uint64_t run_seed, uint64_t run_events) const;
};

struct ProbeCount {
  uint64_t hits = 0;
  uint64_t runs = 0;
};

// One shard's campaign (a whole campaign when unsharded: shard 0 of 1).
struct ShardSummary {
  std::string commit;
  std::string scenario;
  std::string scenario_path;
  uint64_t shard = 0;
  uint64_t shards = 1;
  uint64_t seed_base = 0;
  bool guided = false;
  uint64_t runs = 0;
  uint64_t failures = 0;
  double wall_s = 0;
  bool interrupted = false;
  std::vector<FailureGroup> distinct;                      // by signature
  std::vector<std::pair<std::string, ProbeCount>> probes;  // by name
};

nlohmann::json SummaryJson(const ShardSummary& s);
// `file` names the source in errors.
ShardSummary SummaryFromJson(const nlohmann::json& j, const std::string& file);

// The fold of several shards: per campaign (scenario, seed base, shard count) its runs and which
// shards are present; failures de-duplicated by signature across everything.
struct CampaignTotals {
  std::string scenario;
  uint64_t seed_base = 0;
  uint64_t shards = 1;
  uint64_t runs = 0;
  uint64_t failures = 0;
  double wall_s = 0;  // added up over shards
  bool interrupted = false;
  std::vector<uint64_t> present;  // shard indexes, ascending
  std::vector<uint64_t> missing;
};

struct MergedResults {
  std::vector<std::string> commits;  // distinct, sorted
  std::vector<CampaignTotals> campaigns;
  uint64_t runs = 0;
  uint64_t failures = 0;
  std::vector<FailureGroup> distinct;  // by signature; `repro` is a path the reader can open
  std::vector<std::pair<std::string, ProbeCount>> probes;
};

// `shards` pairs each summary with its directory (the smallest repro's path is made relative to
// the current directory through it). Throws InputError on the same shard twice.
MergedResults MergeShards(const std::vector<std::pair<std::string, ShardSummary>>& shards);

// The merged totals; each failure's `repro` is where the report's reader finds the copy
// (`repro_dir`/file name, relative to the report).
nlohmann::json MergedJson(const MergedResults& m, const std::string& repro_dir);
// Markdown: totals, campaigns (with missing shards), one section per distinct failure with its
// count, lowest seeds, smallest run and replay command, then probe totals. `repro_dir` is where
// the report's reader finds the copied repro files (relative to the report).
std::string MergedMarkdown(const MergedResults& m, const std::string& repro_dir);
// JUnit XML: one testsuite per scenario; a failing testcase per distinct failure, or one passing
// testcase for a scenario without failures.
std::string MergedJUnitXml(const MergedResults& m, const std::string& repro_dir);

}  // namespace seedgrid::tools

#endif  // SEEDGRID_TOOLS_SEEDGRID_FLEET_H_
