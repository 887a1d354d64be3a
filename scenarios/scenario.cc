#include "scenarios/scenario.h"

#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/container/btree_map.h"

namespace seedgrid::scenarios {

namespace {

using nlohmann::json;

// Where every value of an (already valid) JSON text starts, by path ("a.b[2].c"); for object
// members, where the member's key starts. nlohmann does not report positions of values, so this
// small scanner walks the text once to give errors a line and column.
class Locator {
 public:
  explicit Locator(std::string_view text) : text_(text) { Value("", 0); }
  size_t OffsetOf(const std::string& path) const {
    auto it = offsets_.find(path);
    return it == offsets_.end() ? 0 : it->second;
  }

 private:
  void Ws() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' ||
                                   text_[pos_] == '\r' || text_[pos_] == '\t')) {
      ++pos_;
    }
  }
  std::string String() {  // At '"': returns the raw contents (escapes kept), moves past it.
    const size_t start = ++pos_;
    while (pos_ < text_.size() && text_[pos_] != '"') pos_ += text_[pos_] == '\\' ? 2 : 1;
    const std::string s(text_.substr(start, std::min(pos_, text_.size()) - start));
    ++pos_;
    return s;
  }
  void Value(const std::string& path, int depth) {
    Ws();
    if (pos_ >= text_.size() || depth > 64) return;
    offsets_.try_emplace(path, pos_);
    const char c = text_[pos_];
    if (c == '{') {
      ++pos_;
      for (Ws(); pos_ < text_.size() && text_[pos_] != '}'; Ws()) {
        if (text_[pos_] == ',') {
          ++pos_;
          continue;
        }
        const size_t key_at = pos_;
        const std::string key = String();
        const std::string child = path.empty() ? key : path + "." + key;
        offsets_[child] = key_at;
        Ws();
        ++pos_;  // ':'
        Value(child, depth + 1);
        offsets_[child] = key_at;  // The key, not the value, is where a reader looks.
      }
      ++pos_;
    } else if (c == '[') {
      ++pos_;
      size_t index = 0;
      for (Ws(); pos_ < text_.size() && text_[pos_] != ']'; Ws()) {
        if (text_[pos_] == ',') {
          ++pos_;
          continue;
        }
        Value(fmt::format("{}[{}]", path, index++), depth + 1);
      }
      ++pos_;
    } else if (c == '"') {
      String();
    } else {
      while (pos_ < text_.size() && !strchr(",}] \n\r\t", text_[pos_])) ++pos_;
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
  absl::btree_map<std::string, size_t> offsets_;
};

std::pair<size_t, size_t> LineCol(std::string_view text, size_t offset) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return {line, col};
}

// Reads one JSON object's fields with type and range checks; remembers the first error.
class Reader {
 public:
  Reader(const json& object, std::string path, std::string* error)
      : object_(object), path_(std::move(path)), error_(error) {
    if (!object_.is_object()) Fail(path_, "expected an object");
  }

  std::string Path(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }
  const json* Field(std::string_view key) {
    seen_.insert(std::string(key));
    if (!object_.is_object()) return nullptr;
    auto it = object_.find(std::string(key));
    return it == object_.end() ? nullptr : &*it;
  }
  void Fail(const std::string& path, const std::string& what) {
    if (error_->empty()) *error_ = path + "\n" + what;
  }

