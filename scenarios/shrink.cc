#include "scenarios/shrink.h"

#include <fmt/format.h>

#include <optional>

#include "engine/base/assert.h"
#include "scenarios/ddmin.h"

namespace seedgrid::scenarios {

namespace {

// Removes node `gone` (the highest index) from a fault; false when the fault no longer makes sense.
bool DropNode(FaultEvent& f, int gone) {
  if (f.node == gone) return false;
  for (std::vector<int>* list : {&f.nodes, &f.from, &f.to, &f.left, &f.right}) {
    const bool had = !list->empty();
    std::erase(*list, gone);
    if (had && list->empty()) return false;
  }
  return true;
}

}  // namespace

std::vector<std::pair<std::string, Scenario>> ShrinkCandidates(const Scenario& s) {
  std::vector<std::pair<std::string, Scenario>> out;
  const auto add = [&](std::string what, const std::function<void(Scenario&)>& change) {
    Scenario c = s;
    change(c);
    if (!(c == s)) out.emplace_back(std::move(what), std::move(c));
  };
  for (size_t i = 0; i < s.faults.size(); ++i) {
    add(fmt::format("drop fault {} at {} ms", FaultKindName(s.faults[i].kind), s.faults[i].at_ms),
        [i](Scenario& c) { c.faults.erase(c.faults.begin() + static_cast<ptrdiff_t>(i)); });
  }
  const std::pair<const char*, Range Swarm::*> kinds[] = {
      {"loss_ppm", &Swarm::loss_ppm},
      {"duplicate_ppm", &Swarm::duplicate_ppm},
      {"reorder_ppm", &Swarm::reorder_ppm},
      {"partitions_per_min", &Swarm::partitions_per_min},
      {"crashes_per_min", &Swarm::crashes_per_min},
      {"pauses_per_min", &Swarm::pauses_per_min},
      {"clock_steps_per_min", &Swarm::clock_steps_per_min},
      {"clogs_per_min", &Swarm::clogs_per_min},
      {"power_losses_per_min", &Swarm::power_losses_per_min},
      {"zone_losses_per_min", &Swarm::zone_losses_per_min},
      {"restart_clock_behind_pct", &Swarm::restart_clock_behind_pct},
      {"crash_points_ppm", &Swarm::crash_points_ppm}};
  for (const auto& [name, member] : kinds) {
    if ((s.swarm.*member).hi > 0) {
      add(fmt::format("swarm {} off", name), [m = member](Scenario& c) { c.swarm.*m = Range{}; });
    }
  }
  if (s.swarm.buggify) add("buggify off", [](Scenario& c) { c.swarm.buggify = false; });
  if (s.grid && s.grid->storage_errors_ppm.hi > 0) {
    add("grid storage_errors_ppm off", [](Scenario& c) { c.grid->storage_errors_ppm = Range{}; });
  }
  if (s.grid && s.grid->offline_per_min.hi > 0) {
    add("grid offline_per_min off", [](Scenario& c) { c.grid->offline_per_min = Range{}; });
  }
  // A shorter safety phase: half, or (when half is too short) three quarters.
  for (const uint64_t parts : {2, 4}) {
    const uint64_t shorter = s.duration_ms * (parts - 1) / parts;
    if (s.duration_ms < 200) break;
    add(fmt::format("duration {} -> {} ms", s.duration_ms, shorter), [shorter](Scenario& c) {
      c.duration_ms = shorter;
      std::erase_if(c.faults, [&](const FaultEvent& f) { return f.at_ms >= c.duration_ms; });
    });
  }
  if (s.grid && s.grid->clients > 1) {
    // Grid runs: the clients are the last node indexes, so dropping the last client keeps every
    // other index (and the servers) in place.
    add(fmt::format("clients {} -> {}", s.grid->clients, s.grid->clients - 1), [](Scenario& c) {
      --c.grid->clients;
      const int gone = --c.nodes;
      std::erase_if(c.faults, [gone](FaultEvent& f) { return !DropNode(f, gone); });
    });
  }
  if (!s.grid && s.nodes > 1) {
    add(fmt::format("nodes {} -> {}", s.nodes, s.nodes - 1), [](Scenario& c) {
      const int gone = --c.nodes;
      std::erase_if(c.faults, [gone](FaultEvent& f) { return !DropNode(f, gone); });
    });
  }
  if (s.ops_per_sec > 1) {
    add(fmt::format("ops_per_sec {} -> {}", s.ops_per_sec, s.ops_per_sec / 2),
        [](Scenario& c) { c.ops_per_sec /= 2; });
  }
  if (s.keys > 1) {
    add(fmt::format("keys {} -> {}", s.keys, s.keys / 2), [](Scenario& c) { c.keys /= 2; });
  }
  if (s.subscriptions_per_node > 0) {
    add("no subscriptions", [](Scenario& c) { c.subscriptions_per_node = 0; });
  }
  const std::pair<const char*, uint32_t OpMix::*> ops[] = {
      {"lww_set", &OpMix::lww_set}, {"lww_remove", &OpMix::lww_remove},
      {"or_add", &OpMix::or_add},   {"or_remove", &OpMix::or_remove},
      {"counter", &OpMix::counter}, {"query", &OpMix::query}};
  for (const auto& [name, member] : ops) {
    if (s.mix.*member > 0 && s.mix.total() > s.mix.*member) {
      add(fmt::format("no {} ops", name), [m = member](Scenario& c) { c.mix.*m = 0; });
    }
  }
  return out;
}

ShrinkSize SizeOf(const Scenario& s, const RunResult& r) {
  return ShrinkSize{s.nodes, r.ops_generated - r.ops_dropped, r.faults_generated - r.faults_dropped,
                    r.events};
}

ShrinkResult ShrinkStart(const Scenario& s, const RunResult& failing) {
  SG_ASSERT(!failing.pass && failing.violation.has_value());
  ShrinkResult r;
  r.scenario = s;
  r.result = failing;
  return r;
}

ShrinkResult ShrinkStructure(ShrinkResult best, const RunOptions& options, uint64_t runs_max,
                             const ShrinkProgress& progress, const CandidateRunner& run) {
  const std::string invariant = best.result.violation->invariant;
  bool improved = true;
  while (improved && best.runs < runs_max) {
    improved = false;
    for (auto& [what, candidate] : ShrinkCandidates(best.scenario)) {
      if (best.runs >= runs_max) break;
      ++best.runs;
      ++best.structure_runs;
      RunResult r = run ? run(candidate, options) : RunScenario(candidate, options);
      if (r.pass || r.violation->invariant != invariant) continue;
      ShrinkStep step{what, r.ops};
      if (progress) progress(step);
      best.steps.push_back(std::move(step));
      best.scenario = std::move(candidate);
      best.result = std::move(r);
      best.schedule_minimal = false;  // A new scenario: its schedule was not searched.
      improved = true;
      break;
    }
  }
  return best;
}

namespace {

// The one kind of schedule item a ddmin stage works on.
struct ItemKind {
  const char* name;                // "faults" or "ops"
  IndexSet ScheduleDrops::*drops;  // the scenario's drop set of the kind
  uint64_t RunResult::*generated;  // how many the run generated
  uint64_t ShrinkResult::*runs;    // where the stage's runs are counted
};

// The items of `kind` that best.result applied, in index order.
std::vector<uint64_t> AppliedItems(const ShrinkResult& best, const ItemKind& kind) {
  const IndexSet& drops = best.scenario.schedule.*kind.drops;
  std::vector<uint64_t> out;
  for (uint64_t i = 0; i < best.result.*kind.generated; ++i) {
    if (!drops.Contains(i)) out.push_back(i);
  }
  return out;
}

// ddmin over one kind of item; true when it ended 1-minimal.
bool ShrinkItems(ShrinkResult& best, const ItemKind& kind, const RunOptions& options,
                 uint64_t runs_max, const ShrinkProgress& progress, const CandidateRunner& run) {
  const std::string invariant = best.result.violation->invariant;
  const std::vector<uint64_t> items = AppliedItems(best, kind);
  const uint64_t budget = runs_max > best.runs ? runs_max - best.runs : 0;
  // The last test that failed is the result's (ddmin keeps exactly the lists that fail).
  std::optional<std::pair<Scenario, RunResult>> last;
  const DdminResult d = Ddmin(items, budget, [&](const std::vector<uint64_t>& kept) {
    Scenario candidate = best.scenario;
    // Everything not kept is dropped, also items the failing run never reached.
    candidate.schedule.*kind.drops = IndexSet::OfIndexes(kept).Complement();
    RunResult r = run ? run(candidate, options) : RunScenario(candidate, options);
    if (r.pass || r.violation->invariant != invariant) return false;
    if (progress) {
      progress(ShrinkStep{fmt::format("{} {} -> {}", kind.name, items.size(), kept.size()), r.ops});
    }
    last.emplace(std::move(candidate), std::move(r));
    return true;
  });
  best.runs += d.tests;
  best.*kind.runs += d.tests;
  if (last) {
    best.steps.push_back(ShrinkStep{fmt::format("{} {} -> {} (ddmin, {} runs)", kind.name,
                                                items.size(), d.kept.size(), d.tests),
                                    last->second.ops});
    best.scenario = std::move(last->first);
    best.result = std::move(last->second);
  }
  return d.minimal;
}

}  // namespace

ShrinkResult ShrinkSchedule(ShrinkResult from, const RunOptions& options, uint64_t runs_max,
                            const ShrinkProgress& progress, const CandidateRunner& run) {
  SG_ASSERT(!from.result.pass && from.result.violation.has_value());
  static constexpr ItemKind kFaults{"faults", &ScheduleDrops::faults, &RunResult::faults_generated,
                                    &ShrinkResult::fault_runs};
  static constexpr ItemKind kOps{"ops", &ScheduleDrops::ops, &RunResult::ops_generated,
                                 &ShrinkResult::op_runs};
  const bool faults_minimal = ShrinkItems(from, kFaults, options, runs_max, progress, run);
  const bool ops_minimal = ShrinkItems(from, kOps, options, runs_max, progress, run);
  from.schedule_minimal = faults_minimal && ops_minimal;
  return from;
}

ShrinkResult Shrink(const Scenario& s, const RunOptions& options, const RunResult& failing,
                    uint64_t runs_max, const ShrinkProgress& progress, bool schedule,
                    const CandidateRunner& run) {
  ShrinkResult r = ShrinkStart(s, failing);
  if (!schedule) return ShrinkStructure(std::move(r), options, runs_max, progress, run);
  r = ShrinkStructure(std::move(r), options, std::max<uint64_t>(runs_max / 2, 1), progress, run);
  // A smaller schedule often lets the structure shrink further (a shorter safety phase keeps the
  // indexes of what it keeps), and then the schedule again. Bounded: at most 4 rounds.
  for (int round = 0; round < 4 && r.runs < runs_max; ++round) {
    r = ShrinkSchedule(std::move(r), options, runs_max, progress, run);
    const size_t steps = r.steps.size();
    r = ShrinkStructure(std::move(r), options, runs_max, progress, run);
    if (r.steps.size() == steps) break;
  }
  return r;
}

}  // namespace seedgrid::scenarios
