#include "tools/seedgrid/probe_report.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>

#include "absl/container/btree_set.h"
#include "engine/base/probe.h"
#include "tools/seedgrid/command.h"
#include "tools/seedgrid/input.h"

namespace seedgrid::tools {

namespace {

constexpr size_t kLineWidth = 100;

// `names` as comma-separated lines of at most kLineWidth characters, each indented by 2.
std::string Wrapped(const std::vector<std::string>& names) {
  std::string out;
  std::string line = " ";
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string item = " " + names[i] + (i + 1 < names.size() ? "," : "");
    if (line.size() + item.size() > kLineWidth && line.size() > 1) {
      out += line + "\n";
      line = " ";
    }
    line += item;
  }
  if (line.size() > 1) out += line + "\n";
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

void ProbeCoverage::Add(const std::vector<std::pair<std::string, uint64_t>>& run_probes) {
  ++runs;
  for (const auto& [name, hits] : run_probes) {
    ProbeStat& stat = probes[name];
    if (stat.runs == 0) stat.first_run = runs;
    stat.hits += hits;
    stat.runs += 1;
  }
}

std::vector<std::string> NeverHit(const ProbeCoverage& c, const std::vector<std::string>& all) {
  std::vector<std::string> never;
  for (const std::string& name : all) {
    if (!c.probes.contains(name)) never.push_back(name);
  }
  return never;
}

std::string ProbeReport(const ProbeCoverage& c, const std::vector<std::string>& all) {
  const std::vector<std::string> never = NeverHit(c, all);
  const size_t known = c.probes.size() + never.size();
  std::string out =
      fmt::format("probes: {} of {} reached in {} runs\n", c.probes.size(), known, c.runs);
  size_t width = 5;
  for (const auto& [name, stat] : c.probes) width = std::max(width, name.size());
  if (!c.probes.empty()) {
    out += fmt::format("  {:<{}}  {:>9}  {:>12}  {:>9}\n", "probe", width, "runs", "hits", "first");
  }
  for (const auto& [name, stat] : c.probes) {
    out += fmt::format("  {:<{}}  {:>9}  {:>12}  {:>9}\n", name, width, stat.runs, stat.hits,
                       stat.first_run);
  }
  if (c.probes.empty() && c.runs > 0) {
    // None hit at all: the runs exercised no instrumented code (e.g. a registered system of
    // one's own, docs/embedding.md); a list of every probe would say nothing more.
    return out;
  }
  if (!never.empty()) out += fmt::format("never hit ({}):\n{}", never.size(), Wrapped(never));
  return out;
}

nlohmann::json ProbeJson(const ProbeCoverage& c, const std::vector<std::string>& all) {
  nlohmann::json probes = nlohmann::json::object();
  for (const auto& [name, stat] : c.probes) {
    probes[name] =
        nlohmann::json{{"hits", stat.hits}, {"runs", stat.runs}, {"first_run", stat.first_run}};
  }
  return nlohmann::json{{"runs", c.runs}, {"probes", probes}, {"never_hit", NeverHit(c, all)}};
}

absl::StatusOr<std::vector<std::string>> ParseRequiredProbes(std::string_view text,
                                                             std::string_view file,
                                                             const std::vector<std::string>& all) {
  std::vector<std::string> required;
  absl::btree_set<std::string> seen;
  size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const size_t end = std::min(text.find('\n'), text.size());
    std::string_view line = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    line = Trim(line.substr(0, std::min(line.find('#'), line.size())));
    if (line.empty()) continue;
    if (!IsValidProbeName(line)) {
      return absl::InvalidArgumentError(
          fmt::format("{}:{}: '{}' is not a probe name (area.what: a-z, 0-9, '_', one '.')", file,
                      line_number, line));
    }
    if (!std::binary_search(all.begin(), all.end(), line)) {
      return absl::InvalidArgumentError(fmt::format(
          "{}:{}: unknown probe '{}' (no SG_PROBE site has this name; see `--probes` for the "
          "list)",
          file, line_number, line));
    }
    if (seen.emplace(line).second) required.emplace_back(line);
  }
  return required;
}

std::vector<std::string> MissingProbes(const ProbeCoverage& c,
                                       const std::vector<std::string>& required) {
  std::vector<std::string> missing;
  for (const std::string& name : required) {
    if (!c.probes.contains(name)) missing.push_back(name);
  }
  return missing;
}

std::string MissingProbesMessage(const std::vector<std::string>& missing, std::string_view file,
                                 uint64_t runs) {
  return fmt::format(
      "FAIL required probes: {} of the probes listed in {} never hit in {} runs (a code path "
      "the suite used to reach is no longer reached):\n{}",
      missing.size(), file, runs, Wrapped(missing));
}

void AddProbeFlags(CLI::App& app, ProbeFlags& flags) {
  app.add_option("--probes", flags.json_path,
                 "write probe coverage as JSON here: {\"runs\", \"probes\": {name: {hits, runs}}, "
                 "\"never_hit\"}");
  app.add_option("--require-probes", flags.require_path,
                 "fail (exit 1) unless every probe listed in this file (one name per line, # "
                 "comments) was hit");
}

std::vector<std::string> LoadRequiredProbes(const ProbeFlags& flags) {
  if (flags.require_path.empty()) return {};
  const std::optional<std::string> text = ReadFile(flags.require_path);
  if (!text) {
    throw InputError{fmt::format("{}: cannot read the required-probes file", flags.require_path)};
  }
  absl::StatusOr<std::vector<std::string>> required =
      ParseRequiredProbes(*text, flags.require_path, ProbeNames());
  if (!required.ok()) throw InputError{std::string(required.status().message())};
  return *std::move(required);
}

bool FinishProbes(const ProbeCoverage& c, const ProbeFlags& flags,
                  const std::vector<std::string>& required, std::FILE* out) {
  const std::vector<std::string> all = ProbeNames();
  std::fputs(("\n" + ProbeReport(c, all)).c_str(), out);
  if (!flags.json_path.empty()) {
    WriteFileOrThrow(flags.json_path, ProbeJson(c, all).dump(2) + "\n");
    std::fprintf(out, "probe coverage JSON: %s\n", flags.json_path.c_str());
  }
  const std::vector<std::string> missing = MissingProbes(c, required);
  if (missing.empty()) return true;
  std::fputs(MissingProbesMessage(missing, flags.require_path, c.runs).c_str(), out);
  return false;
}

}  // namespace seedgrid::tools
