// GridQueryHost's OR rows (grid_query_views.h, OrView).
#include <limits>

#include "engine/base/assert.h"
#include "engine/cluster/grid_queries.h"
#include "engine/cluster/grid_query_views.h"

namespace seedgrid {

namespace {
constexpr uint64_t kNoRowDeadline = std::numeric_limits<uint64_t>::max();
}  // namespace

QueryEngine& GridQueryHost::EngineOf(const Sub& sub) {
  if (sub.or_rows) return or_views_.at(sub.map)->engine;
  return views_.at(sub.map)->engine;
}

GridQueryHost::OrView& GridQueryHost::OrViewOf(const std::string& map) {
  auto it = or_views_.find(map);
  if (it != or_views_.end()) return *it->second;
  auto view = std::make_unique<OrView>(clock_);
  for (uint32_t p = 0; p < kPartitionCount; ++p) {
    if (covered_[p]) AddPartitionOrRows(*view, map, p);
  }
  return *or_views_.emplace(map, std::move(view)).first->second;
}

void GridQueryHost::SyncOrKey(OrView& v, std::string_view key, const OrEntry* entry) {
  auto it = v.rows.lower_bound({std::string(key), Timestamp{}});
  while (it != v.rows.end() && it->first.first == key) {
    const OrItem* item = nullptr;
    if (entry != nullptr) {
      auto found = entry->items.find(it->first.second);
      if (found != entry->items.end()) item = &found->second;
    }
    if (item == nullptr) {
      v.engine.RemoveRow(it->second.handle, it->first.first, &it->first.second, it->second.doc);
      it = v.rows.erase(it);
      continue;
    }
    if (!(item->value == it->second.doc)) {  // A tag with two payloads: bad input.
      Document old = std::exchange(it->second.doc, item->value);
      v.engine.UpdateRow(it->second.handle, old, &it->second.doc, kNoRowDeadline);
    }
    ++it;
  }
  if (entry == nullptr) return;
  for (const auto& [tag, item] : entry->items) {
    auto [row, inserted] = v.rows.try_emplace({std::string(key), tag}, OrView::Row{item.value});
    if (!inserted) continue;
    row->second.handle =
        v.engine.InsertRow(row->first.first, &row->first.second, &row->second.doc, kNoRowDeadline);
  }
}

void GridQueryHost::AddPartitionOrRows(OrView& v, const std::string& map, uint32_t p) {
  if (partitions_[p] == nullptr) return;
  const OrMap* or_map = partitions_[p]->OrMapOf(map);
  if (or_map == nullptr) return;
  for (const auto& [key, entry] : or_map->entries()) SyncOrKey(v, key, &entry);
}

void GridQueryHost::DropUncoveredOrRows(OrView& v, const Coverage& covered) {
  for (auto it = v.rows.begin(); it != v.rows.end();) {
    if (covered[PartitionOf(it->first.first)]) {
      ++it;
      continue;
    }
    v.engine.RemoveRow(it->second.handle, it->first.first, &it->first.second, it->second.doc);
    it = v.rows.erase(it);
  }
}

void GridQueryHost::OnOrChange(uint32_t p, const std::string& map, const OrChange& c) {
  if (!covered_[p]) return;
  auto v = or_views_.find(map);
  if (v == or_views_.end()) return;
  SyncOrKey(*v->second, c.key, c.new_entry);
}

void GridQueryHost::FillOrRows(Sub& sub, bool snapshot, msg::MapRecords& rows) {
  OrView& view = *or_views_.at(sub.map);
  // By key, ascending (the wire's order for OR key states).
  absl::btree_map<std::string, msg::OrKeyState> keys;
  const auto state_of = [&keys](const std::string& key) -> msg::OrKeyState& {
    msg::OrKeyState& k = keys[key];
    k.key = key;
    return k;
  };
  if (snapshot) {
    absl::StatusOr<std::vector<RowRef>> result = view.engine.LiveResult(sub.engine_id);
    SG_ASSERT(result.ok());
    for (const RowRef& r : *result) {
      SG_ASSERT(r.tag != nullptr);
      state_of(std::string(r.key)).items.push_back({*r.tag, *r.value, std::nullopt, std::nullopt});
    }
  } else {
    for (const auto& [row, present] : sub.or_pending) {
      auto it = present ? view.rows.find(row) : view.rows.end();
      msg::OrKeyState& k = state_of(row.first);
      if (it == view.rows.end()) {
        k.tombstones.push_back(row.second);  // The row left the result.
      } else {
        k.items.push_back({row.second, it->second.doc, std::nullopt, std::nullopt});
      }
    }
  }
  for (auto& [key, state] : keys) rows.or_keys.push_back(std::move(state));
}

}  // namespace seedgrid
