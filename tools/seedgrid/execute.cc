#include "tools/seedgrid/execute.h"

#include <fmt/format.h>

#include <chrono>
#include <utility>
#include <vector>

#include "engine/base/assert.h"
#include "engine/base/strings.h"
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

// The second run in a fresh process (fresh_rerun.h). On a difference, two more runs in this
// process, both keeping their logs, locate it: if they differ too, the first divergent event is
// named; if not, the difference is one only a fresh process shows.
void CheckInFreshProcess(const Loaded& loaded, uint64_t seed,
                         const std::optional<scenarios::SwarmDraw>& swarm, Outcome& out) {
  const absl::StatusOr<FreshRun> fresh = RerunInFreshProcess(loaded.scenario, seed, swarm);
  if (fresh.ok() && fresh->trace_hash == out.result.trace_hash) return;
  const uint64_t first_hash = out.result.trace_hash;
  Outcome third{scenarios::RunScenario(loaded.scenario,
                                       {.seed = seed, .keep_trace_log = true, .swarm = swarm})};
  CheckInProcess(loaded, seed, swarm, third);
  out.nondeterministic = true;
  if (third.nondeterministic) {
    out.divergence = third.divergence;
  } else if (!fresh.ok()) {
    out.divergence = fmt::format("the seed's second run, in a fresh process, failed: {}",
                                 ToStd(fresh.status().message()));
  } else if (third.result.trace_hash != first_hash) {
    out.divergence = fmt::format(
        "the same seed gave trace hashes {} and {} in this process (a third run agreed with the "
        "second) and {} in a fresh process",
        Hex(first_hash), Hex(third.result.trace_hash), Hex(fresh->trace_hash));
  } else {
    out.divergence = fmt::format(
        "the same seed gave trace hash {} in this process (three runs) and {} in a fresh "
        "process: a hazard stable within a process (a per-process hash seed, an address, the "
        "environment); compare the `run --trace` files of two separate runs",
        Hex(first_hash), Hex(fresh->trace_hash));
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
