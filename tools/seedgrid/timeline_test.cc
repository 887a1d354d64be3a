// The timeline of real short runs, checked against the trace-event format: flows have both ends,
// B/E slices nest per track, times are monotonic per track, names are present, the violation is
// marked. Plus the flags' parsing and the HTML page's escaping.
#include "tools/seedgrid/timeline.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "scenarios/runner.h"
#include "tools/seedgrid/command.h"
#include "tools/seedgrid/timeline_html.h"
#include "tools/seedgrid/timeline_json.h"
#include "tools/seedgrid/timeline_output.h"

namespace seedgrid::tools {
namespace {

using nlohmann::json;

scenarios::Scenario Parse(const std::string& text) {
  absl::StatusOr<scenarios::Scenario> s = scenarios::ParseScenario(text, "test.json");
  EXPECT_TRUE(s.ok()) << s.status();
  return *s;
}

// A planted liveness failure: n1 is isolated and the liveness phase is far too short to repair
// it; a crash, a pause and a clog on the way.
scenarios::Scenario Stuck() {
  return Parse(R"({"name": "stuck", "nodes": 4, "duration_ms": 3000, "liveness_ms": 50,
    "workload": {"ops_per_sec": 60, "keys": 20},
    "faults": [{"at_ms": 500, "kind": "isolate", "node": 1},
               {"at_ms": 1000, "kind": "crash", "node": 2},
               {"at_ms": 1500, "kind": "restart", "node": 2},
               {"at_ms": 1800, "kind": "pause", "node": 3, "duration_ms": 300},
               {"at_ms": 2000, "kind": "clog", "from": [0], "to": [3], "duration_ms": 400}],
    "swarm": {"loss_ppm": [20000, 20000]}})");
}

scenarios::Scenario SmallGrid() {
  return Parse(R"({"name": "grid", "duration_ms": 1500, "liveness_ms": 20000,
    "workload": {"ops_per_sec": 40, "keys": 10},
    "grid": {"servers": 2, "clients": 2}, "swarm": {"loss_ppm": [10000, 10000]}})");
}

struct Ran {
  scenarios::RunResult result;
  Timeline timeline;
};

Ran RunWithTimeline(const scenarios::Scenario& s, uint64_t seed, TimelineOptions options) {
  auto builder = std::make_shared<TimelineBuilder>(options, LanesOf(s), s.name);
  scenarios::RunOptions o{.seed = seed,
                          .trace_sink = [builder](const sim::TraceEvent& e) { builder->Add(e); }};
  Ran r{scenarios::RunScenario(s, o), {}};
  std::optional<TimelineViolation> v;
  if (r.result.violation) {
    v = TimelineViolation{r.result.violation->invariant, r.result.violation->detail,
                          r.result.violation->virtual_time_ns};
  }
  r.timeline = builder->Finish(v);
  return r;
}

std::pair<int, int> TrackOf(const json& e) {
  return {e.at("pid").get<int>(), e.at("tid").get<int>()};
}

