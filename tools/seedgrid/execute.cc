#include "tools/seedgrid/execute.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <mutex>
#include <utility>
#include <vector>

#include "engine/base/assert.h"
#include "engine/base/strings.h"
#include "tools/seedgrid/command.h"
#include "tools/seedgrid/fresh_rerun.h"

namespace seedgrid::tools {

namespace {

// The event at `at` of `log`, described for a person.
std::string DescribeAt(const std::vector<sim::Trace::LoggedEvent>& log, int64_t at) {
  if (at < 0 || static_cast<size_t>(at) >= log.size()) return std::string("<no event>");
  const auto& e = log[at];
  return sim::DescribeEvent(sim::TraceEvent{static_cast<uint64_t>(at), e.time_ns, e.kind, e.node,
                                            e.peer, e.digest, e.detail},
                            e.detail);
}

// The second run in this process: marks `out` nondeterministic on any difference, naming the first
// divergent event (`out` kept its trace log).
void CheckInProcess(const Loaded& loaded, uint64_t seed,
                    const std::optional<scenarios::SwarmDraw>& swarm, Outcome& out) {
  scenarios::RunOptions again{.seed = seed, .keep_trace_log = true, .swarm = swarm};
  scenarios::RunResult second = scenarios::RunScenario(loaded.scenario, again);
  const int64_t at = sim::FirstDivergence(out.result.trace_log, second.trace_log);
  if (at >= 0 || second.trace_hash != out.result.trace_hash) {
    out.nondeterministic = true;
    out.divergence = fmt::format(
        "the same seed ran twice with different traces ({} vs {}); first divergent event "
        "#{}:\n    run 1: {}\n    run 2: {}",
        Hex(out.result.trace_hash), Hex(second.trace_hash), at,
        DescribeAt(out.result.trace_log, at), DescribeAt(second.trace_log, at));
  }
  out.result.trace_log.clear();
}

// Says once per process that fresh reruns cannot start here, and that the check runs in process.
void WarnNoFreshProcess(const absl::Status& why) {
  static std::once_flag once;
  std::call_once(once, [&] {
    std::fprintf(stderr,
                 "%s: warning: cannot start a fresh process for --check-determinism (%s); the "
                 "second run is in this process, which cannot see hazards stable within one\n",
                 ProgramName(), std::string(ToStd(why.message())).c_str());
  });
}

// What the fresh-process rerun gave, for a divergence message.
std::string FreshText(const absl::StatusOr<FreshRun>& fresh) {
  if (!fresh.ok())
    return fmt::format("the fresh-process rerun failed: {}", ToStd(fresh.status().message()));
  return fmt::format("the fresh-process rerun gave trace hash {} ({})", Hex(fresh->trace_hash),
                     fresh->pass ? "pass" : "fail");
}

// The second run in a fresh process (fresh_rerun.h): its trace hash and verdict must equal run
// 1's. On a difference, runs 3 and 4 here, both keeping their logs, locate it: if they differ, the
// first divergent event is named; if run 3 differs from run 1, both hashes; else the difference
// is one only a fresh process shows. When no fresh process can start, runs 3 and 4 are the check.
void CheckInFreshProcess(const Loaded& loaded, uint64_t seed,
                         const std::optional<scenarios::SwarmDraw>& swarm, Outcome& out) {
  const absl::StatusOr<FreshRun> fresh = RerunInFreshProcess(loaded.scenario, seed, swarm);
  const uint64_t hash1 = out.result.trace_hash;
  if (fresh.ok() && fresh->trace_hash == hash1 && fresh->pass == out.result.pass) return;
  const bool unavailable = absl::IsUnavailable(fresh.status());
  if (unavailable) WarnNoFreshProcess(fresh.status());
  Outcome third{scenarios::RunScenario(loaded.scenario,
                                       {.seed = seed, .keep_trace_log = true, .swarm = swarm})};
  CheckInProcess(loaded, seed, swarm, third);  // runs 3 and 4
  const uint64_t hash3 = third.result.trace_hash;
  if (unavailable && !third.nondeterministic && hash3 == hash1) return;
  out.nondeterministic = true;
  if (third.nondeterministic) {
    out.divergence = fmt::format("runs 3 and 4 (this process): {}", third.divergence);
    if (!unavailable) out.divergence += fmt::format("\n    and {}", FreshText(fresh));
  } else if (hash3 != hash1) {
    out.divergence = fmt::format(
        "the same seed gave trace hash {} in run 1 and {} in runs 3 and 4 (this process); {}",
        Hex(hash1), Hex(hash3), unavailable ? "no fresh process" : FreshText(fresh));
  } else if (!fresh.ok()) {
    out.divergence = fmt::format("runs 1, 3 and 4 (this process) agree on trace hash {}, but {}",
                                 Hex(hash1), FreshText(fresh));
  } else {
    out.divergence = fmt::format(
        "the same seed gave trace hash {} ({}) in runs 1, 3 and 4 (this process), but {}: a "
        "hazard stable within a process (a per-process hash seed, an address, the environment); "
        "compare the `run --trace` files of two separate runs",
        Hex(hash1), out.result.pass ? "pass" : "fail", FreshText(fresh));
  }
}

}  // namespace

Outcome Execute(const Loaded& loaded, uint64_t seed, bool check_determinism, sim::Trace::Sink sink,
                const std::optional<scenarios::SwarmDraw>& swarm, sim::DispatchObserver* observer) {
  const auto start = std::chrono::steady_clock::now();
  const bool fresh = check_determinism && FreshRerunsEnabled();
  scenarios::RunOptions o{.seed = seed,
                          .trace_sink = std::move(sink),
                          .keep_trace_log = check_determinism && !fresh,
                          .swarm = swarm,
                          .observer = observer};
  Outcome out{scenarios::RunScenario(loaded.scenario, o)};
  out.wall_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (fresh) {
    CheckInFreshProcess(loaded, seed, swarm, out);
  } else if (check_determinism) {
    CheckInProcess(loaded, seed, swarm, out);
  }
  return out;
}

bool Failed(const Outcome& o) { return !o.result.pass || o.nondeterministic; }

std::string InvariantOf(const Outcome& o) {
  if (o.nondeterministic) return "determinism";
  return o.result.violation ? o.result.violation->invariant : "";
}

const std::string& FailureDetail(const Outcome& o) {
  SG_ASSERT(Failed(o));
  if (o.nondeterministic) return o.divergence;
  SG_ASSERT(o.result.violation.has_value());
  return o.result.violation->detail;
}

}  // namespace seedgrid::tools
