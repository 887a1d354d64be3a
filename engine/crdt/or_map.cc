#include "engine/crdt/or_map.h"

#include <fmt/format.h>

#include <algorithm>

#include "engine/base/assert.h"
#include "engine/base/probe.h"
#include "engine/base/strings.h"
#include "engine/crdt/digest.h"

namespace seedgrid {

uint64_t OrEntryHash(std::string_view key, const OrEntry& entry) {
  DigestWriter w;
  w.Str(key);
  w.U32(static_cast<uint32_t>(entry.items.size()));
  for (const auto& [tag, item] : entry.items) {
    w.Ts(tag);
    w.U64(item.value.Digest());
    // Flags: 1 = a TTL follows, 2 = an origin follows (items without one hash as they always did).
    w.U8((item.ttl_ms ? 1 : 0) | (item.origin ? 2 : 0));
    if (item.ttl_ms) w.U64(*item.ttl_ms);
    if (item.origin) w.Ts(*item.origin);
  }
  w.U32(static_cast<uint32_t>(entry.tombstones.size()));
  for (const auto& tag : entry.tombstones) w.Ts(tag);
  return w.Finish();
}

Timestamp OrOrigin(const NodeId& client, uint64_t seq) {
  SG_ASSERT(seq <= UINT32_MAX);
  return Timestamp{0, static_cast<uint32_t>(seq), client};
}

Timestamp OrKill(const Timestamp& origin, uint64_t at_ms) {
  SG_ASSERT(at_ms < (uint64_t{1} << 62));
  return Timestamp{kOrKillBit | at_ms, origin.counter, origin.node_id};
}

std::map<Timestamp, OrItem>::const_iterator OrEntry::FindByTagOrOrigin(const Timestamp& tag) const {
  if (auto it = items.find(tag); it != items.end()) return it;
  return std::find_if(items.begin(), items.end(),
                      [&](const auto& item) { return item.second.origin == tag; });
}

namespace {

// The origin a kill is of.
Timestamp OriginOfKill(const Timestamp& kill) { return Timestamp{0, kill.counter, kill.node_id}; }

// Whether `entry` holds a kill of `origin` (kills sort after every other tombstone).
bool Killed(const OrEntry& entry, const Timestamp& origin) {
  for (auto it = entry.tombstones.lower_bound(Timestamp{kOrKillBit, 0, ""});
       it != entry.tombstones.end(); ++it) {
    if (it->counter == origin.counter && it->node_id == origin.node_id) return true;
  }
  return false;
}

bool OriginTombstoned(const OrEntry& entry, const Timestamp& origin) {
  return entry.tombstones.contains(origin) || Killed(entry, origin);
}

// Tombstones `tag` in `entry`: erases the live items whose tag or origin it is (a kill: whose
// origin it kills). A kill subsumes its origin's bare tombstone, which is dropped (and not
// inserted after one). Returns whether anything changed.
bool Tombstone(OrEntry& entry, const Timestamp& tag) {
  const bool kill = IsOrKill(tag);
  const Timestamp origin = kill ? OriginOfKill(tag) : tag;
  bool changed = false;
  if (kill) {
    changed = entry.tombstones.insert(tag).second;
    changed = entry.tombstones.erase(origin) > 0 || changed;
  } else if (tag.millis != 0 || !Killed(entry, origin)) {
    changed = entry.tombstones.insert(tag).second;
  }
  for (auto it = entry.items.begin(); it != entry.items.end();) {
    if ((!kill && it->first == tag) || it->second.origin == origin) {
      it = entry.items.erase(it);
      changed = true;
    } else {
      ++it;
    }
  }
  return changed;
}

bool Dead(const OrEntry& entry, const Timestamp& tag, const std::optional<Timestamp>& origin) {
  return entry.tombstones.contains(tag) || (origin && OriginTombstoned(entry, *origin));
}

}  // namespace

OrMap::OrMap(Hlc& hlc, OrMapOptions options)
    : hlc_(hlc), merkle_enabled_(options.merkle), merkle_(options.merkle_depth) {}

template <typename Mutate>
bool OrMap::Modify(std::string_view key, ChangeCause cause, Mutate&& mutate) {
  SG_ASSERT(!listeners_.notifying());
  auto it = entries_.find(key);
  const bool existed = it != entries_.end();
  std::optional<OrEntry> old;
  if (existed && !listeners_.empty()) old = it->second;
  if (!existed) it = entries_.emplace(std::string(key), OrEntry{}).first;
  if (!mutate(it->second)) {
    if (!existed) entries_.erase(it);
    return false;
  }
  if (it->second.empty()) {
    // Out of the tree first: it borrows the key from this node.
    if (existed && merkle_enabled_) SG_ASSERT(merkle_.Erase(it->first));
    const std::string erased_key = it->first;
    entries_.erase(it);
    if (!existed) return false;
    if (!listeners_.empty()) listeners_.Notify({erased_key, &*old, nullptr, cause});
    return true;
  }
  if (merkle_enabled_) merkle_.Upsert(it->first, OrEntryHash(it->first, it->second));
  if (!listeners_.empty()) {
    listeners_.Notify({it->first, old ? &*old : nullptr, &it->second, cause});
  }
  return true;
}

Timestamp OrMap::Add(std::string key, Document value, std::optional<uint64_t> ttl_ms,
                     std::optional<Timestamp> origin) {
  SG_ASSERT(ValidateTtl(ttl_ms).ok());
  const Timestamp tag = hlc_.Now();
  Modify(key, ChangeCause::kLocalWrite, [&](OrEntry& entry) {
    const bool inserted =
        entry.items.emplace(tag, OrItem{std::move(value), ttl_ms, std::move(origin)}).second;
    SG_ASSERT(inserted);  // HLC timestamps are unique per node.
    return true;
  });
  return tag;
}

std::vector<Timestamp> OrMap::Remove(std::string_view key, const Document& value) {
  std::vector<Timestamp> removed;
  if (GetEntry(key) == nullptr) return removed;
  // `value` may refer into this very entry (e.g. Remove(k, *Get(k)[0])): erasing would free it.
  const Document target = value;
  Modify(key, ChangeCause::kLocalRemove, [&](OrEntry& entry) {
    for (auto it = entry.items.begin(); it != entry.items.end();) {
      if (it->second.value == target) {
        removed.push_back(it->first);
        entry.tombstones.insert(it->first);
        it = entry.items.erase(it);
      } else {
        ++it;
      }
    }
    return !removed.empty();
  });
  return removed;
}

bool OrMap::RemoveTags(std::string_view key, const std::vector<Timestamp>& tags, uint64_t now_ms) {
  if (tags.empty()) return false;
  return Modify(key, ChangeCause::kLocalRemove, [&](OrEntry& entry) {
    bool changed = false;
    for (const Timestamp& tag : tags) {
      // A kill carries this replica's clock, which the GC horizon is measured in, and takes every
      // item of the origin (an add applied twice, by two owners across a failover, has two).
      std::optional<Timestamp> origin;
      if (tag.millis == 0) {
        origin = tag;
      } else if (auto item = entry.items.find(tag); item != entry.items.end()) {
        origin = item->second.origin;
      }
      changed = Tombstone(entry, origin ? OrKill(*origin, now_ms) : tag) || changed;
    }
    return changed;
  });
}

bool OrMap::OriginDead(std::string_view key, const Timestamp& origin) const {
  const OrEntry* entry = GetEntry(key);
  return entry != nullptr && OriginTombstoned(*entry, origin);
}

bool OrMap::TombstoneTags(std::string_view key, const std::vector<Timestamp>& tags) {
  if (tags.empty()) return false;
  return Modify(key, ChangeCause::kLocalRemove, [&](OrEntry& entry) {
    bool changed = false;
    for (const Timestamp& tag : tags) changed = Tombstone(entry, tag) || changed;
    return changed;
  });
}

bool OrMap::Retag(std::string_view key, const Timestamp& provisional, const Timestamp& settled) {
  if (provisional == settled || GetEntry(key) == nullptr) return false;
  // The owner's tag enters this replica's clock like any merged tag (and is refused like one).
  if (absl::Status s = hlc_.CheckAt(settled, hlc_.clock().NowMs()); !s.ok()) {
    hlc_.Update(settled).IgnoreError();  // Counts it; the clock stays as it was.
    return false;
  }
  if (!hlc_.Update(settled).ok()) return false;
  return Modify(key, ChangeCause::kMerge, [&](OrEntry& entry) {
    bool changed = false;
    if (auto item = entry.items.find(provisional); item != entry.items.end()) {
      OrItem moved = std::move(item->second);
      entry.items.erase(item);
      changed = true;
      if (!entry.items.contains(settled) && !Dead(entry, settled, moved.origin)) {
        entry.items.emplace(settled, std::move(moved));
      }
    }
    if (entry.tombstones.erase(provisional) > 0) {
      (void)Tombstone(entry, settled);
      changed = true;
    }
    return changed;
  });
}

bool OrMap::ForgetTag(std::string_view key, const Timestamp& tag) {
  return ForgetTags(key, std::span<const Timestamp>(&tag, 1)) > 0;
}

size_t OrMap::ForgetTags(std::string_view key, std::span<const Timestamp> tags) {
  if (tags.empty() || GetEntry(key) == nullptr) return 0;
  size_t forgotten = 0;
  (void)Modify(key, ChangeCause::kPrune, [&](OrEntry& entry) {
    for (const Timestamp& tag : tags) {
      forgotten += entry.items.erase(tag) + entry.tombstones.erase(tag);
    }
    return forgotten > 0;
  });
  return forgotten;
}

absl::StatusOr<bool> OrMap::Merge(std::string key, const std::vector<OrRecord>& items,
                                  const std::vector<Timestamp>& tombstones) {
  for (const OrRecord& record : items) {
    if (absl::Status s = ValidateNodeId(record.tag.node_id); !s.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("or merge of key '{}': item tag: {}", key, s.message()));
    }
    if (!record.origin) continue;
    if (absl::Status s = ValidateNodeId(record.origin->node_id); !s.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("or merge of key '{}': item origin: {}", key, s.message()));
    }
    // Kills and origin tombstones match an origin by (seq, client): an origin that is not an
    // OrOrigin would be dead to one and alive to the other, and replicas would never agree.
    if (record.origin->millis != 0) {
      return absl::InvalidArgumentError(
          fmt::format("or merge of key '{}': item origin {} is not an add's origin (0:seq:client)",
                      key, record.origin->ToString()));
    }
  }
  for (const Timestamp& tag : tombstones) {
    if (absl::Status s = ValidateNodeId(tag.node_id); !s.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("or merge of key '{}': tombstone tag: {}", key, s.message()));
    }
  }
  // Check every timestamp first (against one clock reading) so that a rejected merge leaves the
  // clock untouched. Update() on the offending tag then counts the drift violation and fails
  // without changing the clock. The clock may step between the check and the updates (a real
  // clock can go backwards), so Update errors are returned, never asserted.
  const uint64_t physical = hlc_.clock().NowMs();
  // A kill is checked as its owner's clock reading and never moves this clock (its counter is a
  // client's op-log seq, not a clock's).
  const auto check = [&](const Timestamp& tag) -> absl::Status {
    const Timestamp reading = IsOrKill(tag) ? Timestamp{GcMillis(tag), 0, tag.node_id} : tag;
    absl::Status s = hlc_.CheckAt(reading, physical);
    if (!s.ok()) hlc_.Update(reading).IgnoreError();  // Counts it; the clock stays as it was.
    return s;
  };
  for (const OrRecord& record : items) {
    if (absl::Status s = check(record.tag); !s.ok()) return s;
  }
  for (const Timestamp& tag : tombstones) {
    if (absl::Status s = check(tag); !s.ok()) return s;
  }
  for (const OrRecord& record : items) {
    if (absl::Status s = hlc_.Update(record.tag); !s.ok()) return s;
  }
  for (const Timestamp& tag : tombstones) {
    if (IsOrKill(tag)) continue;
    if (absl::Status s = hlc_.Update(tag); !s.ok()) return s;
  }
  return Modify(key, ChangeCause::kMerge, [&](OrEntry& entry) {
    bool changed = false;
    for (const Timestamp& tag : tombstones) {
      const size_t live = entry.items.size();
      if (Tombstone(entry, tag)) changed = true;
      if (entry.items.size() < live) SG_PROBE("or.remote_remove_took_local_item");
    }
    for (const OrRecord& record : items) {
      if (Dead(entry, record.tag, record.origin)) continue;
      auto [it, inserted] =
          entry.items.try_emplace(record.tag, OrItem{record.value, record.ttl_ms, record.origin});
      if (inserted) {
        // An add this replica had not seen, on a key with removes: add-wins keeps it.
        if (!entry.tombstones.empty()) SG_PROBE("or.add_survived_removes");
        changed = true;
        continue;
      }
      // Same tag, different payload cannot happen between honest replicas (tags are unique);
      // keep the item with the larger hash so that merge stays commutative even for bad input.
      const OrItem incoming{record.value, record.ttl_ms, record.origin};
      if (it->second == incoming) continue;
      SG_PROBE("or.tag_conflict");
      OrEntry probe_mine, probe_theirs;
      probe_mine.items.emplace(record.tag, it->second);
      probe_theirs.items.emplace(record.tag, incoming);
      if (OrEntryHash(key, probe_theirs) > OrEntryHash(key, probe_mine)) {
        it->second = incoming;
        changed = true;
      }
    }
    return changed;
  });
}

