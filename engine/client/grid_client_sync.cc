// GridClient's pull sync (the "Sync" part of grid_client.h): the round's SyncInit, the pull of
// the partitions whose digests differ, merging the owners' leaves, forgetting what a leaf's GC
// watermark proves dead, and repairing what a leaf lacks.
#include <fmt/format.h>

#include <array>

#include "absl/container/btree_set.h"
#include "engine/base/probe.h"
#include "engine/client/grid_client.h"
#include "engine/cluster/partition.h"

namespace seedgrid {

void GridClient::StartSync() {
  for (const auto& [name, map] : maps_) {
    Send(msg::SyncInit{name, msg::MapKind::kLww, 1, MapRoot(name)});
  }
}

absl::btree_set<std::string_view> GridClient::PendingKeys(const std::string& map_name,
                                                          bool counters) const {
  absl::btree_set<std::string_view> pending;
  for (const auto& [seq, op] : op_log_) {
    if (op.map_name == map_name && op.counter.has_value() == counters) pending.insert(op.key);
  }
  return pending;
}

void GridClient::MergeLeafCounters(const msg::MapRecords& leaf, uint32_t partition) {
  if (leaf.counters.empty()) return;
  CounterMap& counters = CountersOf(leaf.map_name);
  for (const msg::CounterEntry& c : leaf.counters) {
    if (PartitionOf(c.key) != partition) {
      Fail(stats_.protocol_errors,
           fmt::format("counter '{}' outside partition {}", c.key, partition));
      continue;
    }
    if (counters.Merge(c.key, c.state)) ++stats_.records_merged;
  }
}

void GridClient::RepairCounters(const msg::MapRecords& leaf, uint32_t partition,
                                std::vector<msg::CounterEntry>& out) const {
  auto keys = counter_keys_.find({leaf.map_name, partition});
  if (keys == counter_keys_.end()) return;
  const CounterMap& counters = *counters_.at(leaf.map_name);
  absl::btree_map<std::string_view, const PnState*> in_leaf;
  for (const msg::CounterEntry& c : leaf.counters) in_leaf.emplace(c.key, &c.state);
  std::optional<absl::btree_set<std::string_view>> pending;  // computed on the first need
  for (const std::string& key : keys->second) {
    const PnState& mine = *counters.Get(key);
    const auto theirs = in_leaf.find(key);
    // After the merge above ours holds theirs: ours differs exactly where they lack or hold less.
    if (theirs != in_leaf.end() && *theirs->second == mine) continue;
    msg::CounterEntry lacking{key, {}};
    for (const auto& [writer, totals] : mine) {
      if (theirs != in_leaf.end()) {
        auto t = theirs->second->find(writer);
        if (t != theirs->second->end() && t->second == totals) continue;
      }
      if (writer == options_.node_id) {
        // Our own entry goes up with its op while one is logged: a repair would send totals the
        // op log may not hold durably yet.
        if (!pending) pending = PendingKeys(leaf.map_name, /*counters=*/true);
        if (pending->contains(key)) continue;
      }
      lacking.state.emplace(writer, totals);
    }
    if (!lacking.state.empty()) out.push_back(std::move(lacking));
  }
}

void GridClient::SendRepair(msg::PartitionState state) {
  SG_PROBE("client.repair_sent");  // The owner lacks what this client holds.
  ++stats_.repairs_sent;
  if (options_.transport == ClientTransport::kHttp) {
    http_repairs_.push_back(std::move(state));  // With the next request.
  } else {
    Send(std::move(state));
  }
}

void GridClient::RepairWhatLeafLacks(const std::string& map_name, const LwwMap& map,
                                     const msg::MapRecords& leaf, uint32_t partition) {
  // The leaf is the owner's whole partition of the map. A record of ours it lacks, or holds
  // older, is one the owner lacks (lost with a disk, or held by a previous owner only): send it
  // back. Both sides are in key order (the owner builds states in key order; an unordered leaf
  // only makes a harmless extra repair), so one merge walk finds the candidates.
  msg::PartitionState state{0, partition, msg::StatePurpose::kClientRepair, {{map_name, {}}}, {}};
  RepairCounters(leaf, partition, state.maps[0].counters);
  RepairOr(leaf, partition, state.maps[0].or_keys);
  std::vector<std::pair<std::string_view, const LwwRecord*>> lacking;
  auto in_leaf = leaf.lww.begin();
  for (const std::string& key : PartitionKeys(map_name, partition)) {
    while (in_leaf != leaf.lww.end() && in_leaf->key < key) ++in_leaf;
    const LwwRecord* record = map.GetRecord(key);
    // Only an owner's application gives a write its grid stamp: a record still stamped by this
    // client is its own write whose acknowledgement carried no stamp (FIRE_AND_FORGET, or lost
    // with its owner). It is not the owner's to take back, and no repair may carry it.
    if (record == nullptr || record->ts.node_id == options_.node_id) continue;
    if (in_leaf != leaf.lww.end() && in_leaf->key == key && !(in_leaf->record.ts < record->ts)) {
      continue;
    }
    lacking.emplace_back(key, record);
  }
  if (!lacking.empty()) {  // Usually empty: no need to scan the op log.
    const absl::btree_set<std::string_view> pending = PendingKeys(map_name);  // not repairs
    for (const auto& [key, record] : lacking) {
      if (pending.contains(key)) continue;
      state.maps[0].lww.push_back({std::string(key), *record});
    }
  }
  if (state.maps[0].lww.empty() && state.maps[0].counters.empty() &&
      state.maps[0].or_keys.empty()) {
    return;
  }
  SendRepair(std::move(state));
}

void GridClient::SettleOwnWrites(LwwMap& map, const msg::MapRecords& leaf, uint32_t partition) {
  // A record still stamped by this client after its write left the op log is a write whose
  // acknowledgement carried no stamp of its application: a duplicate's (its first ack was lost)
  // or FIRE_AND_FORGET's. When the owner's leaf lacks it or holds the key older, the grid lost
  // that application (with a disk, before any backup had it) or never made it; no repair can
  // bring it back (RepairWhatLeafLacks never sends one), so keeping it would leave this client
  // different from its owner for good (server_crash_during_replication, seed 8). The owner's
  // version wins. A stale leaf only costs a round: the next digest differs and pulls again.
  std::vector<std::string> stale;
  for (const std::string& key : PartitionKeys(leaf.map_name, partition)) {
    const LwwRecord* record = map.GetRecord(key);
    if (record != nullptr && record->ts.node_id == options_.node_id) stale.push_back(key);
  }
  if (stale.empty()) return;  // The usual case.
  const absl::btree_set<std::string_view> pending = PendingKeys(leaf.map_name);
  absl::btree_map<std::string_view, const LwwRecord*> in_leaf;
  for (const msg::LwwEntry& e : leaf.lww) in_leaf.emplace(e.key, &e.record);
  for (const std::string& key : stale) {
    if (pending.contains(key)) continue;  // Read-your-writes until its acknowledgement.
    SG_PROBE("client.own_write_settled_to_owner");
    ++stats_.own_writes_settled;
    const auto theirs = in_leaf.find(key);
    (void)map.Forget(key);
    if (theirs != in_leaf.end()) (void)map.Merge(key, *theirs->second);
  }
}

void GridClient::Forget(LwwMap& map, const msg::MapRecords& leaf, uint32_t partition,
                        uint64_t watermark) {
  // Swept on every leaf, not once per watermark: a late acknowledgement can still install a
  // record below it (the client adopts the server's stamp of a write the owner has since pruned).
  // The sweep touches only this partition's keys.
  // The owner holds every live record stamped before its watermark (the GC rule in
  // grid_server.h): a record of ours before it that the leaf lacks is dead — a value whose
  // tombstone was pruned, or the pruned tombstone itself. Keys with writes still in the op log
  // are kept; their acknowledgement settles them, and a later sweep forgets what is then dead.
  // Candidates first (keys the leaf lacks, stamped before the watermark: usually none), so the
  // common sweep costs a lookup in the leaf's few keys per key, not one in the whole map.
  absl::btree_set<std::string_view> in_leaf;
  for (const msg::LwwEntry& e : leaf.lww) in_leaf.insert(e.key);
  std::vector<std::string> candidates;
  for (const std::string& key : PartitionKeys(leaf.map_name, partition)) {
    if (in_leaf.contains(key)) continue;
    const LwwRecord* record = map.GetRecord(key);
    if (record != nullptr && record->ts.millis < watermark) candidates.push_back(key);
  }
  if (candidates.empty()) return;
  const absl::btree_set<std::string_view> pending = PendingKeys(leaf.map_name);
  std::vector<std::string> dead;
  for (std::string& key : candidates) {
    if (pending.contains(key)) {
      SG_PROBE("client.gc_sweep_kept_pending_write");
    } else {
      dead.push_back(std::move(key));
    }
  }
  if (!dead.empty()) SG_PROBE("client.gc_sweep_forgot_records");
  for (const std::string& key : dead) {
    (void)map.Forget(key);
    ++stats_.records_forgotten;
  }
}

void GridClient::OnDigest(const NodeId& from, const msg::PartitionDigest& d) {
  if (d.pull || d.map_name.empty()) {
    Fail(stats_.protocol_errors, fmt::format("unexpected PartitionDigest from '{}'", from));
    return;
  }
  const PartitionDigests& mine = digests_[d.map_name];
  msg::PartitionDigest pull;
  pull.id = next_request_id_++;
  pull.map_name = d.map_name;
  pull.pull = true;
  pull.requester = options_.node_id;
  std::array<uint64_t, kPartitionCount> theirs{};  // 0: no digest (an empty partition)
  for (size_t i = 0; i < d.partitions.size() && i < d.hashes.size(); ++i) {
    if (d.partitions[i] < kPartitionCount) theirs[d.partitions[i]] = d.hashes[i];
  }
  for (uint32_t p = 0; p < kPartitionCount; ++p) {
    if (theirs[p] == mine.of(p)) continue;
    // Pulled even when the owner's digest is 0: its (empty) leaf carries the GC watermark
    // that tells this client its leftover records there are dead.
    pull.partitions.push_back(p);
    pull.hashes.push_back(mine.of(p));
  }
  if (!pull.partitions.empty()) Send(std::move(pull));
}

// An owner's whole partition of a map (a ClientLeaf): merge it, forgetting what its GC watermark
// proves dead.
void GridClient::OnLeaf(const NodeId& from, const msg::PartitionState& state) {
  if (state.purpose != msg::StatePurpose::kClientLeaf) {
    Fail(stats_.protocol_errors, fmt::format("unexpected PartitionState from '{}'", from));
    return;
  }
  ++stats_.leaves_merged;
  for (const msg::MapRecords& m : state.maps) {
    LwwMap& map = MapOf(m.map_name);
    if (state.pruned_below_ms != 0) Forget(map, m, state.partition, state.pruned_below_ms);
    for (const msg::LwwEntry& entry : m.lww) {
      if (PartitionOf(entry.key) != state.partition) {
        Fail(stats_.protocol_errors,
             fmt::format("key '{}' outside partition {}", entry.key, state.partition));
        continue;
      }
      // Most of a pulled partition is already here: skip records with the same stamp.
      if (const LwwRecord* r = map.GetRecord(entry.key); r && r->ts == entry.record.ts) continue;
      absl::StatusOr<bool> merged = map.Merge(entry.key, entry.record);
      if (merged.ok() && *merged) ++stats_.records_merged;
    }
    SettleOwnWrites(map, m, state.partition);
    MergeLeafCounters(m, state.partition);
    MergeLeafOr(m, state.partition, state.pruned_below_ms);
    RepairWhatLeafLacks(m.map_name, map, m, state.partition);
  }
}

}  // namespace seedgrid