  template <typename T>
  void Int(std::string_view key, T& out, int64_t lo, int64_t hi) {
    const json* v = Field(key);
    if (v == nullptr) return;
    if (!v->is_number_integer()) {
      Fail(Path(key), fmt::format("expected an integer, got {}", v->type_name()));
      return;
    }
    const int64_t x =
        v->is_number_unsigned() && v->get<uint64_t>() > INT64_MAX ? INT64_MAX : v->get<int64_t>();
    if (x < lo || x > hi) {
      Fail(Path(key), fmt::format("{} is out of range; expected {}..{}", x, lo, hi));
      return;
    }
    out = static_cast<T>(x);
  }
  void Str(std::string_view key, std::string& out) {
    const json* v = Field(key);
    if (v == nullptr) return;
    if (!v->is_string()) {
      Fail(Path(key), fmt::format("expected a string, got {}", v->type_name()));
      return;
    }
    out = v->get<std::string>();
  }
  void Bool(std::string_view key, bool& out) {
    const json* v = Field(key);
    if (v == nullptr) return;
    if (!v->is_boolean()) {
      Fail(Path(key), fmt::format("expected true or false, got {}", v->type_name()));
      return;
    }
    out = v->get<bool>();
  }
  void RangeOf(std::string_view key, Range& out, int64_t lo, int64_t hi) {
    const json* v = Field(key);
    if (v == nullptr) return;
    if (!v->is_array() || v->size() != 2 || !(*v)[0].is_number_integer() ||
        !(*v)[1].is_number_integer()) {
      Fail(Path(key), "expected a range [lo, hi] of two integers");
      return;
    }
    const auto as_int = [](const json& x) {
      return x.is_number_unsigned() && x.get<uint64_t>() > INT64_MAX ? INT64_MAX : x.get<int64_t>();
    };
    const int64_t a = as_int((*v)[0]);
    const int64_t b = as_int((*v)[1]);
    if (a > b) {
      Fail(Path(key), fmt::format("range [{}, {}] has lo > hi", a, b));
    } else if (a < lo || b > hi) {
      Fail(Path(key),
           fmt::format("range [{}, {}] is out of bounds; expected within [{}, {}]", a, b, lo, hi));
    } else {
      out = Range{a, b};
    }
  }
  void Nodes(std::string_view key, std::vector<int>& out, int nodes) {
    const json* v = Field(key);
    if (v == nullptr) return;
    if (!v->is_array()) {
      Fail(Path(key), "expected an array of node indexes");
      return;
    }
    for (const json& n : *v) {
      if (!n.is_number_integer() || n.get<int64_t>() < 0 || n.get<int64_t>() >= nodes) {
        Fail(Path(key),
             fmt::format("node index {} is out of range; expected 0..{}", n.dump(), nodes - 1));
        return;
      }
      out.push_back(n.get<int>());
    }
  }
  // Unknown fields are errors (a typo must not silently mean "default").
  void Done() {
    if (!object_.is_object()) return;
    for (auto it = object_.begin(); it != object_.end(); ++it) {
      if (!seen_.contains(it.key())) {
        std::string known;
        for (const std::string& s : seen_) known += (known.empty() ? "" : ", ") + s;
        Fail(Path(it.key()), fmt::format("unknown field '{}'; known fields: {}", it.key(), known));
      }
    }
  }

 private:
  const json& object_;
  std::string path_;
  std::string* error_;
  absl::btree_set<std::string> seen_;
};

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
    {FaultEvent::Kind::kClog, "clog"}};

