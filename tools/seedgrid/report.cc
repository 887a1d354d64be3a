#include "tools/seedgrid/report.h"

#include <fmt/format.h>

#include "tools/seedgrid/command.h"
#include "tools/seedgrid/isolation.h"
#include "tools/seedgrid/repro.h"

namespace seedgrid::tools {

using nlohmann::json;
using scenarios::RunResult;

namespace {

// A crash's signature: its cause and the telling stderr line after it (isolation.h), on one line.
std::string CrashSignature(const std::string& detail) {
  const size_t first = detail.find('\n');
  if (first == std::string::npos) return detail;
  const size_t second = detail.find('\n', first + 1);
  const std::string next = detail.substr(first + 1, second - first - 1);
  if (next.find("a second run") != std::string::npos) return detail.substr(0, first);
  return detail.substr(0, first) + " |" + next.substr(next.find_first_not_of(' ') - 1);
}

// `text` with each line break (and the indentation after it) replaced by " | ".
std::string OneLine(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\n') {
      out += text[i];
      continue;
    }
    out += " |";
    while (i + 1 < text.size() && text[i + 1] == ' ') ++i;
    out += ' ';
  }
  return out;
}

// A crash or hang: the run has no counts or trace hash.
bool DidNotFinish(const Outcome& o) {
  const std::string invariant = InvariantOf(o);
  return (invariant == kCrashInvariant || invariant == kHangInvariant) && o.result.events == 0;
}

std::string VirtualTime(uint64_t ns) {
  return fmt::format("{}.{:09}s", ns / 1'000'000'000, ns % 1'000'000'000);
}

// The verdict lines of a failed run.
std::string FailureLines(const Outcome& o, const Loaded& loaded, uint64_t seed) {
  std::string out;
  if (o.nondeterministic) {
    out += fmt::format("verdict: FAIL  invariant=determinism\n  {}\n", o.divergence);
  } else {
    const scenarios::RunViolation& v = *o.result.violation;
    out += fmt::format(
        "verdict: FAIL  invariant={}\n  what:    {}\n  seed:    {}\n  virtual time: {}  "
        "event: #{}\n",
        v.invariant, v.detail, seed, VirtualTime(v.virtual_time_ns), v.event_index);
  }
  // A run given its swarm (fuzz --guided) replays only from its repro file.
  const std::string replay = SwarmGiven(o, loaded, seed)
                                 ? fmt::format(
                                       "{} replay REPRO_FILE (the swarm was given, not "
                                       "drawn from the seed)",
                                       ProgramName())
                                 : ReplayCommand(loaded.path, seed, o.nondeterministic);
  out += fmt::format("  replay:  {}\n  trace_hash={}\n", replay, Hex(o.result.trace_hash));
  return out;
}

// One scenario's row of the suite table.
std::string SuiteRow(const Loaded& l, const std::vector<SeedOutcome>& runs) {
  size_t pass = 0, fail = 0;
  uint64_t events = 0, messages = 0, virtual_ms = 0;
  double wall_ms = 0;
  std::string first;
  for (const SeedOutcome& t : runs) {
    if (t.loaded != &l) continue;
    Failed(t.outcome) ? ++fail : ++pass;
    if (Failed(t.outcome) && first.empty()) {
      first = fmt::format("seed {} ({}): {}", t.seed, InvariantOf(t.outcome),
                          ReplayCommand(l.path, t.seed, t.outcome.nondeterministic));
    }
    events += t.outcome.result.events;
    messages += t.outcome.result.messages;
    virtual_ms += t.outcome.result.virtual_ms;
    wall_ms += t.outcome.wall_ms;
  }
  std::string row =
      fmt::format("{:<22} {:>5} {:>5} {:>5} {:>10} {:>10} {:>9.1f} {:>9.2f}", l.scenario.name,
                  pass + fail, pass, fail, events, messages, virtual_ms / 1000.0, wall_ms / 1000.0);
  if (!first.empty()) {
    row += "  " + first;
  } else if (l.scenario.regression) {
    row += fmt::format("  regression test, fixed seed {}", l.scenario.regression->seed);
  }
  return row + "\n";
}