// What is wrong with a trace-event document (empty: nothing).
std::vector<std::string> FormatProblems(const json& doc) {
  std::vector<std::string> problems;
  std::map<uint64_t, std::map<std::string, json>> flows;
  std::map<std::pair<int, int>, std::vector<std::string>> open;
  std::map<std::pair<int, int>, double> last_ts, slice_end;
  std::set<int> named_processes;
  std::set<std::pair<int, int>> named_threads, used_threads;
  for (const json& e : doc.at("traceEvents")) {
    const std::string ph = e.at("ph");
    if (ph == "M") {
      if (e.at("name") == "process_name") named_processes.insert(e.at("pid").get<int>());
      if (e.at("name") == "thread_name") named_threads.insert(TrackOf(e));
      continue;
    }
    const double ts = e.at("ts");
    if (ph != "C") {
      const auto track = TrackOf(e);
      if (!(ph == "i" && e.value("s", "") == "g")) used_threads.insert(track);
      if (last_ts.count(track) && ts < last_ts[track])
        problems.push_back("time goes back: " + e.dump());
      last_ts[track] = ts;
    }
    if (ph == "s" || ph == "f") {
      if (flows[e.at("id").get<uint64_t>()].count(ph))
        problems.push_back("flow twice: " + e.dump());
      flows[e.at("id").get<uint64_t>()][ph] = e;
    } else if (ph == "B") {
      open[TrackOf(e)].push_back(e.at("name"));
    } else if (ph == "E") {
      auto& stack = open[TrackOf(e)];
      if (stack.empty() || stack.back() != e.at("name"))
        problems.push_back("E unmatched: " + e.dump());
      if (!stack.empty()) stack.pop_back();
    } else if (ph == "X") {  // Slices of one track must not overlap (viewers add in doubles).
      const double end = ts + e.at("dur").get<double>();
      if (e.at("dur").get<double>() < 0 || ts < slice_end[TrackOf(e)]) {
        problems.push_back("overlapping slice: " + e.dump());
      }
      slice_end[TrackOf(e)] = end;
    }
  }
  for (const auto& [id, ends] : flows) {
    if (ends.size() != 2) {
      problems.push_back("flow without both ends: " + std::to_string(id));
      continue;
    }
    const json &s = ends.at("s"), &f = ends.at("f");
    if (s.at("cat") != f.at("cat") || s.at("name") != f.at("name") ||
        f.at("ts").get<double>() < s.at("ts").get<double>() || f.value("bp", "") != "e") {
      problems.push_back("bad flow: " + s.dump() + " " + f.dump());
    }
  }
  for (const auto& [track, stack] : open) {
    if (!stack.empty()) problems.push_back("B without E: " + stack.back());
  }
  for (const auto& track : used_threads) {
    if (!named_threads.count(track))
      problems.push_back("unnamed thread " + std::to_string(track.second));
    if (!named_processes.count(track.first))
      problems.push_back("unnamed process " + std::to_string(track.first));
  }
  return problems;
}

std::vector<json> Events(const json& doc, const std::string& ph, const std::string& cat = "") {
  std::vector<json> out;
  for (const json& e : doc.at("traceEvents")) {
    if (e.at("ph") == ph && (cat.empty() || e.value("cat", "") == cat)) out.push_back(e);
  }
  return out;
}

std::set<std::string> ProcessNames(const json& doc) {
  std::set<std::string> out;
  for (const json& e : Events(doc, "M")) {
    if (e.at("name") == "process_name") out.insert(e.at("args").at("name").get<std::string>());
  }
  return out;
}