void ReadFault(Reader& r, FaultEvent& f, int nodes) {
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
  r.Nodes("nodes", f.nodes, nodes);
  r.Nodes("from", f.from, nodes);
  r.Nodes("to", f.to, nodes);
  r.Nodes("left", f.left, nodes);
  r.Nodes("right", f.right, nodes);
  r.Int("duration_ms", f.duration_ms, 0, kDayMs);
  r.Int("delta_ms", f.delta_ms, -kDayMs, kDayMs);
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
    case FaultEvent::Kind::kHeal:
      break;
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
    if (const json* rep = r.Field("replication")) {
      Reader rr(*rep, "replication", &error);
      rr.Int("flush_interval_ms", s.flush_interval_ms, 1, kDayMs);
      rr.Int("anti_entropy_interval_ms", s.anti_entropy_interval_ms, 1, kDayMs);
      rr.Int("anti_entropy_fanout", s.anti_entropy_fanout, 1, 4096);
      rr.Done();
    }
    if (const json* net = r.Field("network")) {
      Reader nr(*net, "network", &error);
      nr.RangeOf("latency_min_us", s.latency_min_us, 0, 4'000'000);
      nr.Int("latency_tail_mean_us", s.latency_tail_mean_us, 0, 10'000'000);
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
      sr.RangeOf("clock_step_ms", s.swarm.clock_step_ms, -kDayMs, kDayMs);
      sr.RangeOf("fault_duration_ms", s.swarm.fault_duration_ms, 1, kDayMs);
      sr.Bool("buggify", s.swarm.buggify);
      sr.Done();
    }
    if (const json* g = r.Field("grid")) {
      Reader gr(*g, "grid", &error);
      s.grid.emplace();
      ReadGrid(gr, *s.grid, s.duration_ms, &error);
      if (error.empty()) s.nodes = s.grid->nodes();
      if (error.empty() && (s.nodes < 1 || s.nodes > 4096)) {
        gr.Fail("grid", fmt::format("{} nodes in all; at most 4096", s.nodes));
      }
    }
    if (const json* f = r.Field("faults")) {
      if (!f->is_array()) {
        r.Fail("faults", "expected an array of fault events");
      } else {
        for (size_t i = 0; i < f->size(); ++i) {
          Reader fr((*f)[i], fmt::format("faults[{}]", i), &error);
          s.faults.emplace_back();
          ReadFault(fr, s.faults.back(), s.nodes);
          if (error.empty() && s.faults.back().at_ms >= s.duration_ms) {
            fr.Fail(fr.Path("at_ms"),
                    fmt::format("{} is not inside the safety phase (duration_ms is {})",
                                s.faults.back().at_ms, s.duration_ms));
          }
        }
      }
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
    r.Done();
    if (error.empty() && s.name.empty()) r.Fail("name", "a scenario needs a \"name\"");
  }
  if (!error.empty()) {
    const size_t nl = error.find('\n');
    const std::string path = error.substr(0, nl);
    const Locator locator(text);
    // The nearest located ancestor of the path (a missing field is reported at its parent).
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
  return s;
}

std::string ScenarioToJson(const Scenario& s) {
  using ordered = nlohmann::ordered_json;
  const auto range = [](const Range& r) { return ordered::array({r.lo, r.hi}); };
  ordered j;
  j["name"] = s.name;
  j["description"] = s.description;
  j["nodes"] = s.nodes;
  j["duration_ms"] = s.duration_ms;
  j["liveness_ms"] = s.liveness_ms;
  j["check_interval_ms"] = s.check_interval_ms;
  j["events_max"] = s.events_max;
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
  j["network"] = {{"latency_min_us", range(s.latency_min_us)},
                  {"latency_tail_mean_us", s.latency_tail_mean_us}};
  j["clocks"] = {{"offset_ms", range(s.clock_offset_ms)}, {"drift_ppm", range(s.clock_drift_ppm)}};
  j["swarm"] = {{"loss_ppm", range(s.swarm.loss_ppm)},
                {"duplicate_ppm", range(s.swarm.duplicate_ppm)},
                {"reorder_ppm", range(s.swarm.reorder_ppm)},
                {"partitions_per_min", range(s.swarm.partitions_per_min)},
                {"crashes_per_min", range(s.swarm.crashes_per_min)},
                {"pauses_per_min", range(s.swarm.pauses_per_min)},
                {"clock_steps_per_min", range(s.swarm.clock_steps_per_min)},
                {"clogs_per_min", range(s.swarm.clogs_per_min)},
                {"clock_step_ms", range(s.swarm.clock_step_ms)},
                {"fault_duration_ms", range(s.swarm.fault_duration_ms)},
                {"buggify", s.swarm.buggify}};
  ordered faults = ordered::array();
  for (const FaultEvent& f : s.faults) {
    ordered e;
    e["at_ms"] = f.at_ms;
    e["kind"] = FaultKindName(f.kind);
    if (f.node >= 0) e["node"] = f.node;
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
    faults.push_back(std::move(e));
  }
  j["faults"] = std::move(faults);
  if (s.grid) {
    const GridConfig& g = *s.grid;
    ordered leaves = ordered::array();
    for (const GridLeave& l : g.leaves)
      leaves.push_back({{"at_ms", l.at_ms}, {"server", l.server}});
    j["grid"] = {{"servers", g.servers},
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
                 {"disk_loss_pct", g.disk_loss_pct},
                 {"tombstone_grace_ms", g.tombstone_grace_ms},
                 {"torn_writes", g.torn_writes},
                 {"storage_errors_ppm", range(g.storage_errors_ppm)}};
  }
  j["invariants"] = ordered::array();
  for (invariants::Invariant i : s.invariants) {
    j["invariants"].push_back(std::string(invariants::InvariantName(i)));
  }
  return j.dump(2) + "\n";
}

absl::StatusOr<Scenario> LoadScenario(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(fmt::format("{}: cannot read the scenario file", path));
  std::ostringstream text;
  text << in.rdbuf();
  return ParseScenario(text.str(), path);
}

}  // namespace seedgrid::scenarios
