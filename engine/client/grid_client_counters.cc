// GridClient's PN-Counters (the counter parts of grid_client.h): Increment, the local counters,
// and this client's own totals as twin pages — written with each increment, restored and
// backfilled at a restart. Merging and repairing counters from leaves is in grid_client_sync.cc.
#include <fmt/format.h>

#include "engine/base/probe.h"
#include "engine/base/strings.h"
#include "engine/client/grid_client.h"
#include "engine/cluster/partition.h"

namespace seedgrid {

namespace {

std::string OwnTotalsName(std::string_view map, std::string_view key) {
  return fmt::format("O/{}/{}/{}", map.size(), map, key);
}

}  // namespace

TwinPage& GridClient::OwnTotalsPage(const std::string& map, const std::string& key) {
  return own_totals_.try_emplace({map, key}, OwnTotalsName(map, key)).first->second;
}

bool GridClient::OfferOwnTotalsPage(const std::string& page, const std::string& bytes) {
  // "O/<len>/<map>/<key>.<copy>"
  if (page.size() < 2 || page[page.size() - 2] != '.') return false;
  const std::string_view name = std::string_view(page).substr(0, page.size() - 2);
  const size_t slash = name.find('/', 2);
  uint64_t len = 0;
  if (slash == std::string_view::npos || !ParseU64(name.substr(2, slash - 2), len) ||
      len >= name.size() - slash - 1 || name[slash + 1 + len] != '/') {
    return false;
  }
  const std::string map(name.substr(slash + 1, len));
  const std::string key(name.substr(slash + 2 + len));
  TwinPage& twin = OwnTotalsPage(map, key);
  return twin.name() == name && twin.Offer(page, bytes);
}

void GridClient::RestoreOwnTotals() {
  for (const auto& [map_key, twin] : own_totals_) {
    const auto& value = twin.restored();
    if (!value) continue;  // Never synced (its op was not durable either).
    PnTotals totals;
    const size_t space = value->find(' ');
    if (space == std::string::npos ||
        !ParseU64(std::string_view(*value).substr(0, space), totals.positive) ||
        !ParseU64(std::string_view(*value).substr(space + 1), totals.negative)) {
      ++stats_.torn_pages_discarded;  // Sealed but not totals: cannot happen short of a bug.
      continue;
    }
    SG_PROBE("client.own_counter_totals_restored");
    (void)CountersOf(map_key.first).Raise(map_key.second, options_.node_id, totals);
  }
}

// Every own entry restored above its twin's value (a data directory from before twins, or totals
// restored from op pages only) gets its twin now, synced by the restore's SyncStorage().
void GridClient::BackfillOwnTotals() {
  if (!options_.persist) return;
  for (const auto& [map, counters] : counters_) {
    for (const auto& [key, state] : counters->counters()) {
      const auto own = state.find(options_.node_id);
      if (own == state.end()) continue;
      const std::string value = fmt::format("{} {}", own->second.positive, own->second.negative);
      TwinPage& twin = OwnTotalsPage(map, key);
      if (twin.restored() == value) continue;
      SG_PROBE("client.own_counter_totals_backfilled");
      twin.Put(pages_, value);
    }
  }
}

CounterMap& GridClient::CountersOf(const std::string& name) {
  (void)MapOf(name);  // Synced like any map (StartSync walks maps_).
  auto it = counters_.find(name);
  if (it != counters_.end()) return *it->second;
  auto counters = std::make_unique<CounterMap>();
  PartitionDigests* digests = &digests_[name];
  counters->set_listener([this, name, digests](const CounterChange& c) {
    digests->Apply(c);
    if (c.old_totals == nullptr) counter_keys_[{name, PartitionOf(c.key)}].emplace(c.key);
    if (restoring_ || !options_.persist) return;
    unwritten_counters_.emplace(name, std::string(c.key));
  });
  return *counters_.emplace(name, std::move(counters)).first->second;
}

int64_t GridClient::CounterValue(const std::string& map, const std::string& key) const {
  const CounterMap* counters = Counters(map);
  return counters == nullptr ? 0 : counters->Value(key);
}

absl::StatusOr<uint64_t> GridClient::Increment(const std::string& map, std::string key,
                                               int64_t delta, msg::WriteConcern concern) {
  CounterMap& counters = CountersOf(map);
  PnTotals totals;
  if (const PnState* state = counters.Get(key)) {
    if (auto own = state->find(options_.node_id); own != state->end()) totals = own->second;
  }
  // |delta| without overflow for INT64_MIN.
  const uint64_t by = delta >= 0 ? static_cast<uint64_t>(delta) : ~static_cast<uint64_t>(delta) + 1;
  uint64_t& total = delta >= 0 ? totals.positive : totals.negative;
  if (total > UINT64_MAX - by) {
    return absl::OutOfRangeError(
        fmt::format("grid client: counter '{}' of map '{}': this client's {} total would pass "
                    "2^64 - 1",
                    key, map, delta >= 0 ? "positive" : "negative"));
  }
  total += by;
  const Timestamp ts = hlc_.Now();  // Names the op (grid_lost_update), like a write's stamp.
  events::EmitEvent(options_.events, events::TimestampIssued{ts});
  (void)counters.Raise(key, options_.node_id, totals);
  if (options_.persist) {  // Synced with the op's page (Log).
    OwnTotalsPage(map, key).Put(pages_, fmt::format("{} {}", totals.positive, totals.negative));
  }
  return Log(msg::GridOp{0, concern, map, std::move(key), std::nullopt, ts, totals});
}

}  // namespace seedgrid
