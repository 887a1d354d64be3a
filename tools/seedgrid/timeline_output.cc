#include "tools/seedgrid/timeline_output.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <fstream>

#include "absl/strings/str_split.h"
#include "tools/seedgrid/command.h"
#include "tools/seedgrid/timeline_html.h"
#include "tools/seedgrid/timeline_json.h"

namespace seedgrid::tools {

namespace {

int ServersOf(const scenarios::Scenario& s) {
  return s.grid ? s.grid->servers + static_cast<int>(s.grid->joins_at_ms.size()) : 0;
}

// "n3" -> 3, "c2" -> the node of client 2; -1 when it names no node of `s`.
int NodeOf(std::string_view name, const scenarios::Scenario& s) {
  if (name.size() < 2 || name.size() > 6 || (name[0] != 'n' && name[0] != 'c')) return -1;
  int v = 0;
  for (char c : name.substr(1)) {
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  if (name[0] == 'c') v = s.grid && v < s.grid->clients ? ServersOf(s) + v : -1;
  return v < s.nodes ? v : -1;
}

void WriteOrThrow(const std::string& path, const std::string& text, std::string_view flag) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out.flush()) throw InputError{fmt::format("{}: {}: cannot write the file", flag, path)};
}

std::string Title(const Loaded& loaded, uint64_t seed) {
  return fmt::format("{} seed {}", loaded.scenario.name, seed);
}

}  // namespace

void AddTimelineFlags(CLI::App& app, TimelineFlags& f) {
  app.add_option("--timeline", f.json_path,
                 "write the run as Chrome trace-event JSON (open in ui.perfetto.dev or "
                 "chrome://tracing)");
  app.add_option("--html", f.html_path,
                 "write the same window as a self-contained HTML space-time diagram");
  app.add_option("--window", f.window,
                 "virtual time the timeline covers, ending at the violation (or the run's end): "
                 "e.g. 5s, 250ms, 2m, all (default 10s)");
  app.add_option("--nodes", f.nodes, "only these nodes in the timeline, e.g. n0,n3,c2");
  app.add_option("--key", f.key, "only timeline events that touch this key, e.g. k33");
}

TimelineOutput::TimelineOutput(const TimelineFlags& flags, const Loaded& loaded, uint64_t seed)
    : flags_(flags) {
  const bool wanted = !flags.json_path.empty() || !flags.html_path.empty();
  TimelineOptions options;
  for (const auto& [flag, value] :
       {std::pair{"--window", &flags.window}, {"--nodes", &flags.nodes}, {"--key", &flags.key}}) {
    if (!value->empty() && !wanted) {
      throw InputError{fmt::format("{} needs --timeline or --html", flag)};
    }
  }
  if (!flags.window.empty()) {
    const std::optional<uint64_t> w = ParseWindow(flags.window);
    if (!w) {
      throw InputError{fmt::format(
          "--window: '{}' is not a duration (use e.g. 5s, 250ms, 2m or all)", flags.window)};
    }
    options.window_ns = *w;
  }
  if (!flags.nodes.empty()) options.nodes = ParseNodes(flags.nodes, loaded.scenario);
  if (flags.key.find_first_of(" \t\n") != std::string::npos) {
    throw InputError{fmt::format("--key: '{}' is not a key (no spaces)", flags.key)};
  }
  options.key = flags.key;
  if (!wanted) return;
  builder_ = std::make_shared<TimelineBuilder>(std::move(options), LanesOf(loaded.scenario),
                                               Title(loaded, seed));
}

sim::Trace::Sink TimelineOutput::Sink() {
  if (!builder_) return {};
  return [builder = builder_](const sim::TraceEvent& e) { builder->Add(e); };
}

std::string TimelineOutput::Write(const scenarios::RunResult& result) {
  if (!builder_) return "";
  std::optional<TimelineViolation> violation;
  if (result.violation) {
    violation = TimelineViolation{result.violation->invariant, result.violation->detail,
                                  result.violation->virtual_time_ns};
  }
  const Timeline t = builder_->Finish(std::move(violation));
  builder_.reset();
  std::string report;
  const auto write = [&](const std::string& path, const std::string& text, std::string_view what) {
    WriteOrThrow(path, text, what == "timeline" ? "--timeline" : "--html");
    report += fmt::format("  {}: {} ({} KB; {:.3f}..{:.3f} s, {} messages)\n", what, path,
                          (text.size() + 1023) / 1024, static_cast<double>(t.begin_ns) / 1e9,
                          static_cast<double>(t.end_ns) / 1e9, t.messages.size());
  };
  if (!flags_.json_path.empty()) write(flags_.json_path, RenderTraceEventJson(t), "timeline");
  if (!flags_.html_path.empty()) write(flags_.html_path, RenderTimelineHtml(t), "timeline page");
  return report;
}

sim::Trace::Sink TeeSinks(sim::Trace::Sink a, sim::Trace::Sink b) {
  if (!a) return b;
  if (!b) return a;
  return [a = std::move(a), b = std::move(b)](const sim::TraceEvent& e) {
    a(e);
    b(e);
  };
}

std::vector<TimelineLane> LanesOf(const scenarios::Scenario& s) {
  std::vector<TimelineLane> lanes;
  const int servers = ServersOf(s);
  for (int i = 0; i < s.nodes; ++i) {
    std::string name = !s.grid       ? fmt::format("replica n{}", i)
                       : i < servers ? fmt::format("server n{}", i)
                                     : fmt::format("client c{} (n{})", i - servers, i);
    lanes.push_back(TimelineLane{i, std::move(name)});
  }
  return lanes;
}

std::vector<int> ParseNodes(const std::string& text, const scenarios::Scenario& s) {
  std::vector<int> out;
  const std::vector<std::string> names = absl::StrSplit(text, ',');
  for (const std::string& name : names) {
    const int node = NodeOf(name, s);
    if (node < 0) {
      throw InputError{fmt::format(
          "--nodes: '{}' is not a node of this scenario (nodes n0..n{}{}; list them as n0,n3)",
          name, s.nodes - 1,
          s.grid && s.grid->clients > 0 ? fmt::format(", clients c0..c{}", s.grid->clients - 1)
                                        : "")};
    }
    if (std::find(out.begin(), out.end(), node) == out.end()) out.push_back(node);
  }
  return out;
}

}  // namespace seedgrid::tools
