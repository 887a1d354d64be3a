#include "tools/seedgrid/fleet.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <tuple>

#include "tools/seedgrid/command.h"
#include "tools/seedgrid/report.h"

namespace seedgrid::tools {

using nlohmann::json;

namespace {

// The JSON field `key` of `j` as T, or an InputError naming the file and the field.
template <typename T>
T Field(const json& j, const char* key, const std::string& file) {
  if (!j.is_object() || !j.contains(key)) {
    throw InputError{fmt::format("{}: missing field '{}'", file, key)};
  }
  try {
    return j.at(key).get<T>();
  } catch (const json::exception&) {
    throw InputError{fmt::format("{}: field '{}' has the wrong type", file, key)};
  }
}

json ProbesJson(const std::vector<std::pair<std::string, ProbeCount>>& probes) {
  json out = json::object();
  for (const auto& [name, c] : probes) out[name] = {{"hits", c.hits}, {"runs", c.runs}};
  return out;
}

json GroupJson(const FailureGroup& g) {
  return {{"signature", g.signature}, {"invariant", g.invariant}, {"count", g.count},
          {"seeds", g.seeds},         {"scenario", g.scenario},   {"seed", g.seed},
          {"events", g.events},       {"detail", g.detail},       {"repro", g.repro}};
}

// A repro file named in a summary: a bare file name in the shard's directory, nothing else (a
// summary must not make the merge copy files from elsewhere).
bool BareFileName(const std::string& name) {
  return name.empty() || (name.find('/') == std::string::npos && name != "." && name != "..");
}

FailureGroup GroupFromJson(const json& j, const std::string& where) {
  FailureGroup g{.signature = Field<std::string>(j, "signature", where),
                 .invariant = Field<std::string>(j, "invariant", where),
                 .count = Field<uint64_t>(j, "count", where),
                 .seeds = Field<std::vector<uint64_t>>(j, "seeds", where),
                 .scenario = Field<std::string>(j, "scenario", where),
                 .seed = Field<uint64_t>(j, "seed", where),
                 .events = Field<uint64_t>(j, "events", where),
                 .detail = Field<std::string>(j, "detail", where),
                 .repro = Field<std::string>(j, "repro", where)};
  if (g.count == 0 || g.seeds.empty() || !std::is_sorted(g.seeds.begin(), g.seeds.end())) {
    throw InputError{fmt::format("{}: a failure needs count > 0 and ascending seeds", where)};
  }
  if (!BareFileName(g.repro)) {
    throw InputError{
        fmt::format("{}: repro '{}' must be a file name in the shard's directory", where, g.repro)};
  }
  return g;
}

// Folds `from` into `into` (same signature): counts add, seeds merge, the smaller run wins.
void FoldGroup(FailureGroup& into, const FailureGroup& from, const std::string& from_dir) {
  into.count += from.count;
  std::set<uint64_t> seeds(into.seeds.begin(), into.seeds.end());
  seeds.insert(from.seeds.begin(), from.seeds.end());
  into.seeds.assign(seeds.begin(), seeds.end());
  if (into.seeds.size() > kSeedsListedMax) into.seeds.resize(kSeedsListedMax);
  if (from.SmallerThan(into.scenario, into.seed, into.events) || into.scenario.empty()) {
    into.scenario = from.scenario;
    into.seed = from.seed;
    into.events = from.events;
    into.detail = from.detail;
    into.invariant = from.invariant;
    into.repro = from.repro.empty() ? "" : (std::filesystem::path(from_dir) / from.repro).string();
  }
}

std::string ReproLink(const FailureGroup& g, const std::string& repro_dir) {
  if (g.repro.empty()) return "";
  return (std::filesystem::path(repro_dir) / std::filesystem::path(g.repro).filename()).string();
}

std::string SeedList(const FailureGroup& g) {
  std::string out;
  for (uint64_t s : g.seeds) out += (out.empty() ? "" : ", ") + std::to_string(s);
  return g.count > g.seeds.size() ? out + ", …" : out;
}

}  // namespace

bool FailureGroup::SmallerThan(const std::string& scenario_name, uint64_t run_seed,
                               uint64_t run_events) const {
  return std::tie(events, scenario, seed) < std::tie(run_events, scenario_name, run_seed);
}

bool FailureGroup::Add(const std::string& scenario_name, uint64_t run_seed, uint64_t run_events,
                       const std::string& run_detail) {
  ++count;
  seeds.insert(std::upper_bound(seeds.begin(), seeds.end(), run_seed), run_seed);
  if (seeds.size() > kSeedsListedMax) seeds.pop_back();
  if (count > 1 && SmallerThan(scenario_name, run_seed, run_events)) return false;
  scenario = scenario_name;
  seed = run_seed;
  events = run_events;
  detail = run_detail;
  return true;
}

json SummaryJson(const ShardSummary& s) {
  json distinct = json::array();
  for (const FailureGroup& g : s.distinct) distinct.push_back(GroupJson(g));
  return {{"format", kSummaryFormat},
          {"commit", s.commit},
          {"scenario", s.scenario},
          {"scenario_path", s.scenario_path},
          {"shard", s.shard},
          {"shards", s.shards},
          {"seed_base", s.seed_base},
          {"guided", s.guided},
          {"runs", s.runs},
          {"failures", s.failures},
          {"wall_s", s.wall_s},
          {"interrupted", s.interrupted},
          {"distinct", std::move(distinct)},
          {"probes", ProbesJson(s.probes)}};
}

ShardSummary SummaryFromJson(const json& j, const std::string& file) {
  if (!j.is_object() || !j.contains("format") || !j["format"].is_string() ||
      j["format"].get<std::string>() != kSummaryFormat) {
    throw InputError{
        fmt::format("{}: not a fuzz summary (want \"format\": \"{}\")", file, kSummaryFormat)};
  }
  ShardSummary s{.commit = Field<std::string>(j, "commit", file),
                 .scenario = Field<std::string>(j, "scenario", file),
                 .scenario_path = Field<std::string>(j, "scenario_path", file),
                 .shard = Field<uint64_t>(j, "shard", file),
                 .shards = Field<uint64_t>(j, "shards", file),
                 .seed_base = Field<uint64_t>(j, "seed_base", file),
                 .guided = Field<bool>(j, "guided", file),
                 .runs = Field<uint64_t>(j, "runs", file),
                 .failures = Field<uint64_t>(j, "failures", file),
                 .wall_s = Field<double>(j, "wall_s", file),
                 .interrupted = Field<bool>(j, "interrupted", file)};
  if (s.shards == 0 || s.shards > kShardsMax || s.shard >= s.shards) {
    throw InputError{fmt::format("{}: shard {} of {} is not 0 <= shard < shards <= {}", file,
                                 s.shard, s.shards, kShardsMax)};
  }
  const json distinct = Field<json>(j, "distinct", file);
  if (!distinct.is_array()) throw InputError{fmt::format("{}: 'distinct' is not a list", file)};
  for (size_t i = 0; i < distinct.size(); ++i) {
    s.distinct.push_back(GroupFromJson(distinct[i], fmt::format("{}: distinct[{}]", file, i)));
  }
  const json probes = Field<json>(j, "probes", file);
  if (!probes.is_object()) throw InputError{fmt::format("{}: 'probes' is not an object", file)};
  for (const auto& [name, c] : probes.items()) {
    const std::string where = fmt::format("{}: probes.{}", file, name);
    s.probes.emplace_back(
        name, ProbeCount{Field<uint64_t>(c, "hits", where), Field<uint64_t>(c, "runs", where)});
  }
  return s;
}

MergedResults MergeShards(const std::vector<std::pair<std::string, ShardSummary>>& shards) {
  MergedResults m;
  std::set<std::string> commits;
  std::map<std::tuple<std::string, uint64_t, uint64_t>, CampaignTotals> campaigns;
  std::map<std::pair<std::string, uint64_t>, std::string> seen;  // (scenario, base) -> a file
  std::map<std::string, FailureGroup> groups;
  std::map<std::string, ProbeCount> probes;
  for (const auto& [dir, s] : shards) {
    commits.insert(s.commit);
    const auto [other, fresh] = seen.emplace(std::pair(s.scenario, s.seed_base), dir);
    if (!fresh && campaigns.count({s.scenario, s.seed_base, s.shards}) == 0) {
      throw InputError{
          fmt::format("{}: campaign '{}' (seed base {}) has {} shards here and another count in {}",
                      dir, s.scenario, s.seed_base, s.shards, other->second)};
    }
    CampaignTotals& c = campaigns[{s.scenario, s.seed_base, s.shards}];
    if (std::find(c.present.begin(), c.present.end(), s.shard) != c.present.end()) {
      throw InputError{fmt::format("{}: shard {}/{} of '{}' (seed base {}) is given twice", dir,
                                   s.shard, s.shards, s.scenario, s.seed_base)};
    }
    c.scenario = s.scenario;
    c.seed_base = s.seed_base;
    c.shards = s.shards;
    c.runs += s.runs;
    c.failures += s.failures;
    c.wall_s += s.wall_s;
    c.interrupted = c.interrupted || s.interrupted;
    c.present.insert(std::upper_bound(c.present.begin(), c.present.end(), s.shard), s.shard);
    m.runs += s.runs;
    m.failures += s.failures;
    for (const FailureGroup& g : s.distinct) FoldGroup(groups[g.signature], g, dir);
    for (const auto& [name, p] : s.probes) {
      probes[name].hits += p.hits;
      probes[name].runs += p.runs;
    }
  }
  for (auto& [key, c] : campaigns) {
    for (uint64_t i = 0; i < c.shards; ++i) {
      if (!std::binary_search(c.present.begin(), c.present.end(), i)) c.missing.push_back(i);
    }
    m.campaigns.push_back(std::move(c));
  }
  for (auto& [sig, g] : groups) {
    g.signature = sig;
    m.distinct.push_back(std::move(g));
  }
  m.probes.assign(probes.begin(), probes.end());
  m.commits.assign(commits.begin(), commits.end());
  return m;
}

json MergedJson(const MergedResults& m, const std::string& repro_dir) {
  json campaigns = json::array();
  for (const CampaignTotals& c : m.campaigns) {
    campaigns.push_back({{"scenario", c.scenario},
                         {"seed_base", c.seed_base},
                         {"shards", c.shards},
                         {"runs", c.runs},
                         {"failures", c.failures},
                         {"wall_s", c.wall_s},
                         {"interrupted", c.interrupted},
                         {"present", c.present},
                         {"missing", c.missing}});
  }
  json distinct = json::array();
  for (FailureGroup g : m.distinct) {
    g.repro = ReproLink(g, repro_dir);  // where the report's reader finds it
    distinct.push_back(GroupJson(g));
  }
  return {{"format", "seedgrid-fuzz-merged-1"},
          {"commits", m.commits},
          {"runs", m.runs},
          {"failures", m.failures},
          {"campaigns", std::move(campaigns)},
          {"distinct", std::move(distinct)},
          {"probes", ProbesJson(m.probes)}};
}

std::string MergedMarkdown(const MergedResults& m, const std::string& repro_dir) {
  std::string md = "# seedgrid fuzzing report\n\n";
  md += fmt::format("{} runs, {} failed, {} distinct failures.\n\n", m.runs, m.failures,
                    m.distinct.size());
  md +=
      "## Campaigns\n\n| scenario | seed base | shards | runs | failures | wall s (summed) | "
      "missing shards |\n| --- | ---: | ---: | ---: | ---: | ---: | --- |\n";
  for (const CampaignTotals& c : m.campaigns) {
    std::string missing;
    for (uint64_t i : c.missing) missing += (missing.empty() ? "" : ", ") + std::to_string(i);
    md += fmt::format("| {} | {} | {} | {} | {} | {:.1f} | {}{} |\n", c.scenario, c.seed_base,
                      c.shards, c.runs, c.failures, c.wall_s, missing.empty() ? "none" : missing,
                      c.interrupted ? " (interrupted)" : "");
  }
  std::string commits;
  for (const std::string& c : m.commits) commits += (commits.empty() ? "" : ", ") + c;
  md += fmt::format("\nCommit{}: {}\n\n## Distinct failures\n\n", m.commits.size() > 1 ? "s" : "",
                    commits);
  if (m.distinct.empty()) md += "None.\n";
  for (size_t i = 0; i < m.distinct.size(); ++i) {
    const FailureGroup& g = m.distinct[i];
    md += fmt::format("### {}. `{}`\n\n- runs: {} (seeds {})\n- smallest: {} seed {} ({} events)\n",
                      i + 1, g.signature, g.count, SeedList(g), g.scenario, g.seed, g.events);
    const std::string link = ReproLink(g, repro_dir);
    md += link.empty() ? "- repro: not saved\n"
                       : fmt::format("- repro: [{}]({})\n- replay: `{} replay {}`\n", link, link,
                                     ProgramName(), link);
    md += fmt::format("\n```\n{}\n```\n\n", g.detail);
  }
  uint64_t hit = 0;
  for (const auto& [name, p] : m.probes) hit += p.hits > 0;
  md += fmt::format(
      "\n## Probes\n\n{} probes reached.\n\n| probe | runs | hits |\n| --- | ---: | "
      "---: |\n",
      hit);
  for (const auto& [name, p] : m.probes)
    md += fmt::format("| {} | {} | {} |\n", name, p.runs, p.hits);
  return md;
}

std::string MergedJUnitXml(const MergedResults& m, const std::string& repro_dir) {
  std::map<std::string, std::pair<uint64_t, double>> scenarios;  // name -> (runs, wall_s)
  for (const CampaignTotals& c : m.campaigns) {
    scenarios[c.scenario].first += c.runs;
    scenarios[c.scenario].second += c.wall_s;
  }
  std::string body;
  size_t tests = 0;
  for (const auto& [name, totals] : scenarios) {
    std::string cases;
    size_t failures = 0;
    for (const FailureGroup& g : m.distinct) {
      if (g.scenario != name) continue;
      ++failures;
      const std::string link = ReproLink(g, repro_dir);
      cases += fmt::format(
          "    <testcase classname=\"seedgrid.fuzz.{}\" name=\"{}\">\n      <failure "
          "message=\"{}\">{} runs; smallest: seed {} ({} events)\n{}\nreplay: {} replay "
          "{}</failure>\n    </testcase>\n",
          XmlEscape(name), XmlEscape(g.signature), XmlEscape(g.invariant), g.count, g.seed,
          g.events, XmlEscape(g.detail), ProgramName(),
          XmlEscape(link.empty() ? "(repro not saved)" : link));
    }
    if (failures == 0) {
      cases = fmt::format(
          "    <testcase classname=\"seedgrid.fuzz.{}\" name=\"{} runs\" "
          "time=\"{:.3f}\"/>\n",
          XmlEscape(name), totals.first, totals.second);
    }
    const size_t n = std::max<size_t>(failures, 1);
    tests += n;
    body += fmt::format(
        "  <testsuite name=\"fuzz {}\" tests=\"{}\" failures=\"{}\" "
        "time=\"{:.3f}\">\n{}  </testsuite>\n",
        XmlEscape(name), n, failures, totals.second, cases);
  }
  return fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"seedgrid fuzz\" "
      "tests=\"{}\" failures=\"{}\">\n{}</testsuites>\n",
      tests, m.distinct.size(), body);
}

}  // namespace seedgrid::tools
