#include "tools/seedgrid/isolation.h"

#include <fmt/format.h>
#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "engine/base/assert.h"
#include "tools/seedgrid/outcome_codec.h"

namespace seedgrid::tools {

namespace {

// The stderr lines that say why a worker died, at most `max` of them, in order.
std::vector<std::string> TellingLines(std::string_view tail, size_t max) {
  static constexpr std::string_view kMarks[] = {"assertion failed",
                                                "ERROR: AddressSanitizer",
                                                "ERROR: LeakSanitizer",
                                                "runtime error:",
                                                "SUMMARY:",
                                                "terminate called",
                                                "what():",
                                                "Assertion `"};
  std::vector<std::string> lines;
  for (size_t at = 0; at < tail.size();) {
    size_t end = tail.find('\n', at);
    if (end == std::string_view::npos) end = tail.size();
    const std::string_view line = tail.substr(at, end - at);
    at = end + 1;
    for (std::string_view mark : kMarks) {
      if (line.find(mark) == std::string_view::npos) continue;
      lines.emplace_back(line.substr(0, 300));
      break;
    }
    if (lines.size() == max) break;
  }
  return lines;
}

Outcome Failure(const scenarios::SwarmDraw& swarm, const char* invariant, std::string detail,
                double wall_ms) {
  Outcome o;
  o.result.swarm = swarm;
  o.result.violation = scenarios::RunViolation{invariant, std::move(detail), 0, 0};
  o.wall_ms = wall_ms;
  return o;
}

// Shared with a diagnosing worker: the last events it recorded, written slot by slot.
struct EventRing {
  struct Slot {
    uint64_t time_ns;
    char text[232];
  };
  uint64_t count;  // events written; slot = count % kLastEvents
  Slot slots[kLastEvents];
};

}  // namespace

std::string CrashCause(const TaskEnd& end) {
  std::string cause;
  if (end.signal != 0) {
    const char* abbrev = sigabbrev_np(end.signal);
    cause = fmt::format("killed by SIG{} (signal {})", abbrev ? abbrev : "?", end.signal);
  } else if (end.exit_status >= 0) {
    cause = fmt::format("exited with status {}", end.exit_status);
  } else {
    cause = "the worker's result could not be read";
  }
  for (const std::string& line : TellingLines(end.stderr_tail, 4)) cause += "\n  " + line;
  return cause;
}

Outcome OutcomeOf(TaskEnd& end, const scenarios::SwarmDraw& swarm, double run_timeout_s) {
  if (end.kind == TaskEnd::Kind::kTimedOut) {
    return Failure(swarm, kHangInvariant,
                   fmt::format("no result after {:.0f} s of wall time (--run-timeout); the run "
                               "was killed",
                               run_timeout_s),
                   end.wall_ms);
  }
  if (end.kind == TaskEnd::Kind::kDone) {
    if (std::optional<Outcome> o = DecodeOutcome(end.payload)) return std::move(*o);
    end.signal = 0, end.exit_status = -1;  // Garbled: report it as a crash.
  }
  return Failure(swarm, kCrashInvariant, CrashCause(end), end.wall_ms);
}

Diagnosis Diagnose(const Loaded& loaded, uint64_t seed, double run_timeout_s,
                   const std::optional<scenarios::SwarmDraw>& swarm) {
  void* shared =
      mmap(nullptr, sizeof(EventRing), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED) return Diagnosis{};
  auto* ring = static_cast<EventRing*>(shared);
  std::memset(ring, 0, sizeof *ring);
  Diagnosis d;
  d.end = RunIsolated(
      [&] {
        const Outcome o = Execute(
            loaded, seed, false,
            [ring](const sim::TraceEvent& e) {
              EventRing::Slot& slot = ring->slots[ring->count % kLastEvents];
              slot.time_ns = e.time_ns;
              const std::string text = sim::DescribeEvent(e, e.detail);
              std::snprintf(slot.text, sizeof slot.text, "%s", text.c_str());
              ++ring->count;
            },
            swarm);
        return EncodeOutcome(o);
      },
      run_timeout_s);
  d.events = ring->count;
  const uint64_t first = ring->count > kLastEvents ? ring->count - kLastEvents : 0;
  for (uint64_t i = first; i < ring->count; ++i) {
    d.last_events.emplace_back(ring->slots[i % kLastEvents].text);
    d.last_time_ns = ring->slots[i % kLastEvents].time_ns;
  }
  munmap(shared, sizeof(EventRing));
  return d;
}

void AddDiagnosis(Outcome& o, const Diagnosis& d) {
  SG_ASSERT(o.result.violation.has_value());
  scenarios::RunViolation& v = *o.result.violation;
  const std::string first_cause = v.detail.substr(0, v.detail.find('\n'));
  std::string second;
  if (d.end.kind == TaskEnd::Kind::kCrashed) {
    const std::string cause = CrashCause(d.end);
    second = cause.substr(0, cause.find('\n'));
  } else {
    second = d.end.kind == TaskEnd::Kind::kDone ? "finished" : "timed out";
  }
  v.detail += second == first_cause
                  ? fmt::format("\n  a second run of the seed crashed the same way (deterministic)")
                  : fmt::format("\n  a second run of the seed ended differently: {}", second);
  if (d.last_events.empty()) return;
  v.virtual_time_ns = d.last_time_ns;
  v.event_index = d.events;
  v.detail += fmt::format("\n  the last {} trace events before the crash:", d.last_events.size());
  for (const std::string& e : d.last_events) v.detail += "\n    " + e;
}

TaskEnd RunIsolated(const std::function<std::string()>& fn, double run_timeout_s) {
  TaskEnd result;
  ProcessPool pool(
      {.jobs = 1, .tasks_max = 1, .results_waiting_max = 1, .run_timeout_s = run_timeout_s},
      [&](uint64_t, const std::string&) { return fn(); },
      [&](uint64_t, TaskEnd& end) { result = std::move(end); });
  pool.Run();
  if (pool.interrupted()) {
    std::fputs("\nseedgrid: interrupted\n", stderr);
    std::exit(130);
  }
  return result;
}

}  // namespace seedgrid::tools
