#include "scenarios/shrink.h"

#include <fmt/format.h>

#include "engine/base/assert.h"

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
      {"clogs_per_min", &Swarm::clogs_per_min}};
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
  if (s.duration_ms >= 200) {
    add(fmt::format("duration {} -> {} ms", s.duration_ms, s.duration_ms / 2), [](Scenario& c) {
      c.duration_ms /= 2;
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

ShrinkResult Shrink(const Scenario& s, const RunOptions& options, const RunResult& failing,
                    uint64_t runs_max, const std::function<void(const ShrinkStep&)>& progress) {
  SG_ASSERT(!failing.pass && failing.violation.has_value());
  const std::string invariant = failing.violation->invariant;
  ShrinkResult best{s, failing, {}, 0};
  bool improved = true;
  while (improved && best.runs < runs_max) {
    improved = false;
    for (auto& [what, candidate] : ShrinkCandidates(best.scenario)) {
      if (best.runs >= runs_max) break;
      ++best.runs;
      RunResult r = RunScenario(candidate, options);
      if (r.pass || r.violation->invariant != invariant) continue;
      ShrinkStep step{what, r.ops};
      if (progress) progress(step);
      best.steps.push_back(std::move(step));
      best.scenario = std::move(candidate);
      best.result = std::move(r);
      improved = true;
      break;
    }
  }
  return best;
}

}  // namespace seedgrid::scenarios
