// GridClient's OR-Maps (grid_client.h, "OR-Maps"): local adds under provisional tags, removes
// that name what the client observed, the owner's tags adopted from acknowledgements and leaves,
// leaves merged under the GC watermark, and repairs of what an owner lacks.
#include <fmt/format.h>

#include "absl/container/btree_set.h"
#include "engine/base/probe.h"
#include "engine/client/grid_client.h"
#include "engine/cluster/partition.h"
#include "engine/wire/codec.h"

namespace seedgrid {

namespace {

std::string OrEntryPage(std::string_view map, std::string_view key) {
  return fmt::format("OE/{}/{}/{}", map.size(), map, key);
}

}  // namespace

OrMap& GridClient::OrMapFor(const std::string& name) {
  (void)MapOf(name);  // Synced like any map (StartSync walks maps_).
  auto it = or_maps_.find(name);
  if (it != or_maps_.end()) return *it->second;
  auto or_map = std::make_unique<OrMap>(hlc_, OrMapOptions{.merkle_depth = 1, .merkle = false});
  PartitionDigests* digests = &digests_[name];
  or_map->AddListener([this, name, digests](const OrChange& c) {
    digests->Apply(c);
    if (c.old_entry == nullptr) or_keys_[{name, PartitionOf(c.key)}].emplace(c.key);
    if (restoring_ || !options_.persist) return;
    unwritten_or_.emplace(name, std::string(c.key));
  });
  return *or_maps_.emplace(name, std::move(or_map)).first->second;
}

const OrMap* GridClient::OrMapOf(const std::string& map) const {
  auto it = or_maps_.find(map);
  return it == or_maps_.end() ? nullptr : it->second.get();
}

std::vector<const Document*> GridClient::Items(const std::string& map, std::string_view key) {
  auto it = or_maps_.find(map);
  return it == or_maps_.end() ? std::vector<const Document*>{} : it->second->Get(key);
}

absl::StatusOr<uint64_t> GridClient::AddItem(const std::string& map, std::string key,
                                             Document value, msg::WriteConcern concern) {
  if (next_seq_ > UINT32_MAX) {
    return absl::OutOfRangeError(fmt::format(
        "grid client: OR add to map '{}': op-log seq {} is past 2^32 - 1 (an add's origin holds "
        "32 bits)",
        map, next_seq_));
  }
  // The add's origin names the op the next Log() makes; the owner keeps it on its own tag.
  const Timestamp tag =
      OrMapFor(map).Add(key, value, std::nullopt, OrOrigin(options_.node_id, next_seq_));
  events::EmitEvent(options_.events, events::TimestampIssued{tag});
  msg::GridOp op{0, concern, map, std::move(key), std::move(value), tag};
  op.or_kind = msg::OrOpKind::kAdd;
  return Log(std::move(op));
}

absl::StatusOr<uint64_t> GridClient::RemoveItem(const std::string& map, std::string key,
                                                const Document& value, msg::WriteConcern concern) {
  OrMap& or_map = OrMapFor(map);
  // Observed remove: every live item of `key` with this value, named by its add's origin — the
  // owner kills the origin, taking every copy of the add (or_map.h, "Kills") — or by its tag when
  // it has none. One origin may have two items here (an add applied twice): named once.
  std::vector<Timestamp> names;
  if (const OrEntry* entry = or_map.GetEntry(key)) {
    for (const auto& [tag, item] : entry->items) {
      if (item.value != value) continue;
      const Timestamp& name = item.origin ? *item.origin : tag;
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
  }
  if (names.empty()) {
    return absl::NotFoundError(fmt::format(
        "grid client: OR remove: map '{}' key '{}' holds no item with that value", map, key));
  }
  (void)or_map.TombstoneTags(key, names);
  const Timestamp ts = hlc_.Now();  // Names the op (grid_lost_update), like a write's stamp.
  events::EmitEvent(options_.events, events::TimestampIssued{ts});
  msg::GridOp op{0, concern, map, std::move(key), std::nullopt, ts};
  op.or_kind = msg::OrOpKind::kRemove;
  op.or_tags = std::move(names);
  return Log(std::move(op));
}

void GridClient::OnOrAck(const msg::GridOp& op, const msg::GridOpAck& a) {
  if (op.or_kind != msg::OrOpKind::kAdd) return;  // A remove's tombstones are already here.
  OrMap& or_map = OrMapFor(op.map_name);
  const Timestamp origin = OrOrigin(options_.node_id, op.seq);
  if (a.ts.millis == 0) {
    // A duplicate whose item is gone (removed, and maybe collected): so is ours.
    SG_PROBE("client.or_add_acked_gone");
    (void)or_map.ForgetTag(op.key, op.client_ts);
    (void)or_map.ForgetTag(op.key, origin);
    return;
  }
  // The owner's tag replaces the provisional one. A tombstone of the add's origin (removed here
  // before this ack) stays until the owner's kill of the origin comes in a leaf and subsumes it.
  (void)or_map.Retag(op.key, op.client_ts, a.ts);
}

absl::btree_set<uint64_t> GridClient::PendingOrAdds(const std::string& map_name) const {
  absl::btree_set<uint64_t> pending;
  for (const auto& [seq, op] : op_log_) {
    if (op.map_name == map_name && op.or_kind == msg::OrOpKind::kAdd) pending.insert(seq);
  }
  return pending;
}

void GridClient::MergeLeafOr(const msg::MapRecords& leaf, uint32_t partition, uint64_t watermark) {
  if (leaf.or_keys.empty() && !or_maps_.contains(leaf.map_name)) return;
  OrMap& or_map = OrMapFor(leaf.map_name);
  for (const msg::OrKeyState& k : leaf.or_keys) {
    if (PartitionOf(k.key) != partition) {
      Fail(stats_.protocol_errors,
           fmt::format("OR entry '{}' outside partition {}", k.key, partition));
      continue;
    }
    // An add of ours the owner tagged before its acknowledgement came: adopt the owner's tag.
    if (const OrEntry* mine = or_map.GetEntry(k.key)) {
      for (const OrRecord& item : k.items) {
        if (!item.origin || item.origin->node_id != options_.node_id) continue;
        const auto local = mine->FindByTagOrOrigin(*item.origin);
        if (local != mine->items.end() && local->first.node_id == options_.node_id) {
          const Timestamp provisional = local->first;
          (void)or_map.Retag(k.key, provisional, item.tag);
          mine = or_map.GetEntry(k.key);
          if (mine == nullptr) break;
        }
      }
    }
    absl::StatusOr<bool> merged = or_map.Merge(k.key, k.items, k.tombstones);
    if (merged.ok() && *merged) ++stats_.records_merged;
  }
  if (watermark != 0) ForgetOrBelow(or_map, leaf, partition, watermark);
  SettleOwnOrItems(or_map, leaf, partition);
}

void GridClient::ForgetOrBelow(OrMap& or_map, const msg::MapRecords& leaf, uint32_t partition,
                               uint64_t watermark) {
  // The owner holds every live item tagged before its watermark, and has pruned the tombstones
  // before it: ours before it that the leaf lacks are dead. Our provisional tags (our clock) and
  // add origins are not the owner's to judge: acknowledgements settle them.
  auto keys = or_keys_.find({leaf.map_name, partition});
  if (keys == or_keys_.end()) return;
  absl::btree_map<std::string_view, const msg::OrKeyState*> in_leaf;
  for (const msg::OrKeyState& k : leaf.or_keys) in_leaf.emplace(k.key, &k);
  std::optional<absl::btree_set<std::string_view>> pending;  // computed on the first need
  std::vector<std::pair<std::string, Timestamp>> dead;
  for (const std::string& key : keys->second) {
    const OrEntry* entry = or_map.GetEntry(key);
    if (entry == nullptr) continue;
    const auto theirs = in_leaf.find(key);
    // Origin tombstones (millis 0) are swept too: the owner's kill of the origin subsumes them, and
    // one kept here alone would leave this client different from its owner for good. Kills are
    // judged by their time, as the owner prunes them.
    const auto lacks = [&](const Timestamp& t, bool item) {
      if (GcMillis(t) >= watermark) return false;
      if (!IsOrKill(t) && t.node_id == options_.node_id && t.millis != 0) return false;
      if (theirs == in_leaf.end()) return true;
      const msg::OrKeyState& k = *theirs->second;
      return item ? std::none_of(k.items.begin(), k.items.end(),
                                 [&](const OrRecord& r) { return r.tag == t; })
                  : std::find(k.tombstones.begin(), k.tombstones.end(), t) == k.tombstones.end();
    };
    const size_t before = dead.size();
    for (const auto& [tag, item] : entry->items) {
      if (lacks(tag, true)) dead.emplace_back(key, tag);
    }
    for (const Timestamp& t : entry->tombstones) {
      if (lacks(t, false)) dead.emplace_back(key, t);
    }
    if (dead.size() == before) continue;  // The usual case: no need to scan the op log.
    // A key with ops in the op log keeps everything: a pending remove's tombstones must outlive
    // leaves from before the owner applied it (an item older than the watermark would be back).
    if (!pending) pending = PendingKeys(leaf.map_name);
    if (pending->contains(key)) {
      SG_PROBE("client.gc_sweep_kept_pending_or_key");
      dead.resize(before);
    }
  }
  if (!dead.empty()) SG_PROBE("client.gc_sweep_forgot_or_tags");
  // One change per key (its tags are adjacent in `dead`): one entry copy and one digest update
  // (two entry hashes) per key, not per forgotten tag.
  std::vector<Timestamp> tags;
  for (size_t i = 0; i < dead.size();) {
    tags.clear();
    size_t j = i;
    for (; j < dead.size() && dead[j].first == dead[i].first; ++j) tags.push_back(dead[j].second);
    (void)or_map.ForgetTags(dead[i].first, tags);
    stats_.records_forgotten += tags.size();
    i = j;
  }
}

void GridClient::SettleOwnOrItems(OrMap& or_map, const msg::MapRecords& leaf, uint32_t partition) {
  // A provisional item whose add left the op log without its tag being adopted (a lost
  // acknowledgement's duplicate said "gone", or the pages of the retag tore): the owner's leaf is
  // the truth. Its own item with the same origin was adopted by the merge above; otherwise ours
  // is gone.
  auto keys = or_keys_.find({leaf.map_name, partition});
  if (keys == or_keys_.end()) return;
  std::vector<std::pair<std::string, Timestamp>> stale;
  for (const std::string& key : keys->second) {
    const OrEntry* entry = or_map.GetEntry(key);
    if (entry == nullptr) continue;
    for (const auto& [tag, item] : entry->items) {
      if (tag.node_id == options_.node_id) stale.emplace_back(key, tag);
    }
  }
  if (stale.empty()) return;  // The usual case.
  const absl::btree_set<uint64_t> pending = PendingOrAdds(leaf.map_name);
  for (const auto& [key, tag] : stale) {
    const OrItem& item = or_map.GetEntry(key)->items.at(tag);
    if (item.origin && item.origin->node_id == options_.node_id &&
        pending.contains(item.origin->counter)) {
      continue;  // Still on its way: its acknowledgement settles it.
    }
    SG_PROBE("client.own_or_item_settled_to_owner");
    ++stats_.own_writes_settled;
    (void)or_map.ForgetTag(key, tag);
  }
}

void GridClient::RepairOr(const msg::MapRecords& leaf, uint32_t partition,
                          std::vector<msg::OrKeyState>& out) const {
  // What the owner's leaf lacks of our entries — items under owners' tags and tombstones — goes
  // back whole (a merge is a union). Provisional items are ours alone: their adds go up as ops.
  auto keys = or_keys_.find({leaf.map_name, partition});
  const OrMap* or_map = OrMapOf(leaf.map_name);
  if (keys == or_keys_.end() || or_map == nullptr) return;
  absl::btree_map<std::string_view, OrEntry> in_leaf;
  for (const msg::OrKeyState& k : leaf.or_keys) in_leaf.emplace(k.key, msg::ToOrEntry(k));
  std::optional<absl::btree_set<std::string_view>> pending;  // computed on the first need
  for (const std::string& key : keys->second) {
    const OrEntry* mine = or_map->GetEntry(key);
    if (mine == nullptr) continue;
    if (!pending) pending = PendingKeys(leaf.map_name);
    if (pending->contains(key)) continue;  // Its ops settle it first (their acks retag).
    OrEntry shared;
    for (const auto& [tag, item] : mine->items) {
      if (tag.node_id != options_.node_id) shared.items.emplace(tag, item);
    }
    // Owners' tags' tombstones and kills; not bare origin tombstones (millis 0: the owner kills
    // the origin instead, and one sent back would only go round again).
    for (const Timestamp& t : mine->tombstones) {
      if (IsOrKill(t) || (t.node_id != options_.node_id && t.millis != 0)) {
        shared.tombstones.insert(t);
      }
    }
    const auto theirs = in_leaf.find(key);
    const bool lacks = theirs == in_leaf.end()
                           ? !shared.empty()
                           : std::any_of(shared.items.begin(), shared.items.end(),
                                         [&](const auto& i) {
                                           return !theirs->second.items.contains(i.first) &&
                                                  !theirs->second.tombstones.contains(i.first);
                                         }) ||
                                 std::any_of(shared.tombstones.begin(), shared.tombstones.end(),
                                             [&](const Timestamp& t) {
                                               return !theirs->second.tombstones.contains(t);
                                             });
    if (lacks) out.push_back(msg::FromOrEntry(key, shared));
  }
}

void GridClient::WriteChangedOrEntries() {
  for (const auto& [name, key] : unwritten_or_) {
    const std::string page = OrEntryPage(name, key);
    const OrEntry* entry = or_maps_.at(name)->GetEntry(key);
    if (entry == nullptr) {
      pages_.Erase(page);
      continue;
    }
    msg::MapRecords records{name, {}, {}, {msg::FromOrEntry(key, *entry)}};
    msg::PartitionState one{
        0, PartitionOf(key), msg::StatePurpose::kClientLeaf, {std::move(records)}, {}};
    pages_.Put(page, EncodeMessage(msg::Envelope{options_.node_id, std::move(one)}));
  }
  unwritten_or_.clear();
}

bool GridClient::RestoreOrPage(const std::string& page, const msg::PartitionState& state) {
  if (state.maps.size() != 1 || state.maps[0].or_keys.size() != 1) return false;
  const msg::OrKeyState& k = state.maps[0].or_keys[0];
  if (OrEntryPage(state.maps[0].map_name, k.key) != page) return false;
  // Restored as is (a merge of our own durable entry): the clock was restored first.
  return OrMapFor(state.maps[0].map_name).MergeEntry(k.key, msg::ToOrEntry(k)).ok();
}

}  // namespace seedgrid