absl::StatusOr<bool> OrMap::MergeEntry(std::string key, const OrEntry& remote) {
  std::vector<OrRecord> items;
  items.reserve(remote.items.size());
  for (const auto& [tag, item] : remote.items) {
    items.push_back({tag, item.value, item.ttl_ms, item.origin});
  }
  return Merge(std::move(key), items,
               std::vector<Timestamp>(remote.tombstones.begin(), remote.tombstones.end()));
}

std::vector<const Document*> OrMap::Get(std::string_view key) {
  return GetAt(key, hlc_.clock().NowMs());
}

std::vector<const Document*> OrMap::GetAt(std::string_view key, uint64_t now_ms) const {
  std::vector<const Document*> values;
  const OrEntry* entry = GetEntry(key);
  if (entry == nullptr) return values;
  std::vector<const Timestamp*> origins;  // seen (an origin's smallest tag comes first)
  for (const auto& [tag, item] : entry->items) {
    if (TtlExpired(tag.millis, item.ttl_ms, now_ms)) continue;
    if (item.origin) {
      const Timestamp& o = *item.origin;
      if (std::any_of(origins.begin(), origins.end(), [&](const Timestamp* t) { return *t == o; }))
        continue;
      origins.push_back(&o);
    }
    values.push_back(&item.value);
  }
  return values;
}

