#include "scenarios/scenario.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/container/btree_map.h"
#include "scenarios/json_reader.h"
#include "scenarios/system.h"

namespace seedgrid::scenarios {

namespace {

using json_reader::LineCol;
using json_reader::Locator;
using json_reader::Reader;
using nlohmann::json;

constexpr int64_t kDayMs = 86'400'000;

// The one name table for fault kinds: parsing, FaultKindName and error messages all read it.
constexpr std::pair<FaultEvent::Kind, std::string_view> kFaultKinds[] = {
    {FaultEvent::Kind::kSplit, "split"},
    {FaultEvent::Kind::kIsolate, "isolate"},
    {FaultEvent::Kind::kOneWay, "one_way"},
    {FaultEvent::Kind::kBridge, "bridge"},
    {FaultEvent::Kind::kHeal, "heal"},
    {FaultEvent::Kind::kCrash, "crash"},
    {FaultEvent::Kind::kRestart, "restart"},
    {FaultEvent::Kind::kPause, "pause"},
    {FaultEvent::Kind::kClockStep, "clock_step"},
    {FaultEvent::Kind::kClog, "clog"},
    {FaultEvent::Kind::kPowerLoss, "power_loss"},
    {FaultEvent::Kind::kZoneLoss, "zone_loss"}};

void ReadFault(Reader& r, FaultEvent& f, int nodes, int zones) {
  std::string kind;
  r.Str("kind", kind);
  bool found = false;
  std::string names;
  for (const auto& [k, name] : kFaultKinds) {
    names += (names.empty() ? "" : ", ") + std::string(name);
    if (name == kind) {
      f.kind = k;
      found = true;
    }
  }
  if (!found)
    r.Fail(r.Path("kind"), fmt::format("unknown fault kind '{}'; expected one of {}", kind, names));
  r.Int("at_ms", f.at_ms, 0, 10 * kDayMs);
  r.Int("node", f.node, 0, nodes - 1);
  r.Int("zone", f.zone, 0, zones - 1);
  r.Nodes("nodes", f.nodes, nodes);
  r.Nodes("from", f.from, nodes);
  r.Nodes("to", f.to, nodes);
  r.Nodes("left", f.left, nodes);
  r.Nodes("right", f.right, nodes);
  r.Int("duration_ms", f.duration_ms, 0, kDayMs);
  r.Int("delta_ms", f.delta_ms, -kDayMs, kDayMs);
  r.Int("clock_behind_ms", f.clock_behind_ms, 1, kDayMs);
  r.Done();
  if (!found) return;
  const auto need = [&](bool ok, std::string_view what) {
    if (!ok) r.Fail(r.Path("kind"), fmt::format("a '{}' fault needs {}", kind, what));
  };
  switch (f.kind) {
    case FaultEvent::Kind::kSplit:
      need(!f.nodes.empty(), "\"nodes\": [...]");
      break;
    case FaultEvent::Kind::kOneWay:
      need(!f.from.empty() && !f.to.empty(), "\"from\" and \"to\"");
      break;
    case FaultEvent::Kind::kBridge:
      need(!f.left.empty() && !f.right.empty() && f.node >= 0, "\"left\", \"right\" and \"node\"");
      break;
    case FaultEvent::Kind::kIsolate:
    case FaultEvent::Kind::kCrash:
    case FaultEvent::Kind::kRestart:
      need(f.node >= 0, "\"node\"");
      break;
    case FaultEvent::Kind::kPause:
      need(f.node >= 0 && f.duration_ms > 0, "\"node\" and \"duration_ms\"");
      break;
    case FaultEvent::Kind::kClockStep:
      need(f.node >= 0 && f.delta_ms != 0, "\"node\" and \"delta_ms\"");
      break;
    case FaultEvent::Kind::kClog:
      need(f.from.size() == 1 && f.to.size() == 1 && f.duration_ms > 0,
           "\"from\": [a], \"to\": [b] and \"duration_ms\"");
      break;
    case FaultEvent::Kind::kZoneLoss:
      need(f.zone >= 0 && f.duration_ms > 0, "\"zone\" (0 to zones-1) and \"duration_ms\"");
      break;
    case FaultEvent::Kind::kPowerLoss:
      need(f.duration_ms > 0, "\"duration_ms\" (how long the nodes stay down)");
      break;
    case FaultEvent::Kind::kHeal:
      break;
  }
  if (f.clock_behind_ms > 0 && f.kind != FaultEvent::Kind::kRestart) {
    r.Fail(r.Path("clock_behind_ms"),
           fmt::format("only a 'restart' fault takes \"clock_behind_ms\", not a '{}' fault", kind));
  }
}

}  // namespace

std::string_view FaultKindName(FaultEvent::Kind kind) {
  for (const auto& [k, name] : kFaultKinds) {
    if (k == kind) return name;
  }
  return "?";
}

namespace {

void ReadGrid(Reader& r, GridConfig& g, uint64_t duration_ms, std::string* error) {
  r.Int("servers", g.servers, 1, 64);
  r.Int("clients", g.clients, 0, 100'000);
  r.Int("client_groups", g.client_groups, 1, 100'000);
  r.Int("backup_count", g.backup_count, 0, 8);
  r.Int("heartbeat_interval_ms", g.heartbeat_interval_ms, 1, kDayMs);
  r.Int("suspect_after_ms", g.suspect_after_ms, 2, kDayMs);
  r.Int("anti_entropy_interval_ms", g.anti_entropy_interval_ms, 1, kDayMs);
  r.Int("retry_interval_ms", g.retry_interval_ms, 1, kDayMs);
  r.Int("client_push_interval_ms", g.client_push_interval_ms, 1, kDayMs);
  r.Int("client_sync_interval_ms", g.client_sync_interval_ms, 1, kDayMs);
  r.Int("client_timeout_ms", g.client_timeout_ms, 1, kDayMs);
  r.Int("tombstone_grace_ms", g.tombstone_grace_ms, 1, kDayMs);
  if (const json* c = r.Field("concerns")) {
    Reader cr(*c, r.Path("concerns"), error);
    cr.Int("fire_and_forget", g.fire_and_forget, 0, 1'000'000);
    cr.Int("applied", g.applied, 0, 1'000'000);
    cr.Int("replicated", g.replicated, 0, 1'000'000);
    cr.Done();
    if (error->empty() && g.fire_and_forget + g.applied + g.replicated == 0) {
      cr.Fail(r.Path("concerns"), "all weights are zero");
    }
  }
  r.RangeOf("offline_per_min", g.offline_per_min, 0, 600);
  r.RangeOf("offline_ms", g.offline_ms, 1, kDayMs);
  r.Int("client_crash_pct", g.client_crash_pct, 0, 100);
  r.Int("http_client_pct", g.http_client_pct, 0, 100);
  r.Int("switching_client_pct", g.switching_client_pct, 0, 100);
  r.RangeOf("transport_switch_ms", g.transport_switch_ms, 1, kDayMs);
  if (error->empty() && g.http_client_pct + g.switching_client_pct > 100) {
    r.Fail(r.Path("switching_client_pct"), "http_client_pct + switching_client_pct exceed 100");
  }
  r.Int("disk_loss_pct", g.disk_loss_pct, 0, 100);
  r.Bool("torn_writes", g.torn_writes);
  r.RangeOf("storage_errors_ppm", g.storage_errors_ppm, 0, 100'000);
  if (const json* j = r.Field("joins_at_ms")) {
    if (!j->is_array()) {
      r.Fail(r.Path("joins_at_ms"), "expected an array of times");
    } else {
      for (size_t i = 0; i < j->size(); ++i) {
        const json& t = (*j)[i];
        if (!t.is_number_unsigned() || t.get<uint64_t>() >= duration_ms) {
          r.Fail(fmt::format("{}[{}]", r.Path("joins_at_ms"), i),
                 fmt::format("{} is not a time inside the safety phase (duration_ms is {})",
                             t.dump(), duration_ms));
          break;
        }
        g.joins_at_ms.push_back(t.get<uint64_t>());
      }
    }
  }
  if (const json* l = r.Field("leaves")) {
    if (!l->is_array()) {
      r.Fail(r.Path("leaves"), "expected an array of {at_ms, server}");
    } else {
      const int servers = g.servers + static_cast<int>(g.joins_at_ms.size());
      for (size_t i = 0; i < l->size(); ++i) {
        Reader lr((*l)[i], fmt::format("{}[{}]", r.Path("leaves"), i), error);
        GridLeave leave;
        lr.Int("at_ms", leave.at_ms, 0, static_cast<int64_t>(duration_ms) - 1);
        lr.Int("server", leave.server, 0, servers - 1);
        lr.Done();
        g.leaves.push_back(leave);
      }
    }
  }
  r.Done();
  if (error->empty() && g.suspect_after_ms <= g.heartbeat_interval_ms) {
    r.Fail(r.Path("suspect_after_ms"), "must exceed heartbeat_interval_ms");
  }
}

}  // namespace

namespace {

// Each part of the top-level object; the first error lands in *error ("path\nwhat").
void ReadWorkload(Reader& r, Scenario& s, std::string* error_ptr) {
  std::string& error = *error_ptr;
  if (const json* w = r.Field("workload")) {
    Reader wr(*w, "workload", &error);
    wr.Int("ops_per_sec", s.ops_per_sec, 0, 10'000'000);
    wr.Int("keys", s.keys, 1, 10'000'000);
    wr.Int("subscriptions_per_node", s.subscriptions_per_node, 0, 4);
    if (const json* m = wr.Field("mix")) {
      Reader mr(*m, "workload.mix", &error);
      mr.Int("lww_set", s.mix.lww_set, 0, 1'000'000);
      mr.Int("lww_remove", s.mix.lww_remove, 0, 1'000'000);
      mr.Int("or_add", s.mix.or_add, 0, 1'000'000);
      mr.Int("or_remove", s.mix.or_remove, 0, 1'000'000);
      mr.Int("counter", s.mix.counter, 0, 1'000'000);
      mr.Int("query", s.mix.query, 0, 1'000'000);
      mr.Done();
      if (error.empty() && s.mix.total() == 0) mr.Fail("workload.mix", "all weights are zero");
    }
    wr.Done();
  }
}

// A class of links' fields (network, network.cross_zone): the minimum range, the tail's mean,
// kind and shape (default shape: lognormal sigma 1.0, pareto alpha 2.5).
void ReadLinkClass(Reader& r, LinkClass& c) {
  r.RangeOf("latency_min_us", c.latency_min_us, 0, 4'000'000);
  r.Int("latency_tail_mean_us", c.latency_tail_mean_us, 0, 10'000'000);
  if (const json* t = r.Field("tail")) {
    const std::optional<sim::TailKind> kind =
        t->is_string() ? sim::ParseTailKind(t->get<std::string>()) : std::nullopt;
    if (!kind) {
      r.Fail(r.Path("tail"),
             fmt::format("unknown tail {}; expected exponential, lognormal or pareto", t->dump()));
      return;
    }
    c.tail = *kind;
  }
  c.tail_shape_milli = c.tail == sim::TailKind::kLogNormal ? 1000
                       : c.tail == sim::TailKind::kPareto  ? 2500
                                                           : 0;
  const sim::ShapeRange range = sim::ShapeRangeOf(c.tail);
  if (r.Field("tail_shape_milli") != nullptr && c.tail == sim::TailKind::kExponential) {
    r.Fail(r.Path("tail_shape_milli"), "applies to a lognormal or pareto tail only");
    return;
  }
  r.Int("tail_shape_milli", c.tail_shape_milli, range.lo, range.hi);
}

void ReadTimersNetworkClocksSwarm(Reader& r, Scenario& s, std::string* error_ptr) {
  std::string& error = *error_ptr;
  if (const json* rep = r.Field("replication")) {
    Reader rr(*rep, "replication", &error);
    rr.Int("flush_interval_ms", s.flush_interval_ms, 1, kDayMs);
    rr.Int("anti_entropy_interval_ms", s.anti_entropy_interval_ms, 1, kDayMs);
    rr.Int("anti_entropy_fanout", s.anti_entropy_fanout, 1, 4096);
    rr.Done();
  }
  if (const json* net = r.Field("network")) {
    Reader nr(*net, "network", &error);
    LinkClass base{s.latency_min_us, s.latency_tail_mean_us};
    ReadLinkClass(nr, base);
    s.latency_min_us = base.latency_min_us;
    s.latency_tail_mean_us = base.latency_tail_mean_us;
    s.latency_tail = base.tail;
    s.latency_tail_shape_milli = base.tail_shape_milli;
    if (const json* cross = nr.Field("cross_zone")) {
      Reader cr(*cross, "network.cross_zone", &error);
      LinkClass c{base.latency_min_us, base.latency_tail_mean_us};  // tail: exponential
      ReadLinkClass(cr, c);
      cr.Done();
      if (error.empty() && s.zones < 2) {
        cr.Fail("network.cross_zone", "needs \"zones\" of 2 or more (links between zones)");
      }
      s.cross_zone = c;
    }
    nr.Done();
  }
  if (const json* c = r.Field("clocks")) {
    Reader cr(*c, "clocks", &error);
    cr.RangeOf("offset_ms", s.clock_offset_ms, -kDayMs, kDayMs);
    cr.RangeOf("drift_ppm", s.clock_drift_ppm, -100'000, 100'000);
    cr.Done();
  }
  if (const json* sw = r.Field("swarm")) {
    Reader sr(*sw, "swarm", &error);
    sr.RangeOf("loss_ppm", s.swarm.loss_ppm, 0, 1'000'000);
    sr.RangeOf("duplicate_ppm", s.swarm.duplicate_ppm, 0, 1'000'000);
    sr.RangeOf("reorder_ppm", s.swarm.reorder_ppm, 0, 1'000'000);
    sr.RangeOf("partitions_per_min", s.swarm.partitions_per_min, 0, 600);
    sr.RangeOf("crashes_per_min", s.swarm.crashes_per_min, 0, 600);
    sr.RangeOf("pauses_per_min", s.swarm.pauses_per_min, 0, 600);
    sr.RangeOf("clock_steps_per_min", s.swarm.clock_steps_per_min, 0, 600);
    sr.RangeOf("clogs_per_min", s.swarm.clogs_per_min, 0, 600);
    sr.RangeOf("power_losses_per_min", s.swarm.power_losses_per_min, 0, 60);
    sr.RangeOf("zone_losses_per_min", s.swarm.zone_losses_per_min, 0, 60);
    sr.RangeOf("clock_step_ms", s.swarm.clock_step_ms, -kDayMs, kDayMs);
    sr.RangeOf("fault_duration_ms", s.swarm.fault_duration_ms, 1, kDayMs);
    sr.RangeOf("restart_clock_behind_pct", s.swarm.restart_clock_behind_pct, 0, 100);
    sr.RangeOf("clock_behind_ms", s.swarm.clock_behind_ms, 1, kDayMs);
    sr.Bool("buggify", s.swarm.buggify);
    sr.RangeOf("crash_points_ppm", s.swarm.crash_points_ppm, 0, 100'000);
    sr.Done();
  }
}

void ReadGridPart(Reader& r, Scenario& s, std::string* error_ptr) {
  std::string& error = *error_ptr;
  if (const json* g = r.Field("grid")) {
    Reader gr(*g, "grid", &error);
    s.grid.emplace();
    ReadGrid(gr, *s.grid, s.duration_ms, &error);
    if (error.empty()) s.nodes = s.grid->nodes();
    if (error.empty() && (s.nodes < 1 || s.nodes > 4096)) {
      gr.Fail("grid", fmt::format("{} nodes in all; at most 4096", s.nodes));
    }
  }
}

void ReadFaults(Reader& r, Scenario& s, std::string* error_ptr) {
  std::string& error = *error_ptr;
  if (const json* f = r.Field("faults")) {
    if (!f->is_array()) {
      r.Fail("faults", "expected an array of fault events");
    } else {
      for (size_t i = 0; i < f->size(); ++i) {
        Reader fr((*f)[i], fmt::format("faults[{}]", i), &error);
        s.faults.emplace_back();
        ReadFault(fr, s.faults.back(), s.nodes, s.zones);
        if (error.empty() && s.faults.back().at_ms >= s.duration_ms) {
          fr.Fail(fr.Path("at_ms"),
                  fmt::format("{} is not inside the safety phase (duration_ms is {})",
                              s.faults.back().at_ms, s.duration_ms));
        }
      }
    }
  }
}

// A registered system (system.h): its name and params, checked by the system.
void ReadSystem(Reader& r, Scenario& s) {
  r.Str("system", s.system);
  const json* params = r.Field("params");
  if (s.system.empty()) {
    if (params) r.Fail("params", "only a scenario with a \"system\" takes params");
    return;
  }
  const SystemSpec* spec = FindSystem(s.system);
  if (spec == nullptr) {
    r.Fail("system", fmt::format("unknown system '{}'; this program registers: {} (a system is "
                                 "registered by the program that runs it: docs/embedding.md)",
                                 s.system, SystemList()));
    return;
  }
  if (s.grid) {
    r.Fail("grid", fmt::format("a scenario of system '{}' has no grid section", s.system));
    return;
  }
  if (params && !params->is_object()) {
    r.Fail("params", fmt::format("expected an object, got {}", params->type_name()));
    return;
  }
  const json p = params ? *params : json::object();
  if (spec->check_params) {
    const absl::Status st = spec->check_params(p);
    if (!st.ok()) r.Fail("params", std::string(st.message()));
  }
  s.params_json = p.dump();
}

// The built-in workload's fields a registered system never reads: given, they would silently do
// nothing, so they are errors (workload.ops_per_sec stays: PeerCluster's arrivals use it).
void RefuseBuiltInWorkload(Reader& r, const json& root, const std::string& system) {
  const std::string why = fmt::format(
      "not read in a run of system '{}' (it draws its own operations; put its settings in "
      "\"params\")",
      system);
  if (root.contains("replication")) {
    r.Fail("replication", why);
    return;
  }
  const json* w = root.contains("workload") ? &root["workload"] : nullptr;
  for (const char* field : {"keys", "mix", "subscriptions_per_node"}) {
    if (w != nullptr && w->is_object() && w->contains(field)) {
      r.Fail(fmt::format("workload.{}", field), why);
      return;
    }
  }
}

// A system's invariants: its own names and liveness (all by default).
void ReadSystemInvariants(Reader& r, Scenario& s) {
  const SystemSpec& spec = *FindSystem(s.system);
  std::string names = std::string(invariants::InvariantName(invariants::Invariant::kLiveness));
  for (const SystemInvariant& i : spec.invariants) names += ", " + i.name;
  const json* inv = r.Field("invariants");
  if (inv == nullptr) {
    s.invariants.insert(invariants::Invariant::kLiveness);
    for (const SystemInvariant& i : spec.invariants) s.system_invariants.insert(i.name);
    return;
  }
  if (!inv->is_array() || inv->empty()) {
    r.Fail("invariants", "expected a non-empty array of invariant names");
    return;
  }
  for (size_t i = 0; i < inv->size(); ++i) {
    const json& name = (*inv)[i];
    const std::string text = name.is_string() ? name.get<std::string>() : "";
    if (invariants::ParseInvariant(text) == invariants::Invariant::kLiveness) {
      s.invariants.insert(invariants::Invariant::kLiveness);
    } else if (std::any_of(spec.invariants.begin(), spec.invariants.end(),
                           [&](const SystemInvariant& si) { return si.name == text; })) {
      s.system_invariants.insert(text);
    } else {
      r.Fail(
          fmt::format("invariants[{}]", i),
          fmt::format("unknown invariant {}; system '{}' has: {}", name.dump(), s.system, names));
      return;
    }
  }
}

// After the grid part: which invariants a run may list depends on its kind.
void ReadInvariants(Reader& r, Scenario& s, std::string* error_ptr) {
  std::string& error = *error_ptr;
  if (!s.system.empty()) {
    if (error.empty()) ReadSystemInvariants(r, s);
    return;
  }
  if (const json* inv = r.Field("invariants")) {
    if (!inv->is_array()) {
      r.Fail("invariants", "expected an array of invariant names");
    } else {
      for (size_t i = 0; i < inv->size(); ++i) {
        const json& name = (*inv)[i];
        std::optional<invariants::Invariant> id;
        if (name.is_string()) id = invariants::ParseInvariant(name.get<std::string>());
        const auto allowed = invariants::InvariantsFor(s.grid.has_value());
        if (!id || std::find(allowed.begin(), allowed.end(), *id) == allowed.end()) {
          r.Fail(fmt::format("invariants[{}]", i),
                 fmt::format("unknown invariant {}; expected one of {}", name.dump(),
                             invariants::InvariantList(s.grid.has_value())));
          break;
        }
        s.invariants.insert(*id);
      }
      if (error.empty() && s.invariants.empty()) {
        r.Fail("invariants", "the list is empty: a run would check nothing");
      }
    }
  } else {
    const auto all = invariants::InvariantsFor(s.grid.has_value());
    s.invariants.insert(all.begin(), all.end());
  }
}

// One list of a "schedule" section: indexes and [first, last] ranges (inclusive).
void ReadIndexList(Reader& r, const json& list, const std::string& path, IndexSet& out) {
  if (!list.is_array()) {
    r.Fail(path, "expected an array of indexes and [first, last] ranges");
    return;
  }
  const auto is_index = [](const json& v) {
    return v.is_number_unsigned() && v.get<uint64_t>() <= kScheduleIndexMax;
  };
  std::vector<IndexSet::Interval> intervals;
  for (size_t i = 0; i < list.size(); ++i) {
    const json& e = list[i];
    if (is_index(e)) {
      intervals.push_back({e.get<uint64_t>(), e.get<uint64_t>()});
    } else if (e.is_array() && e.size() == 2 && is_index(e[0]) && is_index(e[1]) &&
               e[0].get<uint64_t>() <= e[1].get<uint64_t>()) {
      intervals.push_back({e[0].get<uint64_t>(), e[1].get<uint64_t>()});
    } else {
      r.Fail(fmt::format("{}[{}]", path, i),
             fmt::format("expected an index 0..{} or a range [first, last] with first <= last, "
                         "got {}",
                         kScheduleIndexMax, e.dump()));
      return;
    }
  }
  out = IndexSet::Of(std::move(intervals));
}

// "keep_<what>" (only these are applied) or "drop_<what>" (these are not); at most one.
void ReadScheduleItems(Reader& r, const std::string& what, IndexSet& drops) {
  const json* keep = r.Field("keep_" + what);
  const json* drop = r.Field("drop_" + what);
  if (keep != nullptr && drop != nullptr) {
    r.Fail(r.Path("keep_" + what), fmt::format("give keep_{0} or drop_{0}, not both", what));
  } else if (drop != nullptr) {
    ReadIndexList(r, *drop, r.Path("drop_" + what), drops);
  } else if (keep != nullptr) {
    IndexSet kept;
    ReadIndexList(r, *keep, r.Path("keep_" + what), kept);
    drops = kept.Complement();
  }
}

void ReadScheduleAndRegression(Reader& r, Scenario& s, std::string* error) {
  if (const json* sch = r.Field("schedule")) {
    Reader sr(*sch, "schedule", error);
    ReadScheduleItems(sr, "faults", s.schedule.faults);
    ReadScheduleItems(sr, "ops", s.schedule.ops);
    sr.Done();
  }
  if (const json* reg = r.Field("regression")) {
    Reader rr(*reg, "regression", error);
    Regression out;
    const json* seed = rr.Field("seed");
    if (seed == nullptr) {
      rr.Fail(rr.Path("seed"), "a regression test needs the \"seed\" it runs");
    } else if (!seed->is_number_unsigned()) {
      rr.Fail(rr.Path("seed"), fmt::format("expected a seed 0..2^64-1, got {}", seed->dump()));
    } else {
      out.seed = seed->get<uint64_t>();
    }
    rr.Str("invariant", out.invariant);
    rr.Str("found_by", out.found_by);
    rr.Str("commit", out.commit);
    rr.Done();
    s.regression = std::move(out);
  }
}

// "path\nwhat" -> "file:line:col: path: what", at the nearest located ancestor of the path (a
// missing field is reported at its parent).
absl::Status Located(std::string_view text, std::string_view file, const std::string& error) {
  const size_t nl = error.find('\n');
  const std::string path = error.substr(0, nl);
  const Locator locator(text);
  std::string at = path;
  size_t offset = locator.OffsetOf(at);
  while (offset == 0 && !at.empty()) {
    const size_t cut = at.find_last_of(".[");
    at = cut == std::string::npos ? std::string() : at.substr(0, cut);
    offset = locator.OffsetOf(at);
  }
  const auto [line, col] = LineCol(text, offset);
  return absl::InvalidArgumentError(
      fmt::format("{}:{}:{}: {}: {}", file, line, col, path, error.substr(nl + 1)));
}

}  // namespace

absl::StatusOr<Scenario> ParseScenario(std::string_view text, std::string_view file) {
  json root = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) {
    // Parse again with exceptions to learn where and why (only on the error path).
    try {
      const json again = json::parse(text);
      (void)again;
    } catch (const json::parse_error& e) {
      const auto [line, col] = LineCol(text, e.byte > 0 ? e.byte - 1 : 0);
      std::string what = e.what();
      if (auto p = what.find("parse error at "); p != std::string::npos) what = what.substr(p);
      return absl::InvalidArgumentError(
          fmt::format("{}:{}:{}: not valid JSON: {}", file, line, col, what));
    }
    return absl::InvalidArgumentError(fmt::format("{}: not valid JSON", file));
  }
  std::string error;  // "path\nwhat"
  Scenario s;
  {
    Reader r(root, "", &error);
    r.Str("name", s.name);
    r.Str("description", s.description);
    r.Int("nodes", s.nodes, 1, 4096);
    r.Int("duration_ms", s.duration_ms, 1, 10 * kDayMs);
    r.Int("liveness_ms", s.liveness_ms, 1, 10 * kDayMs);
    r.Int("check_interval_ms", s.check_interval_ms, 1, kDayMs);
    r.Int("events_max", s.events_max, 1, int64_t{1} << 40);
    r.Int("zones", s.zones, 1, 64);
    ReadWorkload(r, s, &error);
    ReadTimersNetworkClocksSwarm(r, s, &error);
    ReadGridPart(r, s, &error);
    ReadSystem(r, s);
    ReadFaults(r, s, &error);
    ReadInvariants(r, s, &error);
    ReadScheduleAndRegression(r, s, &error);
    r.Done();
    if (error.empty() && s.name.empty()) r.Fail("name", "a scenario needs a \"name\"");
    if (error.empty() && !s.system.empty()) RefuseBuiltInWorkload(r, root, s.system);
  }
  if (!error.empty()) return Located(text, file, error);
  return s;
}

absl::StatusOr<Scenario> LoadScenario(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(fmt::format("{}: cannot read the scenario file", path));
  std::ostringstream text;
  text << in.rdbuf();
  return ParseScenario(text.str(), path);
}

}  // namespace seedgrid::scenarios