// One scenario's <testsuite> element.
std::string JUnitSuite(const Loaded& l, const std::vector<SeedOutcome>& runs) {
  size_t n = 0, f = 0;
  double wall_ms = 0;
  for (const SeedOutcome& t : runs) {
    if (t.loaded == &l) ++n, f += Failed(t.outcome), wall_ms += t.outcome.wall_ms;
  }
  // time: the scenario's runs added up (CPU time across --jobs, not the suite's wall time).
  std::string xml =
      fmt::format("  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" time=\"{:.3f}\">\n",
                  XmlEscape(l.scenario.name), n, f, wall_ms / 1000.0);
  for (const SeedOutcome& t : runs) {
    if (t.loaded != &l) continue;
    xml += fmt::format("    <testcase classname=\"seedgrid.{}\" name=\"seed {}\" time=\"{:.3f}\"",
                       XmlEscape(l.scenario.name), t.seed, t.outcome.wall_ms / 1000.0);
    if (!Failed(t.outcome)) {
      xml += "/>\n";
      continue;
    }
    xml +=
        fmt::format(">\n      <failure message=\"{}\">{}\nreplay: {}</failure>\n    </testcase>\n",
                    XmlEscape(InvariantOf(t.outcome)), XmlEscape(FailureDetail(t.outcome)),
                    XmlEscape(ReplayCommand(l.path, t.seed, t.outcome.nondeterministic)));
  }
  return xml + "  </testsuite>\n";
}

}  // namespace

std::string XmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') {
          out += ' ';
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string RunHeader(std::string_view command, const Loaded& loaded, uint64_t seed,
                      const char* commit, const std::optional<scenarios::SwarmDraw>& given) {
  const scenarios::SwarmDraw swarm = given ? *given : scenarios::DrawSwarm(loaded.scenario, seed);
  std::string clocks;
  const std::vector<sim::NodeClockParams> drawn = scenarios::DrawClocks(loaded.scenario, seed);
  for (size_t i = 0; i < drawn.size() && i < 6; ++i) {
    clocks += fmt::format(" n{} {:+}ms/{:+}ppm", i, drawn[i].offset_ms, drawn[i].drift_ppm);
  }
  if (drawn.size() > 6) clocks += fmt::format(" ... ({} nodes)", drawn.size());
  return fmt::format("seedgrid {}  scenario={} ({})  seed={}  commit={}\nswarm{}: {}\nclocks:{}\n",
                     command, loaded.scenario.name, loaded.path, seed, commit,
                     given ? " (given)" : "", swarm.ToString(), clocks);
}

std::string RunReport(const Outcome& o, const Loaded& loaded, uint64_t seed) {
  const RunResult& r = o.result;
  if (DidNotFinish(o)) {
    return fmt::format("the run did not finish (wall {:.0f} ms): no counts\n", o.wall_ms) +
           FailureLines(o, loaded, seed);
  }
  const double ratio = o.wall_ms > 0 ? static_cast<double>(r.virtual_ms) / o.wall_ms : 0;
  std::string out = fmt::format(
      "nodes={} ops={} events={} messages={} virtual={}ms wall={:.0f}ms ({:.0f}x) "
      "buggify_fired={} checks={}\n",
      loaded.scenario.nodes, r.ops, r.events, r.messages, r.virtual_ms, o.wall_ms, ratio,
      r.buggify_fired, r.checks);
  out += fmt::format(
      "network: sent={} delivered={} lost={} partitioned={} to_dead={} duplicated={} "
      "reordered={} clogged={}; faults: crashes={} restarts={} pauses={}\n",
      r.stats.messages_sent, r.stats.messages_delivered, r.stats.dropped_loss,
      r.stats.dropped_partition, r.stats.dropped_dead, r.stats.duplicated, r.stats.reordered,
      r.stats.clogged, r.stats.crashes, r.stats.restarts, r.stats.pauses);
  if (Failed(o)) return out + FailureLines(o, loaded, seed);
  return out + fmt::format("verdict: PASS (converged {} ms after the heal)  trace_hash={}\n",
                           r.converged_after_ms, Hex(r.trace_hash));
}

json RunJson(const Outcome& o, const Loaded& loaded, uint64_t seed) {
  return json{{"scenario", loaded.scenario.name},
              {"seed", seed},
              {"verdict", Failed(o) ? "fail" : "pass"},
              {"trace_hash", Hex(o.result.trace_hash)},
              {"events", o.result.events},
              {"messages", o.result.messages},
              {"virtual_ms", o.result.virtual_ms},
              {"wall_ms", static_cast<uint64_t>(o.wall_ms + 0.5)},
              {"violation", ViolationJson(o, loaded, seed)}};
}