const OrEntry* OrMap::GetEntry(std::string_view key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : &it->second;
}

bool OrMap::ForgetItem(std::string_view key, const Timestamp& tag) {
  if (GetEntry(key) == nullptr) return false;
  return Modify(key, ChangeCause::kPrune,
                [&](OrEntry& entry) { return entry.items.erase(tag) > 0; });
}

size_t OrMap::PruneTombstones(const Timestamp& older_than) {
  const auto old = [&](const Timestamp& t) {
    return IsOrKill(t) ? GcMillis(t) < older_than.millis : t < older_than;
  };
  size_t pruned = 0;
  std::vector<std::string> touched;
  for (const auto& [key, entry] : entries_) {
    // The oldest tag tombstone comes first; kills come last (per key, few).
    const auto& t = entry.tombstones;
    const bool any = (!t.empty() && !IsOrKill(*t.begin()) && old(*t.begin())) ||
                     std::any_of(t.lower_bound(Timestamp{kOrKillBit, 0, ""}), t.end(), old);
    if (any) touched.push_back(key);
  }
  if (!touched.empty()) SG_PROBE("or.tombstones_pruned");
  for (const std::string& key : touched) {
    Modify(key, ChangeCause::kPrune, [&](OrEntry& entry) {
      pruned += absl::erase_if(entry.tombstones, old);
      return true;
    });
  }
  return pruned;
}

}  // namespace seedgrid
