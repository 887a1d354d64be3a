#include "tools/seedgrid/merge_results_command.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tools/seedgrid/command.h"
#include "tools/seedgrid/fleet.h"
#include "tools/seedgrid/input.h"

namespace seedgrid::tools {

namespace {

namespace fs = std::filesystem;

struct MergeFlags {
  std::vector<std::string> dirs;
  std::string out = "fuzz-report";
  bool allow_missing = false;
};

// The summary.json files `dir` stands for: its own, else those of its immediate subdirectories
// (sorted, so the merge reads them in one order everywhere).
std::vector<std::string> SummaryFiles(const std::string& dir) {
  if (fs::is_regular_file(fs::path(dir) / "summary.json")) {
    return {(fs::path(dir) / "summary.json").string()};
  }
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw InputError{fmt::format("{}: not a directory", dir)};
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const fs::path summary = entry.path() / "summary.json";
    if (entry.is_directory() && fs::is_regular_file(summary)) files.push_back(summary.string());
  }
  if (ec) throw InputError{fmt::format("{}: cannot list the directory: {}", dir, ec.message())};
  if (files.empty()) {
    throw InputError{fmt::format(
        "{}: no summary.json in it or in its subdirectories (is it a fuzz --out directory?)", dir)};
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<std::pair<std::string, ShardSummary>> LoadShards(const std::vector<std::string>& dirs) {
  std::vector<std::pair<std::string, ShardSummary>> shards;
  for (const std::string& dir : dirs) {
    for (const std::string& file : SummaryFiles(dir)) {
      const std::optional<std::string> text = ReadFile(file);
      if (!text) throw InputError{fmt::format("{}: cannot read", file)};
      const nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
      if (j.is_discarded()) throw InputError{fmt::format("{}: not valid JSON", file)};
      shards.emplace_back(fs::path(file).parent_path().string(), SummaryFromJson(j, file));
    }
  }
  return shards;
}

// Copies each distinct failure's smallest repro into OUT/repros.
void CopyRepros(const MergedResults& m, const std::string& out) {
  const fs::path dir = fs::path(out) / "repros";
  CreateDirectoryOrThrow(dir.string(), "--out");
  for (const FailureGroup& g : m.distinct) {
    if (g.repro.empty()) continue;
    std::error_code ec;
    fs::copy_file(g.repro, dir / fs::path(g.repro).filename(), fs::copy_options::overwrite_existing,
                  ec);
    if (ec) {
      throw InputError{fmt::format("{}: cannot copy the repro file to {}: {}", g.repro,
                                   dir.string(), ec.message())};
    }
  }
}

int RunMerge(const MergeFlags& f) {
  const std::vector<std::pair<std::string, ShardSummary>> shards = LoadShards(f.dirs);
  const MergedResults m = MergeShards(shards);
  std::string missing;
  for (const CampaignTotals& c : m.campaigns) {
    for (uint64_t i : c.missing)
      missing += fmt::format(" {} shard {}/{};", c.scenario, i, c.shards);
  }
  CreateDirectoryOrThrow(f.out, "--out");
  CopyRepros(m, f.out);
  WriteFileOrThrow(f.out + "/report.md", MergedMarkdown(m, "repros"));
  WriteFileOrThrow(f.out + "/junit.xml", MergedJUnitXml(m, "repros"));
  WriteFileOrThrow(f.out + "/summary.json", MergedJson(m, "repros").dump(2) + "\n");
  std::printf("merged %zu shard summaries: %llu runs, %llu failed, %zu distinct failures\n",
              shards.size(), static_cast<unsigned long long>(m.runs),
              static_cast<unsigned long long>(m.failures), m.distinct.size());
  for (const FailureGroup& g : m.distinct) {
    std::printf("  %s  (%llu runs; smallest: %s seed %llu)\n", g.signature.c_str(),
                static_cast<unsigned long long>(g.count), g.scenario.c_str(),
                static_cast<unsigned long long>(g.seed));
  }
  if (m.commits.size() > 1) {
    std::fprintf(stderr, "%s merge-results: warning: the shards ran %zu different commits\n",
                 ProgramName(), m.commits.size());
  }
  std::printf("report: %s/report.md, %s/junit.xml, %s/summary.json\n", f.out.c_str(), f.out.c_str(),
              f.out.c_str());
  if (!missing.empty()) {
    std::fprintf(stderr, "%s merge-results: missing shards:%s\n", ProgramName(), missing.c_str());
    if (!f.allow_missing) {
      throw InputError{
          "shards are missing (see above and the report); pass "
          "--allow-missing-shards to accept a partial campaign"};
    }
  }
  return m.distinct.empty() ? kExitOk : kExitViolation;
}

}  // namespace

CommandMain SetUpMergeResultsCommand(CLI::App& app, const char* /*commit*/) {
  app.description(
      "Merges the summary.json of fuzz shards (fuzz --shard i/n --out DIR) into one report: "
      "failures de-duplicated by signature across shards, each with its smallest repro; "
      "report.md, junit.xml, summary.json and repros/ in --out. Exit 0: no failure; 1: "
      "failures; 2: bad input or missing shards.");
  auto f = std::make_shared<MergeFlags>();
  app.add_option("DIR", f->dirs, "shard --out directories, or directories whose subdirectories are")
      ->required();
  app.add_option("--out", f->out, "report directory (created)")->capture_default_str();
  app.add_flag("--allow-missing-shards", f->allow_missing,
               "accept campaigns with shards missing (still listed in the report)");
  return [f] { return RunMerge(*f); };
}

}  // namespace seedgrid::tools