std::string ReplayVerdict(const Outcome& o, const json& recorded, const char* commit) {
  const json& v = recorded.contains("violation") ? recorded["violation"] : json();
  const std::string recorded_invariant = v.is_object() ? v.value("invariant", "") : "";
  if (recorded_invariant == kCrashInvariant || recorded_invariant == kHangInvariant) {
    // A crash is the same crash when its cause and assertion match; a hang is any hang.
    const bool hang = recorded_invariant == kHangInvariant;
    const std::string was = CrashSignature(v.value("detail", ""));
    if (InvariantOf(o) == recorded_invariant && (hang || CrashSignature(FailureDetail(o)) == was)) {
      return fmt::format("replay: reproduced the recorded {} ({})\n", recorded_invariant, was);
    }
    return fmt::format("replay: did not reproduce the recorded {} ({}); this run: {}\n",
                       recorded_invariant, was,
                       Failed(o) ? InvariantOf(o) + " (" + CrashSignature(FailureDetail(o)) + ")"
                                 : std::string("pass"));
  }
  const std::string want = recorded.value("trace_hash", "");
  if (want == Hex(o.result.trace_hash)) {
    return fmt::format("replay: reproduced bit for bit (trace hash {} as recorded)\n", want);
  }
  return fmt::format(
      "replay: trace hash {} differs from the recorded {} (recorded with commit {}, this is "
      "{}): the binary or the scenario changed\n",
      Hex(o.result.trace_hash), want, recorded.value("commit", "?"), commit);
}

std::string SuiteTable(const std::vector<Loaded>& scenarios, const std::vector<SeedOutcome>& runs) {
  std::string out =
      fmt::format("\n{:<22} {:>5} {:>5} {:>5} {:>10} {:>10} {:>9} {:>9}  {}\n", "scenario", "seeds",
                  "pass", "fail", "events", "messages", "virtual_s", "wall_s", "first failure");
  for (const Loaded& l : scenarios) out += SuiteRow(l, runs);
  return out;
}

std::string SuiteJUnitXml(const std::vector<Loaded>& scenarios,
                          const std::vector<SeedOutcome>& runs, double wall_s) {
  size_t failures = 0;
  for (const SeedOutcome& t : runs) failures += Failed(t.outcome);
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  xml +=
      fmt::format("<testsuites name=\"seedgrid\" tests=\"{}\" failures=\"{}\" time=\"{:.3f}\">\n",
                  runs.size(), failures, wall_s);
  for (const Loaded& l : scenarios) xml += JUnitSuite(l, runs);
  return xml + "</testsuites>\n";
}

json SuiteJson(const std::vector<Loaded>& scenarios, const std::vector<SeedOutcome>& runs,
               const SuiteJsonInfo& info) {
  json out{{"command", "suite"},    {"dir", info.dir},
           {"seeds", info.seeds},   {"first_seed", info.first_seed},
           {"runs", runs.size()},   {"check_determinism", info.check_determinism},
           {"wall_s", info.wall_s}, {"interrupted", info.interrupted}};
  size_t failures = 0;
  json list = json::array();
  for (const Loaded& l : scenarios) {
    json row{{"name", l.scenario.name}, {"path", l.path}};
    uint64_t pass = 0, fail = 0, events = 0, messages = 0, virtual_ms = 0;
    double wall_ms = 0;
    json failed = json::array();
    for (const SeedOutcome& t : runs) {
      if (t.loaded != &l) continue;
      Failed(t.outcome) ? ++fail : ++pass;
      events += t.outcome.result.events;
      messages += t.outcome.result.messages;
      virtual_ms += t.outcome.result.virtual_ms;
      wall_ms += t.outcome.wall_ms;
      if (Failed(t.outcome)) failed.push_back(RunJson(t.outcome, l, t.seed));
    }
    failures += fail;
    row.update({{"runs", pass + fail},
                {"pass", pass},
                {"fail", fail},
                {"events", events},
                {"messages", messages},
                {"virtual_ms", virtual_ms},
                {"wall_ms", static_cast<uint64_t>(wall_ms + 0.5)},
                {"failures", std::move(failed)}});
    if (l.scenario.regression) row["regression_seed"] = l.scenario.regression->seed;
    list.push_back(std::move(row));
  }
  out["failures"] = failures;
  out["verdict"] = failures == 0 && !info.interrupted ? "pass" : "fail";
  out["scenarios"] = std::move(list);
  return out;
}

std::string SuiteHashes(const std::vector<SeedOutcome>& runs) {
  std::string text;
  for (const SeedOutcome& t : runs) {
    text += fmt::format("{} {} {} {}\n", t.loaded->scenario.name, t.seed,
                        Hex(t.outcome.result.trace_hash), Failed(t.outcome) ? "fail" : "pass");
  }
  return text;
}

std::string FailureKey(const Outcome& o) {
  std::string detail = o.nondeterministic ? std::string("nondeterministic")
                                          : OneLine(o.result.violation->detail).substr(0, 100);
  std::string shape;
  for (char c : detail) {
    if (c >= '0' && c <= '9') {
      if (shape.empty() || shape.back() != '#') shape += '#';
    } else {
      shape += c;
    }
  }
  return InvariantOf(o) + ": " + shape;
}

}  // namespace seedgrid::tools
