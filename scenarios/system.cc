#include "scenarios/system.h"

#include <fmt/format.h>

#include <algorithm>
#include <deque>

#include "absl/synchronization/mutex.h"
#include "engine/base/assert.h"
#include "sim/random.h"

namespace seedgrid::scenarios {

namespace {

// The registry: filled at start-up, then only read. A deque keeps FindSystem's pointers stable.
struct Registry {
  absl::Mutex mu;
  std::deque<SystemSpec> systems;
};

Registry& TheRegistry() {
  static Registry* registry = new Registry;  // Never destroyed: runs may outlive main's scope.
  return *registry;
}

bool ValidName(std::string_view name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

}  // namespace

absl::Status RegisterSystem(SystemSpec spec) {
  if (!ValidName(spec.name) || spec.name == "replica" || spec.name == "grid") {
    return absl::InvalidArgumentError(fmt::format(
        "system name '{}': want 1..64 of [a-z0-9_], not 'replica' or 'grid'", spec.name));
  }
  if (!spec.make) {
    return absl::InvalidArgumentError(fmt::format("system '{}': no `make` function", spec.name));
  }
  for (size_t i = 0; i < spec.invariants.size(); ++i) {
    const std::string& name = spec.invariants[i].name;
    if (!ValidName(name) || invariants::ParseInvariant(name).has_value()) {
      return absl::InvalidArgumentError(
          fmt::format("system '{}': invariant name '{}' must be [a-z0-9_]+ and not one of the "
                      "built-in invariants",
                      spec.name, name));
    }
    for (size_t j = 0; j < i; ++j) {
      if (spec.invariants[j].name == name) {
        return absl::InvalidArgumentError(
            fmt::format("system '{}': invariant '{}' listed twice", spec.name, name));
      }
    }
  }
  Registry& r = TheRegistry();
  absl::MutexLock lock(&r.mu);
  for (const SystemSpec& s : r.systems) {
    if (s.name == spec.name) {
      return absl::AlreadyExistsError(fmt::format("system '{}' is already registered", spec.name));
    }
  }
  r.systems.push_back(std::move(spec));
  return absl::OkStatus();
}

const SystemSpec* FindSystem(std::string_view name) {
  Registry& r = TheRegistry();
  absl::MutexLock lock(&r.mu);
  for (const SystemSpec& s : r.systems) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

std::string SystemList() {
  Registry& r = TheRegistry();
  absl::MutexLock lock(&r.mu);
  std::string out;
  for (const SystemSpec& s : r.systems) out += (out.empty() ? "" : ", ") + s.name;
  return out.empty() ? "none" : out;
}

PeerCluster::PeerCluster(RunContext& run)
    : run_(run), arrivals_(sim::Substream(run.seed, "system/arrivals")) {}

void PeerCluster::ScheduleWorkload() {
  if (run_.scenario.ops_per_sec > 0) ScheduleNextOp();
}

// Poisson arrivals over the safety phase; each picks a node uniformly, whether or not it is then
// applied, and each operation draws from a stream of its own (the seed and its index): dropping
// an operation (shrink) or skipping one on a node that is down changes no other operation.
void PeerCluster::ScheduleNextOp() {
  const uint64_t gap = sim::Exponential(arrivals_, 1'000'000'000 / run_.scenario.ops_per_sec);
  const uint64_t at = run_.sim.now_ns() + std::max<uint64_t>(gap, 1);
  if (at >= run_.scenario.duration_ms * kNsPerMs) return;
  run_.sim.At(at, [this] {
    const uint64_t index = arrivals_seen_++;
    const int node = static_cast<int>(arrivals_.Uniform(run_.scenario.nodes));
    const bool apply = run_.op_schedule.Next();
    if (apply && run_.sim.alive(node) && !run_.sim.paused(node) && !run_.violated()) {
      Xoshiro256 op_random = sim::Substream(run_.seed, fmt::format("system/op/{}", index));
      sim::Simulator::ActingAs acting(run_.sim, node);  // Crash points in the call hit `node`.
      ++ops_;
      Operate(node, op_random);
    }
    ScheduleNextOp();
  });
}

std::string PeerCluster::SafetyText() const {
  return fmt::format("{} {} nodes, {}", run_.scenario.nodes, run_.scenario.system,
                     run_.swarm.ToString());
}

int PeerCluster::PickCrash(Random& r) { return static_cast<int>(r.Uniform(run_.scenario.nodes)); }

void PeerCluster::Shutdown() {
  for (int i = 0; i < run_.scenario.nodes; ++i) {
    if (run_.sim.alive(i)) StopNode(i);
  }
}

void PeerCluster::TraceOp(int node, const std::string& text) {
  run_.sim.trace().Record(run_.sim.now_ns(), sim::TraceKind::kOp, node, -1, OpDigest(text),
                          [&] { return text; });
}

}  // namespace seedgrid::scenarios
