#include "invariants/history.h"

#include <fmt/format.h>

namespace seedgrid::invariants {

namespace {
std::string Show(const std::optional<Document>& value) {
  return value ? value->ToString() : std::string("<tombstone>");
}
}  // namespace

void History::LwwWrite(const std::string& map, const std::string& key, const Timestamp& ts,
                       std::optional<Document> value) {
  ++ops_;
  auto [it, inserted] = lww_[map].try_emplace(key, LwwLatest{ts, value});
  if (!inserted && it->second.ts < ts) it->second = LwwLatest{ts, std::move(value)};
}

void History::OrAdd(const std::string& map, const std::string& key, const Timestamp& tag,
                    Document value) {
  ++ops_;
  or_added_[map][key].emplace(tag, std::move(value));
}

void History::OrRemove(const std::string& map, const std::string& key,
                       const std::vector<Timestamp>& tags) {
  ++ops_;
  auto& removed = or_removed_[map][key];
  removed.insert(tags.begin(), tags.end());
}

void History::CounterIncrement(const std::string& counter, const std::string& node, uint64_t by) {
  ++ops_;
  counters_[counter][node].positive += by;
}

void History::CounterDecrement(const std::string& counter, const std::string& node, uint64_t by) {
  ++ops_;
  counters_[counter][node].negative += by;
}

std::optional<Violation> CheckLwwModel(const History& history, const Replica& replica) {
  for (const auto& [map_name, keys] : history.lww()) {
    auto map_it = replica.lww_maps().find(map_name);
    if (map_it == replica.lww_maps().end()) {
      return Violation{Invariant::kLwwModel,
                       fmt::format("{}: map '{}' is missing ({} keys were written)",
                                   replica.node_id(), map_name, keys.size())};
    }
    const LwwMap& map = *map_it->second;
    for (const auto& [key, latest] : keys) {
      const LwwRecord* record = map.GetRecord(key);
      if (record == nullptr || record->ts != latest.ts || record->value != latest.value) {
        return Violation{
            Invariant::kLwwModel,
            fmt::format("{}: map '{}' key '{}': the highest-timestamp write was {} = {}, the "
                        "replica holds {}",
                        replica.node_id(), map_name, key, latest.ts.ToString(), Show(latest.value),
                        record ? record->ToString() : "<absent>")};
      }
    }
    if (map.size() != keys.size()) {
      for (const auto& [key, record] : map.records()) {
        if (!keys.contains(key)) {
          return Violation{Invariant::kLwwModel,
                           fmt::format("{}: map '{}' key '{}' = {} was never written",
                                       replica.node_id(), map_name, key, record.ToString())};
        }
      }
    }
  }
  return std::nullopt;
}

std::optional<Violation> CheckOrModel(const History& history, const Replica& replica) {
  // Live items under keys (or in maps) nobody added to.
  for (const auto& [map_name, map] : replica.or_maps()) {
    const auto added = history.or_added_.find(map_name);
    for (const auto& [key, entry] : map->entries()) {
      if (entry.items.empty()) continue;
      if (added == history.or_added_.end() || !added->second.contains(key)) {
        return Violation{Invariant::kOrModel,
                         fmt::format("{}: map '{}' key '{}' holds {} live item(s) nobody added "
                                     "(first tag {})",
                                     replica.node_id(), map_name, key, entry.items.size(),
                                     entry.items.begin()->first.ToString())};
      }
    }
  }
  for (const auto& [map_name, keys] : history.or_added_) {
    auto map_it = replica.or_maps().find(map_name);
    if (map_it == replica.or_maps().end()) {
      return Violation{Invariant::kOrModel,
                       fmt::format("{}: map '{}' is missing", replica.node_id(), map_name)};
    }
    const OrMap& map = *map_it->second;
    const auto removed_map = history.or_removed_.find(map_name);
    for (const auto& [key, added] : keys) {
      const absl::btree_set<Timestamp>* removed = nullptr;
      if (removed_map != history.or_removed_.end()) {
        auto r = removed_map->second.find(key);
        if (r != removed_map->second.end()) removed = &r->second;
      }
      absl::btree_map<Timestamp, const Document*> expected;
      for (const auto& [tag, value] : added) {
        if (removed == nullptr || !removed->contains(tag)) expected.emplace(tag, &value);
      }
      const OrEntry* entry = map.GetEntry(key);
      const size_t actual = entry ? entry->items.size() : 0;
      bool same = actual == expected.size();
      if (same && entry != nullptr) {
        auto e = expected.begin();
        for (const auto& [tag, item] : entry->items) {
          if (tag != e->first || item.value != *e->second) same = false;
          ++e;
        }
      }
      if (!same) {
        std::string want, got;
        for (const auto& [tag, value] : expected) want += " " + tag.ToString();
        if (entry) {
          for (const auto& [tag, item] : entry->items) got += " " + tag.ToString();
        }
        return Violation{
            Invariant::kOrModel,
            fmt::format("{}: map '{}' key '{}': add-wins expects live tags [{}], the replica "
                        "holds [{}]",
                        replica.node_id(), map_name, key, want, got)};
      }
    }
  }
  return std::nullopt;
}

namespace {

// The model's value: sum(P) - sum(N), with the counter's own wrapping arithmetic.
int64_t ModelValue(const PnState& totals) {
  uint64_t sum = 0;
  for (const auto& [node, t] : totals) sum += t.positive - t.negative;
  return static_cast<int64_t>(sum);
}

uint64_t Sum(const PnState& totals, uint64_t PnTotals::*half) {
  uint64_t sum = 0;
  for (const auto& [node, t] : totals) sum += t.*half;
  return sum;
}

// The first node whose totals in `actual` differ from the model's (absent means {0, 0}).
std::optional<std::string> FirstTotalsDifference(const PnState& model, const PnState& actual) {
  absl::btree_set<std::string> nodes;
  for (const auto& [node, t] : model) nodes.insert(node);
  for (const auto& [node, t] : actual) nodes.insert(node);
  for (const std::string& node : nodes) {
    const auto m = model.find(node);
    const auto a = actual.find(node);
    const PnTotals want = m == model.end() ? PnTotals{} : m->second;
    const PnTotals got = a == actual.end() ? PnTotals{} : a->second;
    if (want != got) {
      return fmt::format(
          "node '{}' holds P={} N={}, its own increments and decrements add up to "
          "P={} N={}",
          node, got.positive, got.negative, want.positive, want.negative);
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<Violation> CheckPnModel(const History& history, const Replica& replica) {
  for (const auto& [name, counter] : replica.counters()) {
    if (!history.counters_.contains(name) && counter->value() != 0) {
      return Violation{Invariant::kPnModel,
                       fmt::format("{}: counter '{}' = {} but nobody incremented or decremented it",
                                   replica.node_id(), name, counter->value())};
    }
  }
  for (const auto& [name, model] : history.counters_) {
    auto it = replica.counters().find(name);
    static const PnState kEmpty;
    const PnState& actual = it == replica.counters().end() ? kEmpty : it->second->state();
    const int64_t value = it == replica.counters().end() ? 0 : it->second->value();
    const int64_t want = ModelValue(model);
    if (value != want) {
      return Violation{
          Invariant::kPnModel,
          fmt::format("{}: counter '{}' = {}, the increments ({}) minus the decrements ({}) are {}",
                      replica.node_id(), name, value, Sum(model, &PnTotals::positive),
                      Sum(model, &PnTotals::negative), want)};
    }
    if (auto diff = FirstTotalsDifference(model, actual)) {
      return Violation{Invariant::kPnModel, fmt::format("{}: counter '{}' = {} as expected, but {}",
                                                        replica.node_id(), name, value, *diff)};
    }
  }
  return std::nullopt;
}

std::optional<Violation> HlcMonitor::Check(int node, const Timestamp& ts) {
  ++checked_;
  const NodeStamps& n = nodes_[node];
  if (n.last && !(*n.last < ts)) {
    return Violation{Invariant::kHlc,
                     fmt::format("n{} issued {} after {}{}: local timestamps must strictly "
                                 "increase",
                                 node, ts.ToString(), n.last->ToString(),
                                 n.restarted ? " (issued before its restart)" : "")};
  }
  if (n.max_received && !(*n.max_received < ts)) {
    return Violation{Invariant::kHlc, fmt::format("n{} issued {} but had accepted {} from a peer",
                                                  node, ts.ToString(), n.max_received->ToString())};
  }
  return std::nullopt;
}

void HlcMonitor::Settle(NodeStamps& n, uint64_t clean_syncs) {
  if (n.last_pending && clean_syncs > n.last_syncs) {
    n.durable = n.last;
    n.last_pending = false;
  }
}

std::optional<Violation> HlcMonitor::OnLocal(int node, const Timestamp& ts) {
  std::optional<Violation> v = Check(node, ts);
  NodeStamps& n = nodes_[node];
  n.last = ts;
  n.durable = ts;
  n.last_pending = false;
  n.restarted = false;
  return v;
}

std::optional<Violation> HlcMonitor::OnIssued(int node, const Timestamp& ts, uint64_t clean_syncs) {
  NodeStamps& n = nodes_[node];
  Settle(n, clean_syncs);
  std::optional<Violation> v = Check(node, ts);
  n.last = ts;
  n.last_syncs = clean_syncs;
  n.last_pending = true;
  n.restarted = false;
  return v;
}

void HlcMonitor::OnCrash(int node, uint64_t clean_syncs) {
  NodeStamps& n = nodes_[node];
  Settle(n, clean_syncs);
  n.last = n.durable;
  n.last_pending = false;
  n.restarted = true;
}

void HlcMonitor::OnDiskLost(int node) {
  NodeStamps& n = nodes_[node];
  n.last.reset();
  n.durable.reset();
  n.last_pending = false;
  n.max_received.reset();
}

void HlcMonitor::OnReceived(int node, const Timestamp& ts) {
  NodeStamps& n = nodes_[node];
  if (!n.max_received || *n.max_received < ts) n.max_received = ts;
}

}  // namespace seedgrid::invariants
