// The OR-Map parts of the grid checkers (grid_checks.h): the OR history (adds, the items removes
// observed, acknowledged adds) and grid_or_model.
#include <fmt/format.h>

#include "engine/base/assert.h"
#include "engine/cluster/partition.h"
#include "invariants/grid_checks.h"

namespace seedgrid::invariants {

void GridHistory::OnIssuedOrAdd(const NodeId& client, uint64_t seq, const std::string& map,
                                const std::string& key, uint64_t value_hash) {
  ForgetIssued(client, seq);
  or_ops_[{client, seq}] = OrOp{map, key, /*add=*/true, value_hash, {}};
}

void GridHistory::OnIssuedOrRemove(const NodeId& client, uint64_t seq, const std::string& map,
                                   const std::string& key, std::vector<Timestamp> observed) {
  ForgetIssued(client, seq);
  or_ops_[{client, seq}] = OrOp{map, key, /*add=*/false, 0, std::move(observed)};
}

// An add acknowledged with its item's tag (a duplicate whose item is gone is acknowledged with 0
// and promises nothing).
bool GridHistory::RemoveUnbound(const std::pair<NodeId, uint64_t>& op) const {
  // At REPLICATED the owner and (with backups) at least one backup held it; as many disks lost
  // since its first application may have been exactly those (http_clients seed 14: a split left
  // two servers, both lost their disks 150 ms apart).
  if (or_removes_acked_replicated_.contains(op)) {
    auto lost = or_remove_disks_lost_since_applied_.find(op);
    return lost != or_remove_disks_lost_since_applied_.end() &&
           lost->second.size() >= replicated_copies_min_;
  }
  if (!or_removes_acked_below_replicated_.contains(op)) return false;
  auto appliers = or_remove_appliers_.find(op);
  return appliers == or_remove_appliers_.end() || appliers->second.empty();
}

void GridHistory::OnOrAcked(const NodeId& client, const events::AckReceived& ack) {
  auto op = or_ops_.find({client, ack.seq});
  if (op == or_ops_.end()) return;
  if (!op->second.add) {
    // The client drops the acknowledged entry: below REPLICATED only the servers that applied it
    // are sure to hold it.
    if (ack.concern != msg::WriteConcern::kReplicated) {
      or_removes_acked_below_replicated_.insert({client, ack.seq});
    } else {
      or_removes_acked_replicated_.insert({client, ack.seq});
    }
    return;
  }
  if (ack.ts.millis == 0) return;
  if (ack.concern == msg::WriteConcern::kReplicated) {
    or_adds_replicated_.insert({client, ack.seq});
  } else if (ack.concern == msg::WriteConcern::kApplied) {
    or_adds_applied_.insert({client, ack.seq});
  }
}

namespace {

using OpId = std::pair<NodeId, uint64_t>;  // (client, op-log seq)

std::string OpName(const OpId& op) { return fmt::format("{}#{}", op.first, op.second); }

// The op an item's origin names (OrOrigin(client, seq) = {0, seq, client}).
OpId OpOf(const Timestamp& origin) { return {origin.node_id.str(), origin.counter}; }

}  // namespace

std::optional<std::string> OrAddNotHeld(const GridHistory& history, bool replicated,
                                        const std::vector<Holder>& holders) {
  const auto& promised = replicated ? history.or_adds_replicated_ : history.or_adds_applied_;
  if (promised.empty()) return std::nullopt;
  absl::btree_set<OpId> removed;  // observed by a remove some server applied
  for (const auto& [id, op] : history.or_ops_) {
    if (op.add || !history.applied_ops_.contains(id)) continue;
    for (const Timestamp& origin : op.observed) removed.insert(OpOf(origin));
  }
  for (const OpId& id : promised) {
    if (removed.contains(id)) continue;
    auto op = history.or_ops_.find(id);
    SG_ASSERT(op != history.or_ops_.end());  // ForgetIssued drops its promises with it.
    const std::string& map = op->second.map;
    const std::string& key = op->second.key;
    const uint32_t p = PartitionOf(key);
    const Timestamp origin = OrOrigin(id.first, id.second);
    std::string found;
    bool held = false;
    for (const Holder& h : holders) {
      const GridPartition* part = h.partition(p);
      const OrMap* or_map = part ? part->OrMapOf(map) : nullptr;
      const OrEntry* entry = or_map ? or_map->GetEntry(key) : nullptr;
      if (entry != nullptr && (entry->FindByTagOrOrigin(origin) != entry->items.end() ||
                               or_map->OriginDead(key, origin))) {
        held = true;
        break;
      }
      if (part != nullptr) {
        found += fmt::format("; {} holds {} items and {} tombstones", h.name,
                             entry ? entry->items.size() : 0, entry ? entry->tombstones.size() : 0);
      }
    }
    if (!held) {
      return fmt::format("{}'s OR add to {}/{}, acknowledged at {}{}", OpName(id), map, key,
                         replicated ? "REPLICATED" : "APPLIED", found);
    }
  }
  return std::nullopt;
}

std::optional<Violation> CheckGridOrModel(
    const GridHistory& history, const std::function<Holder(uint32_t partition)>& owner_of) {
  const auto durable = [&](const OpId& op) {
    auto logged = history.logged_seqs_.find(op.first);
    return logged != history.logged_seqs_.end() && GridHistory::Contains(logged->second, op.second);
  };
  // The add each durable remove observed -> that remove.
  // A remove acknowledged below REPLICATED before a disk loss may have been lost with that disk:
  // what it observed may be alive or not (`observed_by`), but it is not bound to be gone.
  absl::btree_map<OpId, OpId> removed_by, observed_by;
  for (const auto& [id, op] : history.or_ops_) {
    if (op.add || !durable(id)) continue;
    const bool bound = !history.RemoveUnbound(id);
    for (const Timestamp& origin : op.observed) {
      observed_by.try_emplace(OpOf(origin), id);
      if (bound) removed_by.try_emplace(OpOf(origin), id);
    }
  }
  const auto fail = [](const Holder& owner, const std::string& map, const std::string& key,
                       std::string what) {
    return Violation{Invariant::kGridOrModel,
                     fmt::format("owner {} of OR-Map {}/{}: {}", owner.name, map, key, what)};
  };
  // Every item an owner holds is a durable add's, once, with its value, observed by no remove.
  absl::btree_set<OpId> held;
  for (uint32_t p = 0; p < kPartitionCount; ++p) {
    const Holder owner = owner_of(p);
    const GridPartition* part = owner.partition(p);
    if (part == nullptr) continue;
    for (const auto& [map, or_map] : part->or_maps) {
      for (const auto& [key, entry] : or_map->entries()) {
        for (const auto& [tag, item] : entry.items) {
          if (!item.origin) {
            return fail(owner, map, key,
                        fmt::format("item {} has no origin: no client added it", tag.ToString()));
          }
          const OpId id = OpOf(*item.origin);
          auto op = history.or_ops_.find(id);
          if (op == history.or_ops_.end() || !op->second.add || !durable(id)) {
            return fail(owner, map, key,
                        fmt::format("item {} names {} as its add, which no client durably logged "
                                    "as an OR add",
                                    tag.ToString(), OpName(id)));
          }
          if (op->second.map != map || op->second.key != key) {
            return fail(owner, map, key,
                        fmt::format("item {} is {}'s add, which added to {}/{}", tag.ToString(),
                                    OpName(id), op->second.map, op->second.key));
          }
          if (op->second.value_hash != ValueHash(item.value)) {
            return fail(owner, map, key,
                        fmt::format("item {} holds {}, not the value {} added", tag.ToString(),
                                    item.value.ToString(), OpName(id)));
          }
          if (auto r = removed_by.find(id); r != removed_by.end()) {
            return fail(owner, map, key,
                        fmt::format("item {} of {}'s add is alive, but {}'s durable remove "
                                    "observed it",
                                    tag.ToString(), OpName(id), OpName(r->second)));
          }
          // An add applied twice (two owners across a failover) may be held as two copies; the
          // map lists it once (OrMap::GetAt).
          held.insert(id);
        }
      }
    }
  }
  // Every promised add that no durable remove observed is held (the loop saw every held one).
  for (const auto* promised : {&history.or_adds_replicated_, &history.or_adds_applied_}) {
    for (const OpId& id : *promised) {
      if (held.contains(id) || observed_by.contains(id)) continue;
      auto op = history.or_ops_.find(id);
      SG_ASSERT(op != history.or_ops_.end());  // ForgetIssued drops its promises with it.
      return fail(owner_of(PartitionOf(op->second.key)), op->second.map, op->second.key,
                  fmt::format("{}'s add, acknowledged at {} with its item, is missing, and no "
                              "durable remove observed it",
                              OpName(id),
                              promised == &history.or_adds_replicated_ ? "REPLICATED" : "APPLIED"));
    }
  }
  return std::nullopt;
}

}  // namespace seedgrid::invariants
