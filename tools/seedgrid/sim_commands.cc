#include "tools/seedgrid/sim_commands.h"

#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

#include "absl/container/btree_map.h"
#include "absl/strings/numbers.h"
#include "scenarios/runner.h"
#include "scenarios/scenario.h"
#include "scenarios/shrink.h"

namespace seedgrid::tools {

namespace {

using nlohmann::json;
using scenarios::RunResult;
using scenarios::Scenario;

constexpr int kExitOk = 0;
constexpr int kExitViolation = 1;
constexpr int kExitUsage = 2;

struct Loaded {
  Scenario scenario;
  std::string path;  // as given (or the repro file's record of it)
  std::string text;  // the scenario file's exact text
};

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A usage or input error: printed, exit 2.
struct InputError {
  std::string message;
};

Loaded LoadScenarioFile(const std::string& path) {
  std::optional<std::string> text = ReadFile(path);
  if (!text) throw InputError{fmt::format("{}: cannot read the scenario file", path)};
  absl::StatusOr<Scenario> s = scenarios::ParseScenario(*text, path);
  if (!s.ok()) throw InputError{std::string(s.status().message())};
  return Loaded{std::move(*s), path, std::move(*text)};
}

uint64_t ParseSeed(const std::string& text, std::string_view what = "--seed") {
  uint64_t v = 0;
  bool ok;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    ok = text.size() <= 18 && absl::SimpleHexAtoi(text.substr(2), &v);
  } else {
    ok = !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
         absl::SimpleAtoi(text, &v);
  }
  if (!ok) {
    throw InputError{
        fmt::format("{} '{}' is not a 64-bit unsigned integer (decimal or 0x-hex)", what, text)};
  }
  return v;
}

std::string Hex(uint64_t v) { return fmt::format("{:016x}", v); }

std::string ReplayCommand(const std::string& path, uint64_t seed) {
  return fmt::format("seedgrid replay --scenario {} --seed {}", path, seed);
}

std::string VirtualTime(uint64_t ns) {
  return fmt::format("{}.{:09}s", ns / 1'000'000'000, ns % 1'000'000'000);
}

struct Outcome {
  RunResult result;
  double wall_ms = 0;
  bool nondeterministic = false;
  std::string divergence;  // first divergent event, when nondeterministic
};

Outcome Execute(const Loaded& loaded, uint64_t seed, bool check_determinism,
                sim::Trace::Sink sink = {}) {
  const auto start = std::chrono::steady_clock::now();
  scenarios::RunOptions o{
      .seed = seed, .trace_sink = std::move(sink), .keep_trace_log = check_determinism};
  Outcome out{scenarios::RunScenario(loaded.scenario, o)};
  out.wall_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (check_determinism) {
    scenarios::RunOptions again{.seed = seed, .keep_trace_log = true};
    RunResult second = scenarios::RunScenario(loaded.scenario, again);
    const int64_t at = sim::FirstDivergence(out.result.trace_log, second.trace_log);
    if (at >= 0 || second.trace_hash != out.result.trace_hash) {
      out.nondeterministic = true;
      const auto describe = [&](const std::vector<sim::Trace::LoggedEvent>& log) {
        if (at < 0 || static_cast<size_t>(at) >= log.size()) return std::string("<no event>");
        const auto& e = log[at];
        return sim::DescribeEvent(sim::TraceEvent{static_cast<uint64_t>(at), e.time_ns, e.kind,
                                                  e.node, e.peer, e.digest, e.detail},
                                  e.detail);
      };
      out.divergence = fmt::format(
          "the same seed ran twice with different traces ({} vs {}); first divergent event "
          "#{}:\n    run 1: {}\n    run 2: {}",
          Hex(out.result.trace_hash), Hex(second.trace_hash), at, describe(out.result.trace_log),
          describe(second.trace_log));
    }
    out.result.trace_log.clear();
  }
  return out;
}

bool Failed(const Outcome& o) { return !o.result.pass || o.nondeterministic; }

std::string InvariantOf(const Outcome& o) {
  if (o.nondeterministic) return "determinism";
  return o.result.violation ? o.result.violation->invariant : "";
}

json ViolationJson(const Outcome& o, const Loaded& loaded, uint64_t seed) {
  if (!Failed(o)) return nullptr;
  json v;
  if (o.nondeterministic) {
    v["invariant"] = "determinism";
    v["detail"] = o.divergence;
  } else {
    v["invariant"] = o.result.violation->invariant;
    v["detail"] = o.result.violation->detail;
    v["virtual_time_ns"] = o.result.violation->virtual_time_ns;
    v["event_index"] = o.result.violation->event_index;
  }
  v["replay"] = ReplayCommand(loaded.path, seed);
  return v;
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

std::string Header(std::string_view command, const Loaded& loaded, uint64_t seed,
                   const char* commit) {
  const scenarios::SwarmDraw swarm = scenarios::DrawSwarm(loaded.scenario, seed);
  std::string clocks;
  const std::vector<sim::NodeClockParams> drawn = scenarios::DrawClocks(loaded.scenario, seed);
  for (size_t i = 0; i < drawn.size() && i < 6; ++i) {
    clocks += fmt::format(" n{} {:+}ms/{:+}ppm", i, drawn[i].offset_ms, drawn[i].drift_ppm);
  }
  if (drawn.size() > 6) clocks += fmt::format(" ... ({} nodes)", drawn.size());
  return fmt::format("seedgrid {}  scenario={} ({})  seed={}  commit={}\nswarm: {}\nclocks:{}\n",
                     command, loaded.scenario.name, loaded.path, seed, commit, swarm.ToString(),
                     clocks);
}

std::string Report(const Outcome& o, const Loaded& loaded, uint64_t seed) {
  const RunResult& r = o.result;
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
  if (!Failed(o)) {
    out += fmt::format("verdict: PASS (converged {} ms after the heal)  trace_hash={}\n",
                       r.converged_after_ms, Hex(r.trace_hash));
    return out;
  }
  if (o.nondeterministic) {
    out += fmt::format("verdict: FAIL  invariant=determinism\n  {}\n", o.divergence);
  } else {
    const scenarios::RunViolation& v = *r.violation;
    out += fmt::format(
        "verdict: FAIL  invariant={}\n  what:    {}\n  seed:    {}\n  virtual time: {}  "
        "event: #{}\n",
        v.invariant, v.detail, seed, VirtualTime(v.virtual_time_ns), v.event_index);
  }
  out += fmt::format("  replay:  {}\n  trace_hash={}\n", ReplayCommand(loaded.path, seed),
                     Hex(r.trace_hash));
  return out;
}

json ReproJson(const Outcome& o, const Loaded& loaded, uint64_t seed, const char* commit) {
  return json{
      {"format", "seedgrid-repro-1"},           {"scenario_path", loaded.path},
      {"scenario_text", loaded.text},           {"seed", seed},
      {"swarm", o.result.swarm.ToString()},     {"commit", commit},
      {"trace_hash", Hex(o.result.trace_hash)}, {"violation", ViolationJson(o, loaded, seed)}};
}

void WriteFileOrThrow(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out || !(out << text) || !out.flush()) {
    throw InputError{fmt::format("{}: cannot write the file", path)};
  }
}

struct TraceFile {
  explicit TraceFile(const std::string& path) : out(path, std::ios::binary | std::ios::trunc) {
    if (!out) throw InputError{fmt::format("{}: cannot write the trace file", path)};
  }
  sim::Trace::Sink Sink() {
    return [this](const sim::TraceEvent& e) {
      json line{{"i", e.index},
                {"t_ns", e.time_ns},
                {"kind", sim::TraceKindName(e.kind)},
                {"node", e.node},
                {"peer", e.peer},
                {"digest", Hex(e.digest)},
                {"detail", std::string(e.detail)}};
      out << line.dump() << '\n';
    };
  }
  std::ofstream out;
};

// Reads a repro file: the embedded scenario text and (in `repro`) the whole record.
Loaded LoadRepro(const std::string& file, json& repro) {
  std::optional<std::string> text = ReadFile(file);
  if (!text) throw InputError{fmt::format("{}: cannot read the repro file", file)};
  repro = json::parse(*text, nullptr, false);
  if (repro.is_discarded() || !repro.is_object() ||
      repro.value("format", "") != "seedgrid-repro-1" || !repro.contains("scenario_text") ||
      !repro["scenario_text"].is_string() || !repro.contains("seed") ||
      !repro["seed"].is_number_unsigned()) {
    throw InputError{fmt::format(
        "{}: not a seedgrid repro file (expected JSON with format \"seedgrid-repro-1\", "
        "scenario_text and seed)",
        file)};
  }
  for (const char* field : {"scenario_path", "trace_hash", "commit"}) {
    if (repro.contains(field) && !repro[field].is_string()) {
      throw InputError{fmt::format("{}: field \"{}\" must be a string", file, field)};
    }
  }
  const std::string path = repro.value("scenario_path", file);
  absl::StatusOr<Scenario> s =
      scenarios::ParseScenario(repro["scenario_text"].get<std::string>(), path);
  if (!s.ok()) throw InputError{std::string(s.status().message())};
  return Loaded{std::move(*s), path, repro["scenario_text"].get<std::string>()};
}

// --- run / replay ----------------------------------------------------------------------------

struct RunFlags {
  std::string scenario;
  std::string seed = "1";
  std::string trace;
  std::string repro_out;
  bool json = false;
  bool check_determinism = false;
  std::string repro_file;  // replay only
};

int DoRun(std::string_view command, const Loaded& loaded, uint64_t seed, const RunFlags& f,
          const char* commit, const json* recorded) {
  std::optional<TraceFile> trace;
  if (!f.trace.empty()) trace.emplace(f.trace);
  const std::string header = Header(command, loaded, seed, commit);
  std::fputs(header.c_str(), f.json ? stderr : stdout);
  std::fflush(f.json ? stderr : stdout);
  const Outcome o =
      Execute(loaded, seed, f.check_determinism, trace ? trace->Sink() : sim::Trace::Sink());
  if (!f.repro_out.empty() && Failed(o)) {
    WriteFileOrThrow(f.repro_out, ReproJson(o, loaded, seed, commit).dump(2) + "\n");
  }
  std::string report = Report(o, loaded, seed);
  if (!f.repro_out.empty() && Failed(o)) report += fmt::format("  repro file: {}\n", f.repro_out);
  if (recorded != nullptr) {
    const std::string want = recorded->value("trace_hash", "");
    if (want == Hex(o.result.trace_hash)) {
      report += fmt::format("replay: reproduced bit for bit (trace hash {} as recorded)\n", want);
    } else {
      report += fmt::format(
          "replay: trace hash {} differs from the recorded {} (recorded with commit {}, this is "
          "{}): the binary or the scenario changed\n",
          Hex(o.result.trace_hash), want, recorded->value("commit", "?"), commit);
    }
  }
  if (f.json) {
    std::fputs(report.c_str(), stderr);
    std::puts(RunJson(o, loaded, seed).dump().c_str());
  } else {
    std::fputs(report.c_str(), stdout);
  }
  return Failed(o) ? kExitViolation : kExitOk;
}

void AddRunFlags(CLI::App& app, RunFlags& f) {
  app.add_option("--trace", f.trace, "write every trace event as a JSON line to this file");
  app.add_option("--repro-out", f.repro_out,
                 "on failure, write a repro file (scenario, seed, swarm, commit) here");
  app.add_flag("--json", f.json,
               "print exactly one JSON object on stdout (the report goes to stderr)");
  app.add_flag("--check-determinism", f.check_determinism,
               "run the seed twice and fail on any difference, naming the first divergent event");
}

// --- suite / fuzz ------------------------------------------------------------------------------

struct Task {
  const Loaded* loaded;
  uint64_t seed;
  Outcome outcome;
};

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

int DoSuite(const std::string& dir, uint64_t seeds, uint64_t first_seed, int jobs,
            const std::string& junit, const std::string& hashes, bool check_determinism,
            const char* commit) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".json") {
      files.push_back(entry.path().string());
    }
  }
  if (ec) throw InputError{fmt::format("{}: cannot list the directory: {}", dir, ec.message())};
  std::sort(files.begin(), files.end());
  if (files.empty()) throw InputError{fmt::format("{}: no scenario files (*.json)", dir)};
  std::vector<Loaded> loaded;
  for (const std::string& f : files) loaded.push_back(LoadScenarioFile(f));

  std::vector<Task> tasks;
  for (const Loaded& l : loaded) {
    for (uint64_t k = 0; k < seeds; ++k) tasks.push_back(Task{&l, first_seed + k, {}});
  }
  std::printf("seedgrid suite  %s  %zu scenarios x %llu seeds (from %llu)  jobs=%d%s  commit=%s\n",
              dir.c_str(), loaded.size(), static_cast<unsigned long long>(seeds),
              static_cast<unsigned long long>(first_seed), jobs,
              check_determinism ? "  check-determinism" : "", commit);
  std::fflush(stdout);
  const auto start = std::chrono::steady_clock::now();
  size_t finished = 0;
  // With --check-determinism each task runs twice (Execute compares the two traces).
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::vector<std::thread> threads;
  for (int j = 0; j < jobs; ++j) {
    threads.emplace_back([&] {
      for (size_t i = next++; i < tasks.size(); i = next++) {
        tasks[i].outcome = Execute(*tasks[i].loaded, tasks[i].seed, check_determinism);
        std::lock_guard<std::mutex> lock(mu);
        ++finished;
        if (Failed(tasks[i].outcome)) {
          std::printf("FAIL %s seed %llu: %s\n", tasks[i].loaded->scenario.name.c_str(),
                      static_cast<unsigned long long>(tasks[i].seed),
                      InvariantOf(tasks[i].outcome).c_str());
          std::fflush(stdout);
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::printf("\n%-22s %5s %5s %5s %10s %10s %9s %9s  %s\n", "scenario", "seeds", "pass", "fail",
              "events", "messages", "virtual_s", "wall_s", "first failure");
  size_t failures = 0;
  for (const Loaded& l : loaded) {
    size_t pass = 0, fail = 0;
    uint64_t events = 0, messages = 0, virtual_ms = 0;
    double wall_ms = 0;
    std::string first;
    for (const Task& t : tasks) {
      if (t.loaded != &l) continue;
      Failed(t.outcome) ? ++fail : ++pass;
      if (Failed(t.outcome) && first.empty()) {
        first = fmt::format("seed {} ({}): {}", t.seed, InvariantOf(t.outcome),
                            ReplayCommand(l.path, t.seed));
      }
      events += t.outcome.result.events;
      messages += t.outcome.result.messages;
      virtual_ms += t.outcome.result.virtual_ms;
      wall_ms += t.outcome.wall_ms;
    }
    failures += fail;
    std::string row = fmt::format("{:<22} {:>5} {:>5} {:>5} {:>10} {:>10} {:>9.1f} {:>9.2f}",
                                  l.scenario.name, pass + fail, pass, fail, events, messages,
                                  virtual_ms / 1000.0, wall_ms / 1000.0);
    if (!first.empty()) row += "  " + first;
    std::printf("%s\n", row.c_str());
  }
  std::printf("\n%zu runs, %zu failed, %.1f s wall%s\n", tasks.size(), failures, wall_s,
              check_determinism ? " (each seed run twice)" : "");

  if (!hashes.empty()) {
    std::string text;
    for (const Task& t : tasks) {
      text += fmt::format("{} {} {} {}\n", t.loaded->scenario.name, t.seed,
                          Hex(t.outcome.result.trace_hash), Failed(t.outcome) ? "fail" : "pass");
    }
    WriteFileOrThrow(hashes, text);
  }
  if (!junit.empty()) {
    std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    xml +=
        fmt::format("<testsuites name=\"seedgrid\" tests=\"{}\" failures=\"{}\" time=\"{:.3f}\">\n",
                    tasks.size(), failures, wall_s);
    for (const Loaded& l : loaded) {
      size_t n = 0, f = 0;
      for (const Task& t : tasks) {
        if (t.loaded == &l) ++n, f += Failed(t.outcome);
      }
      xml += fmt::format("  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\">\n",
                         XmlEscape(l.scenario.name), n, f);
      for (const Task& t : tasks) {
        if (t.loaded != &l) continue;
        xml +=
            fmt::format("    <testcase classname=\"seedgrid.{}\" name=\"seed {}\" time=\"{:.3f}\"",
                        XmlEscape(l.scenario.name), t.seed, t.outcome.wall_ms / 1000.0);
        if (!Failed(t.outcome)) {
          xml += "/>\n";
          continue;
        }
        const std::string detail =
            t.outcome.nondeterministic ? t.outcome.divergence : t.outcome.result.violation->detail;
        xml += fmt::format(
            ">\n      <failure message=\"{}\">{}\nreplay: {}</failure>\n    </testcase>\n",
            XmlEscape(InvariantOf(t.outcome)), XmlEscape(detail),
            XmlEscape(ReplayCommand(l.path, t.seed)));
      }
      xml += "  </testsuite>\n";
    }
    xml += "</testsuites>\n";
    WriteFileOrThrow(junit, xml);
    std::printf("JUnit XML: %s\n", junit.c_str());
  }
  return failures == 0 ? kExitOk : kExitViolation;
}

int DoShrink(const Loaded& loaded, uint64_t seed, uint64_t runs_max, const std::string& prefix,
             const char* commit) {
  std::fputs(Header("shrink", loaded, seed, commit).c_str(), stdout);
  const RunResult failing = scenarios::RunScenario(loaded.scenario, {.seed = seed});
  if (failing.pass) {
    throw InputError{
        fmt::format("seed {} of {} passes: there is nothing to shrink", seed, loaded.path)};
  }
  std::printf("fails with %s after %llu ops; shrinking (at most %llu runs)\n",
              failing.violation->invariant.c_str(), static_cast<unsigned long long>(failing.ops),
              static_cast<unsigned long long>(runs_max));
  std::fflush(stdout);
  const scenarios::ShrinkResult r = scenarios::Shrink(
      loaded.scenario, {.seed = seed}, failing, runs_max, [](const scenarios::ShrinkStep& step) {
        std::printf("  still fails: %s (%llu ops)\n", step.what.c_str(),
                    static_cast<unsigned long long>(step.ops));
        std::fflush(stdout);
      });
  Scenario shrunk = r.scenario;
  shrunk.description = fmt::format("shrunk from {} seed {} ({} steps, {} runs)", loaded.path, seed,
                                   r.steps.size(), r.runs);
  const Loaded out{shrunk, prefix + ".scenario.json", scenarios::ScenarioToJson(shrunk)};
  WriteFileOrThrow(out.path, out.text);
  // Run the shrunk scenario once more from its written text: the report (with wall time) and the
  // repro come from exactly what a replay will run.
  const Outcome o = Execute(out, seed, false);
  const std::string repro_path = prefix + ".repro.json";
  WriteFileOrThrow(repro_path, ReproJson(o, out, seed, commit).dump(2) + "\n");
  std::printf(
      "shrunk in %zu steps (%llu runs): nodes %d -> %d, safety phase %llu -> %llu ms, "
      "ops %llu -> %llu, fixed faults %zu -> %zu\n",
      r.steps.size(), static_cast<unsigned long long>(r.runs), loaded.scenario.nodes, shrunk.nodes,
      static_cast<unsigned long long>(loaded.scenario.duration_ms),
      static_cast<unsigned long long>(shrunk.duration_ms),
      static_cast<unsigned long long>(failing.ops), static_cast<unsigned long long>(r.result.ops),
      loaded.scenario.faults.size(), shrunk.faults.size());
  std::fputs(Report(o, out, seed).c_str(), stdout);
  std::printf("wrote %s and %s\n", out.path.c_str(), repro_path.c_str());
  return kExitOk;
}

uint64_t ParseDuration(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  uint64_t n = 0;
  if (digits == 0 || !absl::SimpleAtoi(text.substr(0, digits), &n)) {
    throw InputError{fmt::format("--time '{}' is not a duration (e.g. 60s, 10m, 2h)", text)};
  }
  const std::string unit = text.substr(digits);
  uint64_t scale;
  if (unit.empty() || unit == "s") {
    scale = 1;
  } else if (unit == "m") {
    scale = 60;
  } else if (unit == "h") {
    scale = 3600;
  } else {
    throw InputError{fmt::format("--time '{}': unknown unit '{}' (use s, m or h)", text, unit)};
  }
  if (n == 0 || n > 366ull * 24 * 3600 / scale) {
    throw InputError{fmt::format("--time '{}' must be between 1 s and a year", text)};
  }
  return n * scale;
}

// A failure's identity for de-duplication: the invariant and the detail with numbers removed.
std::string FailureKey(const Outcome& o) {
  std::string detail = o.nondeterministic ? std::string("nondeterministic")
                                          : o.result.violation->detail.substr(0, 80);
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

int DoFuzz(const Loaded& loaded, uint64_t time_s, uint64_t runs, int jobs, uint64_t shard,
           uint64_t shards, const std::string& out_dir, bool check_determinism, uint64_t seed_base,
           const char* commit) {
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec)
    throw InputError{
        fmt::format("--out {}: cannot create the directory: {}", out_dir, ec.message())};
  std::printf(
      "seedgrid fuzz  scenario=%s (%s)  budget=%s  jobs=%d  shard=%llu/%llu  seed_base=%llu  "
      "out=%s  commit=%s\n",
      loaded.scenario.name.c_str(), loaded.path.c_str(),
      runs ? fmt::format("{} runs", runs).c_str() : fmt::format("{} s", time_s).c_str(), jobs,
      static_cast<unsigned long long>(shard), static_cast<unsigned long long>(shards),
      static_cast<unsigned long long>(seed_base), out_dir.c_str(), commit);
  std::fflush(stdout);
  const bool tty = isatty(fileno(stderr));
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::seconds(time_s);
  std::atomic<uint64_t> next{0};
  std::mutex mu;
  uint64_t done = 0, failures = 0;
  absl::btree_map<std::string, uint64_t> distinct;  // failure key -> first seed
  const auto elapsed_s = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  std::vector<std::thread> threads;
  for (int j = 0; j < jobs; ++j) {
    threads.emplace_back([&] {
      for (;;) {
        const uint64_t k = next++;
        if (runs > 0 ? k >= runs : std::chrono::steady_clock::now() >= deadline) return;
        // Shard i of n takes seeds base + k*n + i: shards never repeat each other's seeds.
        const uint64_t seed = seed_base + k * shards + shard;
        const Outcome o = Execute(loaded, seed, check_determinism);
        std::lock_guard<std::mutex> lock(mu);
        ++done;
        if (Failed(o)) {
          ++failures;
          const std::string key = FailureKey(o);
          if (distinct.emplace(key, seed).second) {
            std::string name = loaded.scenario.name;  // A file name: keep it one path segment.
            for (char& c : name) {
              if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
            }
            const std::string path = fmt::format("{}/{}-seed-{}.repro.json", out_dir, name, seed);
            std::ofstream out(path, std::ios::binary | std::ios::trunc);
            out << ReproJson(o, loaded, seed, commit).dump(2) << "\n";
            if (!out.flush()) {
              std::fprintf(stderr, "seedgrid fuzz: cannot write %s\n", path.c_str());
            }
            std::fprintf(stdout, "%sFAIL seed %llu: %s\n  saved %s\n  replay: seedgrid replay %s\n",
                         tty ? "\r\033[K" : "", static_cast<unsigned long long>(seed), key.c_str(),
                         path.c_str(), path.c_str());
            std::fflush(stdout);
          }
        }
        if (tty) {
          std::fprintf(stderr, "\r\033[Kruns=%llu failures=%llu distinct=%zu runs/s=%.1f",
                       static_cast<unsigned long long>(done),
                       static_cast<unsigned long long>(failures), distinct.size(),
                       done / std::max(elapsed_s(), 1e-3));
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  if (tty) std::fputs("\n", stderr);
  const double wall = elapsed_s();
  std::printf("%llu runs in %.1f s (%.1f runs/s, %.0f runs/min), %llu failed, %zu distinct\n",
              static_cast<unsigned long long>(done), wall, done / std::max(wall, 1e-3),
              60.0 * done / std::max(wall, 1e-3), static_cast<unsigned long long>(failures),
              distinct.size());
  return failures == 0 ? kExitOk : kExitViolation;
}

}  // namespace

bool IsSimCommand(std::string_view command) {
  return command == "run" || command == "replay" || command == "suite" || command == "fuzz" ||
         command == "shrink";
}

int SimCommandMain(int argc, char** argv, const char* commit) {
  const std::string command = argv[0];
  CLI::App app("", "seedgrid " + command);
  app.set_help_flag("-h,--help", "show this help");
  // A repeated option takes its last value (so wrappers can pass defaults and users override).
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  RunFlags f;
  std::string dir, junit, time_text, shard_text = "0/1", out_dir = "fuzz-out", seed_base_text;
  uint64_t seeds = 5, runs = 0;
  std::string first_seed_text = "1";
  std::string shrink_prefix = "shrunk";
  std::string hashes_file;
  CLI::Option* seed_option = nullptr;
  uint64_t shrink_runs = 300;
  int jobs = 1;
  if (command == "run") {
    app.description(
        "Runs one seeded simulation of a scenario: a safety phase (workload and faults), then a "
        "liveness phase (faults healed) that must converge; every invariant is checked.\nExit "
        "codes: 0 pass, 1 invariant violation (or nondeterminism), 2 usage or input error.");
    app.add_option("--scenario", f.scenario, "scenario file (JSON; see docs/scenarios.md)")
        ->required();
    app.add_option("--seed", f.seed, "root seed, decimal or 0x-hex")->capture_default_str();
    AddRunFlags(app, f);
  } else if (command == "replay") {
    app.description(
        "Reproduces a run bit for bit: from a repro file written by run --repro-out or fuzz, or "
        "from --scenario and --seed. Prints the same report and trace hash as the original.");
    app.add_option("REPRO_FILE", f.repro_file, "repro file (JSON) written by run or fuzz");
    app.add_option("--scenario", f.scenario, "scenario file (with --seed)");
    seed_option = app.add_option("--seed", f.seed, "root seed (with --scenario)");
    AddRunFlags(app, f);
  } else if (command == "suite") {
    app.description(
        "Runs every scenario (*.json) in DIR for K seeds (first-seed .. first-seed+K-1) and "
        "prints a summary table; optional JUnit XML for CI systems.");
    app.add_option("DIR", dir, "directory of scenario files")->required();
    app.add_option("--seeds", seeds, "seeds per scenario")
        ->check(CLI::Range(1, 1'000'000))
        ->capture_default_str();
    app.add_option("--first-seed", first_seed_text, "first seed")->capture_default_str();
    app.add_option("--junit", junit, "write JUnit XML here");
    app.add_option("--hashes", hashes_file,
                   "write 'scenario seed trace_hash verdict' per run here (compare two processes "
                   "or two builds)");
    app.add_option("--jobs", jobs, "parallel runs (each owns a whole simulation)")
        ->check(CLI::Range(1, 1024))
        ->capture_default_str();
    app.add_flag("--check-determinism", f.check_determinism,
                 "run each seed twice and fail on any difference");
  } else if (command == "shrink") {
    app.description(
        "Shrinks a failing run: tries simpler scenarios with the same seed (fewer faults, fault "
        "kinds off, buggify off, a shorter safety phase, fewer nodes, a lighter workload) and "
        "keeps each one that still fails the same invariant. Writes PREFIX.scenario.json and "
        "PREFIX.repro.json. Exit 0 when shrunk, 2 when the run passes or the input is bad.");
    app.add_option("REPRO_FILE", f.repro_file, "repro file (JSON) written by run or fuzz");
    app.add_option("--scenario", f.scenario, "scenario file (with --seed)");
    app.add_option("--seed", f.seed, "root seed (with --scenario)");
    app.add_option("--out", shrink_prefix, "output prefix")->capture_default_str();
    app.add_option("--max-runs", shrink_runs, "run budget for the search")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
  } else {
    app.description(
        "Runs fresh seeds of one scenario until the budget is spent, on --jobs cores; saves each "
        "distinct failure as a repro file in --out. --shard i/n makes n machines take disjoint "
        "seeds (seed = seed-base + k*n + i).");
    app.add_option("--scenario", f.scenario, "scenario file")->required();
    auto* time_opt = app.add_option("--time", time_text, "time budget, e.g. 60s, 10m, 2h");
    auto* runs_opt = app.add_option("--runs", runs, "run budget")->check(CLI::PositiveNumber);
    time_opt->excludes(runs_opt);
    app.add_option("--jobs", jobs, "parallel runs")
        ->check(CLI::Range(1, 1024))
        ->capture_default_str();
    app.add_option("--shard", shard_text, "this machine's shard i of n, as i/n")
        ->capture_default_str();
    app.add_option("--out", out_dir, "directory for repro files")->capture_default_str();
    app.add_option("--seed-base", seed_base_text,
                   "first seed (default: drawn from the OS, printed at start)");
    app.add_flag("--check-determinism", f.check_determinism,
                 "run each seed twice and fail on any difference");
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "seedgrid %s: %s\nRun 'seedgrid %s --help' for usage.\n", command.c_str(),
                 e.what(), command.c_str());
    return kExitUsage;
  }
  const bool seed_given = seed_option != nullptr && seed_option->count() > 0;
  try {
    if (command == "run") {
      return DoRun("run", LoadScenarioFile(f.scenario), ParseSeed(f.seed), f, commit, nullptr);
    }
    if (command == "replay") {
      if (!f.repro_file.empty()) {
        if (!f.scenario.empty() || seed_given) {
          throw InputError{"give either REPRO_FILE or --scenario with --seed, not both"};
        }
        json repro;
        const Loaded loaded = LoadRepro(f.repro_file, repro);
        return DoRun("replay", loaded, repro["seed"].get<uint64_t>(), f, commit, &repro);
      }
      if (f.scenario.empty()) {
        throw InputError{"give a REPRO_FILE, or --scenario F and --seed N"};
      }
      return DoRun("replay", LoadScenarioFile(f.scenario), ParseSeed(f.seed), f, commit, nullptr);
    }
    if (command == "shrink") {
      uint64_t seed;
      Loaded loaded;
      if (!f.repro_file.empty()) {
        if (!f.scenario.empty()) {
          throw InputError{"give either REPRO_FILE or --scenario with --seed, not both"};
        }
        json repro;
        loaded = LoadRepro(f.repro_file, repro);
        seed = repro["seed"].get<uint64_t>();
      } else if (!f.scenario.empty()) {
        loaded = LoadScenarioFile(f.scenario);
        seed = ParseSeed(f.seed);
      } else {
        throw InputError{"give a REPRO_FILE, or --scenario F and --seed N"};
      }
      return DoShrink(loaded, seed, shrink_runs, shrink_prefix, commit);
    }
    if (command == "suite") {
      return DoSuite(dir, seeds, ParseSeed(first_seed_text, "--first-seed"), jobs, junit,
                     hashes_file, f.check_determinism, commit);
    }
    // fuzz
    if (time_text.empty() && runs == 0) throw InputError{"give a budget: --time 60s or --runs N"};
    const uint64_t time_s = time_text.empty() ? 0 : ParseDuration(time_text);
    uint64_t shard = 0, shards = 1;
    const size_t slash = shard_text.find('/');
    if (slash == std::string::npos || !absl::SimpleAtoi(shard_text.substr(0, slash), &shard) ||
        !absl::SimpleAtoi(shard_text.substr(slash + 1), &shards) || shards == 0 ||
        shard >= shards) {
      throw InputError{fmt::format("--shard '{}' must be i/n with 0 <= i < n", shard_text)};
    }
    uint64_t seed_base;
    if (seed_base_text.empty()) {
      std::random_device os;  // Tools may use OS entropy: only to pick fresh seeds, printed.
      const uint64_t high = os();
      const uint64_t low = os();
      seed_base = ((high << 32) | low) & ((uint64_t{1} << 48) - 1);
    } else {
      seed_base = ParseSeed(seed_base_text, "--seed-base");
    }
    return DoFuzz(LoadScenarioFile(f.scenario), time_s, runs, jobs, shard, shards, out_dir,
                  f.check_determinism, seed_base, commit);
  } catch (const InputError& e) {
    std::fprintf(stderr, "seedgrid %s: %s\n", command.c_str(), e.message.c_str());
    return kExitUsage;
  } catch (const std::exception& e) {  // e.g. a filesystem or JSON library error on bad input
    std::fprintf(stderr, "seedgrid %s: %s\n", command.c_str(), e.what());
    return kExitUsage;
  }
}

}  // namespace seedgrid::tools
