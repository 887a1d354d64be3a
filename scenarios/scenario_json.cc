// ScenarioToJson: a scenario written out as a file ParseScenario reads back to an equal scenario.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "scenarios/scenario.h"

namespace seedgrid::scenarios {

namespace {

using ordered = nlohmann::ordered_json;

ordered range(const Range& r) { return ordered::array({r.lo, r.hi}); }

ordered FaultsToJson(const std::vector<FaultEvent>& events) {
  ordered faults = ordered::array();
  for (const FaultEvent& f : events) {
    ordered e;
    e["at_ms"] = f.at_ms;
    e["kind"] = FaultKindName(f.kind);
    if (f.node >= 0) e["node"] = f.node;
    if (f.zone >= 0) e["zone"] = f.zone;
    for (const auto& [name, list] :
         {std::pair<const char*, const std::vector<int>*>{"nodes", &f.nodes},
          {"from", &f.from},
          {"to", &f.to},
          {"left", &f.left},
          {"right", &f.right}}) {
      if (!list->empty()) e[name] = *list;
    }
    if (f.duration_ms > 0) e["duration_ms"] = f.duration_ms;
    if (f.delta_ms != 0) e["delta_ms"] = f.delta_ms;
    if (f.clock_behind_ms != 0) e["clock_behind_ms"] = f.clock_behind_ms;
    faults.push_back(std::move(e));
  }
  return faults;
}

ordered GridToJson(const GridConfig& g) {
  ordered leaves = ordered::array();
  for (const GridLeave& l : g.leaves) leaves.push_back({{"at_ms", l.at_ms}, {"server", l.server}});
  return {{"servers", g.servers},
          {"joins_at_ms", g.joins_at_ms},
          {"leaves", std::move(leaves)},
          {"clients", g.clients},
          {"client_groups", g.client_groups},
          {"backup_count", g.backup_count},
          {"heartbeat_interval_ms", g.heartbeat_interval_ms},
          {"suspect_after_ms", g.suspect_after_ms},
          {"anti_entropy_interval_ms", g.anti_entropy_interval_ms},
          {"retry_interval_ms", g.retry_interval_ms},
          {"client_push_interval_ms", g.client_push_interval_ms},
          {"client_sync_interval_ms", g.client_sync_interval_ms},
          {"client_timeout_ms", g.client_timeout_ms},
          {"concerns",
           {{"fire_and_forget", g.fire_and_forget},
            {"applied", g.applied},
            {"replicated", g.replicated}}},
          {"offline_per_min", range(g.offline_per_min)},
          {"offline_ms", range(g.offline_ms)},
          {"client_crash_pct", g.client_crash_pct},
          {"http_client_pct", g.http_client_pct},
          {"switching_client_pct", g.switching_client_pct},
          {"transport_switch_ms", range(g.transport_switch_ms)},
          {"disk_loss_pct", g.disk_loss_pct},
          {"tombstone_grace_ms", g.tombstone_grace_ms},
          {"torn_writes", g.torn_writes},
          {"storage_errors_ppm", range(g.storage_errors_ppm)}};
}

// Each interval as an index or a [first, last] range.
ordered IndexListJson(const IndexSet& set) {
  ordered list = ordered::array();
  for (const IndexSet::Interval& in : set.intervals()) {
    if (in.first == in.last) {
      list.push_back(in.first);
    } else {
      list.push_back(ordered::array({in.first, in.last}));
    }
  }
  return list;
}

// A drop set that runs to the last index is written as what it keeps (shrinking keeps a few).
void ScheduleItemsJson(ordered& j, const std::string& what, const IndexSet& drops) {
  if (drops.empty()) return;
  if (drops.Contains(kScheduleIndexMax)) {
    j["keep_" + what] = IndexListJson(drops.Complement());
  } else {
    j["drop_" + what] = IndexListJson(drops);
  }
}

ordered RegressionJson(const Regression& r) {
  ordered j;
  j["seed"] = r.seed;
  if (!r.invariant.empty()) j["invariant"] = r.invariant;
  if (!r.found_by.empty()) j["found_by"] = r.found_by;
  if (!r.commit.empty()) j["commit"] = r.commit;
  return j;
}

ordered LinkClassJson(const LinkClass& c) {
  ordered j = {{"latency_min_us", range(c.latency_min_us)},
               {"latency_tail_mean_us", c.latency_tail_mean_us},
               {"tail", std::string(sim::TailKindName(c.tail))}};
  if (c.tail != sim::TailKind::kExponential) j["tail_shape_milli"] = c.tail_shape_milli;
  return j;
}

}  // namespace

std::string ScenarioToJson(const Scenario& s) {
  ordered j;
  j["name"] = s.name;
  j["description"] = s.description;
  if (s.regression) j["regression"] = RegressionJson(*s.regression);
  j["nodes"] = s.nodes;
  j["duration_ms"] = s.duration_ms;
  j["liveness_ms"] = s.liveness_ms;
  j["check_interval_ms"] = s.check_interval_ms;
  j["events_max"] = s.events_max;
  j["zones"] = s.zones;
  j["workload"] = {{"ops_per_sec", s.ops_per_sec},
                   {"keys", s.keys},
                   {"subscriptions_per_node", s.subscriptions_per_node},
                   {"mix",
                    {{"lww_set", s.mix.lww_set},
                     {"lww_remove", s.mix.lww_remove},
                     {"or_add", s.mix.or_add},
                     {"or_remove", s.mix.or_remove},
                     {"counter", s.mix.counter},
                     {"query", s.mix.query}}}};
  j["replication"] = {{"flush_interval_ms", s.flush_interval_ms},
                      {"anti_entropy_interval_ms", s.anti_entropy_interval_ms},
                      {"anti_entropy_fanout", s.anti_entropy_fanout}};
  if (!s.system.empty()) {  // A system reads only the arrival rate (scenario.h).
    j["workload"] = {{"ops_per_sec", s.ops_per_sec}};
    j.erase("replication");
  }
  j["network"] = LinkClassJson(
      {s.latency_min_us, s.latency_tail_mean_us, s.latency_tail, s.latency_tail_shape_milli});
  if (s.cross_zone) j["network"]["cross_zone"] = LinkClassJson(*s.cross_zone);
  j["clocks"] = {{"offset_ms", range(s.clock_offset_ms)}, {"drift_ppm", range(s.clock_drift_ppm)}};
  j["swarm"] = {{"loss_ppm", range(s.swarm.loss_ppm)},
                {"duplicate_ppm", range(s.swarm.duplicate_ppm)},
                {"reorder_ppm", range(s.swarm.reorder_ppm)},
                {"partitions_per_min", range(s.swarm.partitions_per_min)},
                {"crashes_per_min", range(s.swarm.crashes_per_min)},
                {"pauses_per_min", range(s.swarm.pauses_per_min)},
                {"clock_steps_per_min", range(s.swarm.clock_steps_per_min)},
                {"clogs_per_min", range(s.swarm.clogs_per_min)},
                {"power_losses_per_min", range(s.swarm.power_losses_per_min)},
                {"zone_losses_per_min", range(s.swarm.zone_losses_per_min)},
                {"clock_step_ms", range(s.swarm.clock_step_ms)},
                {"fault_duration_ms", range(s.swarm.fault_duration_ms)},
                {"restart_clock_behind_pct", range(s.swarm.restart_clock_behind_pct)},
                {"clock_behind_ms", range(s.swarm.clock_behind_ms)},
                {"buggify", s.swarm.buggify},
                {"crash_points_ppm", range(s.swarm.crash_points_ppm)}};
  j["faults"] = FaultsToJson(s.faults);
  if (!s.schedule.empty()) {
    ordered schedule = ordered::object();
    ScheduleItemsJson(schedule, "faults", s.schedule.faults);
    ScheduleItemsJson(schedule, "ops", s.schedule.ops);
    j["schedule"] = std::move(schedule);
  }
  if (s.grid) j["grid"] = GridToJson(*s.grid);
  if (!s.system.empty()) {
    j["system"] = s.system;
    j["params"] = ordered::parse(s.params_json);
  }
  j["invariants"] = ordered::array();
  for (invariants::Invariant i : s.invariants) {
    j["invariants"].push_back(std::string(invariants::InvariantName(i)));
  }
  for (const std::string& name : s.system_invariants) j["invariants"].push_back(name);
  return j.dump(2) + "\n";
}

}  // namespace seedgrid::scenarios
