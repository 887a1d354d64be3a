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

void History::CounterAdd(const std::string& counter, int64_t delta) {
  ++ops_;
  counters_[counter] += delta;
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

std::optional<Violation> CheckPnModel(const History& history, const Replica& replica) {
  for (const auto& [name, counter] : replica.counters()) {
    if (!history.counters_.contains(name) && counter->value() != 0) {
      return Violation{Invariant::kPnModel,
                       fmt::format("{}: counter '{}' = {} but nobody incremented it",
                                   replica.node_id(), name, counter->value())};
    }
  }
  for (const auto& [name, sum] : history.counters_) {
    auto it = replica.counters().find(name);
    const int64_t value = it == replica.counters().end() ? 0 : it->second->value();
    if (value != sum) {
      return Violation{Invariant::kPnModel,
                       fmt::format("{}: counter '{}' = {}, the sum of all increments is {}",
                                   replica.node_id(), name, value, sum)};
    }
  }
  return std::nullopt;
}

std::optional<Violation> HlcMonitor::OnLocal(int node, const Timestamp& ts) {
  ++checked_;
  std::optional<Violation> v;
  if (last_local_[node] && !(*last_local_[node] < ts)) {
    v = Violation{Invariant::kHlc,
                  fmt::format("n{} issued {} after {}: local timestamps must strictly "
                              "increase",
                              node, ts.ToString(), last_local_[node]->ToString())};
  } else if (max_received_[node] && !(*max_received_[node] < ts)) {
    v = Violation{Invariant::kHlc,
                  fmt::format("n{} issued {} but had accepted {} from a peer", node, ts.ToString(),
                              max_received_[node]->ToString())};
  }
  last_local_[node] = ts;
  return v;
}

void HlcMonitor::OnReceived(int node, const Timestamp& ts) {
  if (!max_received_[node] || *max_received_[node] < ts) max_received_[node] = ts;
}

}  // namespace seedgrid::invariants