TEST(Timeline, APlantedLivenessFailureIsAValidTraceWithItsFaultsAndTheViolation) {
  const Ran r = RunWithTimeline(Stuck(), 1, {.window_ns = 2'000'000'000});
  ASSERT_FALSE(r.result.pass);
  ASSERT_EQ(r.result.violation->invariant, "liveness");
  EXPECT_EQ(r.timeline.end_ns, r.result.violation->virtual_time_ns);
  EXPECT_EQ(r.timeline.begin_ns, r.timeline.end_ns - 2'000'000'000);
  // The sink (and its context and notes) never changes the run.
  EXPECT_EQ(scenarios::RunScenario(Stuck(), {.seed = 1}).trace_hash, r.result.trace_hash);
  std::set<uint64_t> ids;
  for (const TimelineMessage& m : r.timeline.messages) {
    EXPECT_TRUE(ids.insert(m.id).second) << m.id;
    EXPECT_LE(m.sent_ns, m.end_ns);
    EXPECT_TRUE(m.lost.empty() ? m.sent_ns < m.end_ns : !m.lost_at_send || m.sent_ns == m.end_ns);
    EXPECT_NE(m.name, "?") << m.summary;
  }
  const json doc = json::parse(RenderTraceEventJson(r.timeline));
  EXPECT_EQ(FormatProblems(doc), std::vector<std::string>{});
  EXPECT_EQ(ProcessNames(doc), (std::set<std::string>{"cluster", "replica n0", "replica n1",
                                                      "replica n2", "replica n3"}));
  EXPECT_GT(Events(doc, "s").size(), 100u);
  const std::vector<json> violation = Events(doc, "i", "violation");
  ASSERT_EQ(violation.size(), 1u);
  EXPECT_EQ(violation[0].at("s"), "g");
  EXPECT_EQ(violation[0].at("args").at("invariant"), "liveness");
  std::set<std::string> why, spans;
  for (const json& e : Events(doc, "i", "lost"))
    why.insert(e.at("args").at("why").get<std::string>());
  EXPECT_TRUE(why.count("partition (at send)"));
  EXPECT_TRUE(why.count("loss"));
  for (const json& e : Events(doc, "B"))
    spans.insert(e.at("cat").get<std::string>() + ": " + e.at("name").get<std::string>());
  for (const char* s : {"network: isolate n1", "partitions: isolate n1", "down: down (crashed)",
                        "paused: paused", "clog ->n3: clog n0->n3 400 ms", "phases: liveness"}) {
    EXPECT_TRUE(spans.count(s)) << s;
  }
  EXPECT_FALSE(Events(doc, "C").empty());
  EXPECT_FALSE(Events(doc, "i", "storage").empty());  // sync notes
  EXPECT_FALSE(Events(doc, "i", "timers").empty());
  for (const json& e : doc.at("traceEvents")) {
    if (e.at("ph") != "M") {
      EXPECT_GE(e.at("ts").get<double>(), 0);
    }
  }
}

TEST(Timeline, TheFormatCheckCatchesABrokenFlowAndUnnestedSlices) {
  json doc = json::parse(R"({"traceEvents": [
    {"ph": "M", "name": "process_name", "pid": 2, "tid": 0, "args": {"name": "n0"}},
    {"ph": "M", "name": "thread_name", "pid": 2, "tid": 1, "args": {"name": "t"}},
    {"ph": "s", "id": 7, "cat": "message", "name": "m", "pid": 2, "tid": 1, "ts": 5},
    {"ph": "B", "name": "a", "pid": 2, "tid": 1, "ts": 6},
    {"ph": "B", "name": "b", "pid": 2, "tid": 1, "ts": 7},
    {"ph": "E", "name": "a", "pid": 2, "tid": 1, "ts": 8},
    {"ph": "i", "name": "x", "pid": 2, "tid": 1, "ts": 1}]})");
  EXPECT_EQ(FormatProblems(doc).size(), 4u);  // no f; E of a inside b; b open; time goes back
}

TEST(Timeline, AGridRunNamesServersAndClientsAndFiltersNodesAndKeys) {
  const scenarios::Scenario s = SmallGrid();
  const Ran all = RunWithTimeline(s, 2, {.window_ns = 0});
  ASSERT_TRUE(all.result.pass) << all.result.violation->detail;
  const json doc = json::parse(RenderTraceEventJson(all.timeline));
  EXPECT_EQ(FormatProblems(doc), std::vector<std::string>{});
  EXPECT_EQ(ProcessNames(doc), (std::set<std::string>{"cluster", "server n0", "server n1",
                                                      "client c0 (n2)", "client c1 (n3)"}));
  EXPECT_TRUE(Events(doc, "i", "violation").empty());
  EXPECT_EQ(all.timeline.begin_ns, 0u);

  const Ran some = RunWithTimeline(s, 2, {.window_ns = 0, .nodes = {0, 3}});
  EXPECT_EQ(some.result.trace_hash, all.result.trace_hash);  // The timeline never steers the run.
  const json filtered = json::parse(RenderTraceEventJson(some.timeline));
  EXPECT_EQ(FormatProblems(filtered), std::vector<std::string>{});
  EXPECT_EQ(ProcessNames(filtered),
            (std::set<std::string>{"cluster", "server n0", "client c1 (n3)"}));
  for (const json& e : Events(filtered, "s")) EXPECT_TRUE(e.at("pid") == 2 || e.at("pid") == 5);

  const Ran key = RunWithTimeline(s, 2, {.window_ns = 0, .key = "k3"});
  ASSERT_FALSE(key.timeline.messages.empty());
  EXPECT_LT(key.timeline.messages.size(), all.timeline.messages.size() / 4);
  for (const TimelineMessage& m : key.timeline.messages) {
    EXPECT_NE(m.summary.find("k3"), std::string::npos) << m.summary;
  }
  for (const TimelineMark& m : key.timeline.marks) EXPECT_NE(m.track, kTrackTimers);
}

TEST(Timeline, TheHtmlPageEmbedsTheDataWithoutEndingItsScript) {
  Timeline t;
  t.title = "a </script><script>alert(1)</script> title";
  t.end_ns = 1'000'000;
  t.lanes = {{0, "replica n0"}, {1, "replica n1"}};
  t.messages = {{1, 0, 1, 100, 900, "OpBatch", "users #1: </script>", "", false}};
  t.violation = TimelineViolation{"liveness", "<!-- </SCRIPT> -->", 1'000'000};
  const std::string page = RenderTimelineHtml(t);
  const size_t data = page.find("id=\"timeline-data\">");
  ASSERT_NE(data, std::string::npos);
  const size_t end = page.find("</script>", data);
  const std::string embedded = page.substr(data + 19, end - data - 19);
  EXPECT_EQ(embedded.find('<'), std::string::npos);
  const json parsed = json::parse(embedded);
  EXPECT_EQ(parsed.at("violation").at("detail"), "<!-- </SCRIPT> -->");
  EXPECT_EQ(parsed.at("messages")[0][5], "users #1: </script>");
  EXPECT_EQ(page.find("<script>alert"), std::string::npos);
  EXPECT_EQ(page.find("http://", 0) == std::string::npos ||
                page.find("http://") == page.find("http://www.w3.org/2000/svg"),
            true);  // No network: the only URL is the SVG namespace.
}

TEST(Timeline, WindowsParse) {
  EXPECT_EQ(ParseWindow("5s"), 5'000'000'000u);
  EXPECT_EQ(ParseWindow("250ms"), 250'000'000u);
  EXPECT_EQ(ParseWindow("1.5s"), 1'500'000'000u);
  EXPECT_EQ(ParseWindow("2m"), 120'000'000'000u);
  EXPECT_EQ(ParseWindow("all"), 0u);
  for (const char* bad : {"", "5", "s", "-1s", "0s", "5 s", "5sec", "1e3s", "99999999999999m"}) {
    EXPECT_EQ(ParseWindow(bad), std::nullopt) << bad;
  }
}

std::string InputErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.message;
  }
  return "";
}

TEST(Timeline, BadFlagsAreInputErrorsNamingTheFlag) {
  const scenarios::Scenario grid = SmallGrid();
  EXPECT_EQ(ParseNodes("n0,c1,n0", grid), (std::vector<int>{0, 3}));
  EXPECT_NE(InputErrorOf([&] { ParseNodes("n4", grid); }).find("--nodes: 'n4' is not a node"),
            std::string::npos);
  EXPECT_NE(InputErrorOf([&] { ParseNodes("c2", grid); }).find("clients c0..c1"),
            std::string::npos);
  EXPECT_NE(InputErrorOf([&] { ParseNodes("n0,,n1", grid); }).find("--nodes: ''"),
            std::string::npos);
  const Loaded loaded{grid, "grid.json", ""};
  EXPECT_EQ(InputErrorOf([&] { TimelineOutput({.window = "5s"}, loaded, 1); }),
            "--window needs --timeline or --html");
  EXPECT_NE(InputErrorOf([&] {
              TimelineOutput({.json_path = "x", .window = "5"}, loaded, 1);
            }).find("--window: '5' is not a duration"),
            std::string::npos);
  EXPECT_EQ(InputErrorOf([&] { TimelineOutput({.html_path = "x", .key = "k3"}, loaded, 1); }), "");
}

}  // namespace
}  // namespace seedgrid::tools
