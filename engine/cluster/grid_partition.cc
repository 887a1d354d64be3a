#include "engine/cluster/grid_partition.h"

#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "engine/base/assert.h"
#include "engine/base/probe.h"
#include "engine/base/strings.h"
#include "engine/cluster/partition_store.h"

namespace seedgrid {

namespace {

uint64_t MixMap(std::string_view map, uint64_t digest) {
  if (digest == 0) return 0;
  return XXH3_64bits_withSeed(map.data(), map.size(), digest);
}

uint64_t MarkHash(std::string_view client, uint64_t seq) {
  return XXH3_64bits_withSeed(client.data(), client.size(), seq ^ 0x9e3779b97f4a7c15ull);
}

}  // namespace

uint64_t AppliedMarks::Of(const std::string& client) {
  auto [it, inserted] = marks_.try_emplace(client, 0);
  if (inserted) digest_ ^= MarkHash(client, 0);
  return it->second;
}

bool AppliedMarks::Raise(const std::string& client, uint64_t seq) {
  auto [it, inserted] = marks_.try_emplace(client, 0);
  if (inserted) digest_ ^= MarkHash(client, 0);
  if (seq <= it->second) return false;
  digest_ ^= MarkHash(client, it->second) ^ MarkHash(client, seq);
  it->second = seq;
  return true;
}

bool IsFullState(msg::StatePurpose purpose) {
  return purpose == msg::StatePurpose::kHandoff || purpose == msg::StatePurpose::kSyncReply ||
         purpose == msg::StatePurpose::kSyncPush;
}

uint64_t StateDigest(const msg::PartitionState& state) {
  uint64_t digest = 0;
  for (const msg::MapRecords& r : state.maps) digest ^= MixMap(r.map_name, msg::RecordsDigest(r));
  for (const msg::ClientMark& mark : state.applied) digest ^= MarkHash(mark.client, mark.seq);
  if (state.pruned_below_ms != 0) digest ^= MarkHash("", state.pruned_below_ms);
  return digest;
}

uint64_t GridPartition::MapDigest(const std::string& map) const {
  auto it = digests.find(map);
  return it == digests.end() ? 0 : it->second;
}

uint64_t GridPartition::Digest() const {
  if (!digest_stale) return digest_cached;
  uint64_t d = 0;
  for (const auto& [name, digest] : digests) d ^= MixMap(name, digest);
  d ^= applied.digest();
  if (pruned_below_ms != 0) d ^= MarkHash("", pruned_below_ms);
  digest_cached = d;
  digest_stale = false;
  return d;
}

PartitionSet::PartitionSet(Hlc& hlc, PartitionStore* store, ChangeHook on_change,
                           events::EventSink events)
    : hlc_(hlc), store_(store), on_change_(std::move(on_change)), events_(std::move(events)) {
  slots_.resize(kPartitionCount);
}

bool PartitionSet::empty() const {
  return std::all_of(slots_.begin(), slots_.end(), [](const auto& p) { return p == nullptr; });
}

void PartitionSet::Fail(std::string error) {
  ++stats_.protocol_errors;
  stats_.last_error = std::move(error);
}

GridPartition& PartitionSet::Hold(uint32_t p) {
  SG_ASSERT(p < kPartitionCount);
  if (slots_[p]) return *slots_[p];
  slots_[p] = std::make_unique<GridPartition>();
  if (auto kept = kept_marks_.find(p); kept != kept_marks_.end()) {
    SG_PROBE("cluster.dropped_partition_marks_kept");  // Held again: what it applied stays known.
    slots_[p]->applied = std::move(kept->second);
    kept_marks_.erase(kept);
  }
  return *slots_[p];
}

void PartitionSet::Drop(uint32_t p) {
  SG_ASSERT(p < kPartitionCount);
  if (slots_[p] == nullptr) return;
  if (store_ != nullptr) store_->ErasePartition(p, *slots_[p]);  // Mark pages stay.
  kept_marks_[p] = std::move(slots_[p]->applied);
  slots_[p].reset();
}

LwwMap& PartitionSet::MapOf(uint32_t p, const std::string& name) {
  GridPartition& part = Hold(p);
  auto it = part.maps.find(name);
  if (it != part.maps.end()) return *it->second;
  // Digests come from the listener (record_digest.h): no Merkle tree per partition map.
  auto map = std::make_unique<LwwMap>(hlc_, LwwMapOptions{.merkle_depth = 1, .merkle = false});
  uint64_t* digest = &part.digests[name];
  GridPartition* owner = &part;
  map->AddListener([this, p, name, digest, owner](const LwwChange& c) {
    FoldChange(*digest, c);
    owner->Touch();
    if (on_change_) on_change_(p, name, &c, nullptr);
    if (restoring_ || store_ == nullptr) return;
    if (c.new_record == nullptr) {
      store_->EraseRecord(p, name, c.key);
    } else {
      store_->PutRecord(p, name, c.key, *c.new_record);
    }
  });
  return *part.maps.emplace(name, std::move(map)).first->second;
}

CounterMap& PartitionSet::CountersOf(uint32_t p, const std::string& name) {
  (void)MapOf(p, name);  // Every name with counters has its LWW map (StateOf lists maps).
  GridPartition& part = *slots_[p];
  auto it = part.counters.find(name);
  if (it != part.counters.end()) return *it->second;
  auto counters = std::make_unique<CounterMap>();
  uint64_t* digest = &part.digests[name];
  GridPartition* owner = &part;
  CounterMap* self = counters.get();
  counters->set_listener([this, p, name, digest, owner, self](const CounterChange& c) {
    FoldChange(*digest, c);
    owner->Touch();
    if (restoring_ || store_ == nullptr) return;
    const std::string key(c.key);
    store_->PutCounter(p, name, key, *self->Get(key));
  });
  return *part.counters.emplace(name, std::move(counters)).first->second;
}

OrMap& PartitionSet::OrMapOf(uint32_t p, const std::string& name) {
  (void)MapOf(p, name);  // Every name with OR entries has its LWW map (StateOf lists maps).
  GridPartition& part = *slots_[p];
  auto it = part.or_maps.find(name);
  if (it != part.or_maps.end()) return *it->second;
  auto or_map = std::make_unique<OrMap>(hlc_, OrMapOptions{.merkle_depth = 1, .merkle = false});
  uint64_t* digest = &part.digests[name];
  GridPartition* owner = &part;
  or_map->AddListener([this, p, name, digest, owner](const OrChange& c) {
    FoldChange(*digest, c);
    owner->Touch();
    if (on_change_) on_change_(p, name, nullptr, &c);
    if (restoring_ || store_ == nullptr) return;
    store_->PutOrChange(p, name, c.key, c.old_entry, c.new_entry);
  });
  return *part.or_maps.emplace(name, std::move(or_map)).first->second;
}

size_t PartitionSet::MergeRecords(uint32_t p, const msg::MapRecords& m) {
  size_t changed = 0;
  LwwMap& map = MapOf(p, m.map_name);
  // Restoring, pages come in any order: the watermark page may precede the records it covers.
  const uint64_t watermark = restoring_ ? 0 : Hold(p).pruned_below_ms;
  for (const msg::LwwEntry& e : m.lww) {
    if (PartitionOf(e.key) != p) {
      Fail(fmt::format("key '{}' is not in partition {}", e.key, p));
      continue;
    }
    const LwwRecord* r = map.GetRecord(e.key);
    if (r && r->ts == e.record.ts) continue;
    if (r == nullptr && e.record.ts.millis < watermark) {
      // GC invariant: this server holds every live record older than its watermark, so this
      // is a value whose tombstone was pruned; merging it would resurrect it.
      SG_PROBE("gc.resurrection_refused");
      ++stats_.records_refused;
      continue;
    }
    absl::StatusOr<bool> merged = map.Merge(e.key, e.record);
    if (!merged.ok()) {
      Fail(std::string(ToStd(merged.status().message())));
    } else if (*merged) {
      ++changed;
    }
  }
  return changed;
}

// Counters have no tombstones and no stamps: a merge only raises entries, whatever the watermark.
size_t PartitionSet::MergeCounters(uint32_t p, const msg::MapRecords& m) {
  if (m.counters.empty()) return 0;
  size_t changed = 0;
  CounterMap& counters = CountersOf(p, m.map_name);
  for (const msg::CounterEntry& c : m.counters) {
    if (PartitionOf(c.key) != p) {
      Fail(fmt::format("counter '{}' is not in partition {}", c.key, p));
      continue;
    }
    if (!counters.Merge(c.key, c.state)) continue;
    ++changed;
    ++stats_.counters_raised;
  }
  return changed;
}

// OR entries follow the records' GC rule item by item: an item older than the watermark that this
// replica lacks was removed and its tombstone pruned, so it is refused. Tombstones older than the
// watermark still take their items, then are pruned as this replica's own were.
size_t PartitionSet::MergeOr(uint32_t p, const msg::MapRecords& m) {
  if (m.or_keys.empty()) return 0;
  size_t changed = 0;
  OrMap& map = OrMapOf(p, m.map_name);
  const uint64_t watermark = restoring_ ? 0 : Hold(p).pruned_below_ms;
  bool below_watermark = false;
  for (const msg::OrKeyState& k : m.or_keys) {
    if (PartitionOf(k.key) != p) {
      Fail(fmt::format("OR entry '{}' is not in partition {}", k.key, p));
      continue;
    }
    const OrEntry* mine = map.GetEntry(k.key);
    std::vector<OrRecord> items;
    items.reserve(k.items.size());
    for (const OrRecord& item : k.items) {
      if (item.tag.millis < watermark && (mine == nullptr || !mine->items.contains(item.tag))) {
        SG_PROBE("gc.or_resurrection_refused");
        ++stats_.records_refused;
        continue;
      }
      items.push_back(item);
    }
    for (const Timestamp& t : k.tombstones) below_watermark |= GcMillis(t) < watermark;
    absl::StatusOr<bool> merged = map.Merge(k.key, items, k.tombstones);
    if (!merged.ok()) {
      Fail(std::string(ToStd(merged.status().message())));
    } else if (*merged) {
      ++changed;
      ++stats_.or_entries_merged;
    }
  }
  if (below_watermark) (void)map.PruneTombstones(Timestamp{watermark, 0, ""});
  return changed;
}

size_t PartitionSet::MergeState(const msg::PartitionState& state) {
  SG_ASSERT(state.partition < kPartitionCount);
  size_t changed = 0;
  for (const msg::MapRecords& m : state.maps) {
    changed += MergeRecords(state.partition, m);
    changed += MergeCounters(state.partition, m);
    changed += MergeOr(state.partition, m);
  }
  if (IsFullState(state.purpose) && state.pruned_below_ms != 0) AdoptWatermark(state);
  MergeMarks(state);
  return changed;
}

void PartitionSet::MergeMarks(const msg::PartitionState& state) {
  if (state.applied.empty()) return;
  GridPartition& part = Hold(state.partition);
  for (const msg::ClientMark& mark : state.applied) {
    part.Touch();
    const uint64_t seq = part.applied.Of(mark.client);
    // A replicated batch carries only its own records: advancing past a missed batch would mark
    // ops applied whose records this replica lacks. Anti-entropy and handoffs carry whole states,
    // so their marks always apply.
    if (state.purpose == msg::StatePurpose::kReplicate && seq < mark.prev) {
      SG_PROBE("cluster.replicate_after_missed_batch");  // The mark waits for a full state.
      continue;
    }
    (void)RaiseMark(state.partition, mark.client, mark.seq);
  }
}

bool PartitionSet::RaiseMark(uint32_t p, const std::string& client, uint64_t seq) {
  GridPartition& part = Hold(p);
  part.Touch();
  if (!part.applied.Raise(client, seq)) return false;
  if (!restoring_ && store_ != nullptr) store_->PutMark(p, client, seq);
  return true;
}

msg::PartitionState PartitionSet::StateOf(uint32_t p, msg::StatePurpose purpose, uint64_t id,
                                          bool with_watermark, const std::string& only_map) const {
  msg::PartitionState state{id, p, purpose, {}, {}};
  // A client leaf names its map even when empty, so the client can apply the watermark to it.
  if (!only_map.empty()) state.maps.push_back(msg::MapRecords{only_map, {}});
  const GridPartition* part = slots_[p].get();
  if (part == nullptr) return state;
  if (with_watermark) state.pruned_below_ms = part->pruned_below_ms;
  const auto add_map = [&](const std::string& name, const LwwMap& map, msg::MapRecords& out) {
    out.lww.reserve(map.size());
    for (const auto& [key, record] : map.records()) out.lww.push_back({key, record});
    if (const CounterMap* counters = part->CountersOf(name)) {
      out.counters.reserve(counters->size());
      for (const auto& [key, pn] : counters->counters()) out.counters.push_back({key, pn});
    }
    if (const OrMap* or_map = part->OrMapOf(name)) {
      out.or_keys.reserve(or_map->size());
      for (const auto& [key, entry] : or_map->entries())
        out.or_keys.push_back(msg::FromOrEntry(key, entry));
    }
  };
  if (!only_map.empty()) {  // A client leaf: one map, looked up (a partition holds every map).
    if (auto it = part->maps.find(only_map); it != part->maps.end()) {
      add_map(it->first, *it->second, state.maps.back());
    }
    return state;
  }
  for (const auto& [name, map] : part->maps) {
    state.maps.push_back(msg::MapRecords{name, {}});
    add_map(name, *map, state.maps.back());
  }
  for (const auto& [client, seq] : part->applied) state.applied.push_back({client, seq});
  return state;
}

void PartitionSet::SetWatermark(uint32_t p, uint64_t w) {
  GridPartition& part = Hold(p);
  if (w <= part.pruned_below_ms) return;
  part.pruned_below_ms = w;
  part.Touch();
  // Every later stamp of this server is above the watermark, so no new write is ever refused.
  (void)hlc_.Update(Timestamp{w, 0, hlc_.node_id()});
  if (restoring_) return;
  // Written after the records it covers, so a crash before the sync cannot keep it without them
  // (unsynced writes are lost together, and only the last one can tear).
  if (store_ != nullptr) store_->PutWatermark(p, w);
  events::EmitEvent(events_, events::WatermarkRaised{p, w});
}

void PartitionSet::RestoreWatermark(uint32_t p, uint64_t w) {
  GridPartition& part = Hold(p);
  part.pruned_below_ms = std::max(part.pruned_below_ms, w);
  part.Touch();
}

void PartitionSet::AdoptWatermark(const msg::PartitionState& full) {
  const uint32_t p = full.partition;
  const uint64_t w = full.pruned_below_ms;
  GridPartition& part = Hold(p);
  // The sender holds every live record before w: what it lacks before w is dead here too.
  absl::btree_map<std::string, absl::btree_set<std::string>> theirs;
  for (const msg::MapRecords& m : full.maps) {
    auto& keys = theirs[m.map_name];
    for (const msg::LwwEntry& e : m.lww) keys.insert(e.key);
  }
  for (const auto& [name, map] : part.maps) {
    const auto their_keys = theirs.find(name);
    std::vector<std::string> dead;
    for (const auto& [key, record] : map->records()) {
      if (record.ts.millis >= w) continue;
      if (their_keys == theirs.end() || !their_keys->second.contains(key)) dead.push_back(key);
    }
    if (!dead.empty()) SG_PROBE("gc.watermark_adoption_forgot_records");
    for (const std::string& key : dead) {
      (void)map->Forget(key);
      ++stats_.records_forgotten;
    }
  }
  AdoptOrWatermark(part, full, w);
  SetWatermark(p, w);
}

void PartitionSet::AdoptOrWatermark(GridPartition& part, const msg::PartitionState& full,
                                    uint64_t w) {
  absl::btree_map<std::pair<std::string, std::string>, absl::btree_set<Timestamp>> theirs;
  for (const msg::MapRecords& m : full.maps) {
    for (const msg::OrKeyState& k : m.or_keys) {
      auto& tags = theirs[{m.map_name, k.key}];
      for (const OrRecord& item : k.items) tags.insert(item.tag);
    }
  }
  for (const auto& [name, or_map] : part.or_maps) {
    std::vector<std::pair<std::string, Timestamp>> dead;
    for (const auto& [key, entry] : or_map->entries()) {
      const auto their_tags = theirs.find({name, key});
      for (const auto& [tag, item] : entry.items) {
        if (tag.millis >= w) continue;
        if (their_tags == theirs.end() || !their_tags->second.contains(tag)) {
          dead.emplace_back(key, tag);
        }
      }
    }
    if (!dead.empty()) SG_PROBE("gc.watermark_adoption_forgot_or_items");
    for (const auto& [key, tag] : dead) {
      (void)or_map->ForgetItem(key, tag);
      ++stats_.records_forgotten;
    }
    (void)or_map->PruneTombstones(Timestamp{w, 0, ""});
  }
}

size_t PartitionSet::Prune(uint32_t p, uint64_t horizon_ms) {
  GridPartition* part = slots_[p].get();
  if (part == nullptr || horizon_ms <= part->pruned_below_ms) return 0;
  const Timestamp older_than{horizon_ms, 0, ""};
  size_t pruned = 0;
  for (const auto& [name, map] : part->maps) pruned += map->Prune(older_than);
  for (const auto& [name, or_map] : part->or_maps) pruned += or_map->PruneTombstones(older_than);
  if (pruned == 0) return 0;  // The watermark moves only with a prune (it costs a state sync).
  SG_PROBE("gc.watermark_raised");
  stats_.tombstones_pruned += pruned;
  SetWatermark(p, horizon_ms);
  return pruned;
}

std::vector<msg::PartitionDigest> PartitionSet::OwnedDigests(const PartitionTable& table,
                                                             const NodeId& self) const {
  std::vector<msg::PartitionDigest> out;
  // Map name -> its digest in `out`: one hash lookup per (partition, map), where a btree keyed by
  // name compared strings at each step. The names point into the partitions' maps.
  // sg:lookup-only
  absl::flat_hash_map<absl::string_view, size_t> index;
  for (uint32_t p = 0; p < kPartitionCount; ++p) {
    const GridPartition* part = slots_[p].get();
    if (part == nullptr || table.owner(p) != self) continue;
    for (const auto& [name, h] : part->digests) {
      if (h == 0) continue;
      auto [it, fresh] = index.try_emplace(ToAbsl(name), out.size());
      if (fresh) out.push_back(msg::PartitionDigest{.map_name = name});
      msg::PartitionDigest& d = out[it->second];
      d.partitions.push_back(p);
      d.hashes.push_back(h);
    }
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.map_name < b.map_name; });
  return out;
}

}  // namespace seedgrid
