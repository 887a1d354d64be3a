#include "engine/crdt/lww_map.h"

#include <fmt/format.h>

#include <limits>

#include "engine/base/assert.h"
#include "engine/base/probe.h"
#include "engine/base/strings.h"
#include "engine/crdt/digest.h"

namespace seedgrid {

uint64_t TtlDeadlineMs(uint64_t ts_millis, std::optional<uint64_t> ttl_ms) {
  if (!ttl_ms.has_value()) return std::numeric_limits<uint64_t>::max();
  return *ttl_ms > std::numeric_limits<uint64_t>::max() - ts_millis
             ? std::numeric_limits<uint64_t>::max()
             : ts_millis + *ttl_ms;
}

absl::Status ValidateTtl(std::optional<uint64_t> ttl_ms) {
  if (ttl_ms.has_value() && *ttl_ms == 0) {
    return absl::InvalidArgumentError(
        "ttl_ms must be positive: a TTL of 0 ms would expire the record as it is written (omit "
        "the TTL for a record that never expires)");
  }
  return absl::OkStatus();
}

bool TtlExpired(uint64_t ts_millis, std::optional<uint64_t> ttl_ms, uint64_t now_ms) {
  return ttl_ms.has_value() && TtlDeadlineMs(ts_millis, ttl_ms) < now_ms;
}

std::string LwwRecord::ToString() const {
  std::string out = value ? value->ToString() : std::string("<tombstone>");
  out += " @" + ts.ToString();
  if (ttl_ms) out += fmt::format(" ttl={}ms", *ttl_ms);
  return out;
}

uint64_t RecordHash(std::string_view key, const LwwRecord& record) {
  DigestWriter w;
  w.Str(key);
  w.Ts(record.ts);
  w.U8(record.tombstone() ? 1 : 0);
  if (record.value) w.U64(record.value->Digest());
  w.U8(record.ttl_ms ? 1 : 0);
  if (record.ttl_ms) w.U64(*record.ttl_ms);
  return w.Finish();
}

std::string_view ChangeCauseName(ChangeCause cause) {
  switch (cause) {
    case ChangeCause::kLocalWrite:
      return "local_write";
    case ChangeCause::kLocalRemove:
      return "local_remove";
    case ChangeCause::kMerge:
      return "merge";
    case ChangeCause::kPrune:
      return "prune";
  }
  SG_ASSERT(false);
}

LwwMap::LwwMap(Hlc& hlc, LwwMapOptions options)
    : hlc_(hlc), keep_merkle_(options.merkle), merkle_(options.merkle_depth) {}

LwwMap::Slot LwwMap::Locate(std::string_view key) {
  if (auto found = index_.find(key); found != index_.end()) return Slot{found->second, true};
  return Slot{records_.lower_bound(key), false};  // the insert's hint
}

void LwwMap::Apply(Slot slot, std::string key, LwwRecord record, ChangeCause cause) {
  SG_ASSERT(!listeners_.notifying());
  auto it = slot.it;
  if (!slot.found) {
    const size_t size_before = records_.size();
    it = records_.emplace_hint(it, std::move(key), std::move(record));
    SG_ASSERT(records_.size() == size_before + 1);  // Locate found no record for the key
    index_.emplace(it->first, it);
    // The tree borrows the key from the map's node, which lives until the key is erased.
    if (keep_merkle_) merkle_.Upsert(it->first, RecordHash(it->first, it->second));
    if (!listeners_.empty()) listeners_.Notify({it->first, nullptr, &it->second, cause});
    return;
  }
  SG_ASSERT(it->first == key);
  if (keep_merkle_) merkle_.Upsert(it->first, RecordHash(it->first, record));
  LwwRecord old = std::exchange(it->second, std::move(record));
  if (!listeners_.empty()) listeners_.Notify({it->first, &old, &it->second, cause});
}

Timestamp LwwMap::Set(std::string key, Document value, std::optional<uint64_t> ttl_ms) {
  SG_ASSERT(ValidateTtl(ttl_ms).ok());
  Timestamp ts = hlc_.Now();
  const Slot slot = Locate(key);
  Apply(slot, std::move(key), LwwRecord{std::move(value), ts, ttl_ms}, ChangeCause::kLocalWrite);
  return ts;
}

Timestamp LwwMap::Remove(std::string key) {
  Timestamp ts = hlc_.Now();
  const Slot slot = Locate(key);
  Apply(slot, std::move(key), LwwRecord{std::nullopt, ts, std::nullopt}, ChangeCause::kLocalRemove);
  return ts;
}

absl::StatusOr<bool> LwwMap::Merge(std::string key, LwwRecord remote) {
  if (absl::Status s = ValidateNodeId(remote.ts.node_id); !s.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("lww merge of key '{}': remote timestamp: {}", key, s.message()));
  }
  if (absl::Status s = hlc_.Update(remote.ts); !s.ok()) return s;
  const Slot slot = Locate(key);
  const auto it = slot.it;
  if (slot.found && !(remote.ts > it->second.ts)) {
    if (remote.ts < it->second.ts || remote == it->second) return false;  // Older, or the same.
    // Same timestamp, different contents: impossible between honest replicas (HLC timestamps are
    // unique per node), but a node that re-issues timestamps after losing its clock state, or a
    // corrupt peer, can cause it. "Ties keep local" would then never converge, so the record with
    // the greater RecordHash wins on every replica, and the event is counted.
    ++tie_conflicts_;
    const uint64_t remote_hash = RecordHash(key, remote);
    const uint64_t local_hash = RecordHash(key, it->second);
    if (remote_hash < local_hash) {
      SG_PROBE("lww.tie_kept_local");
      return false;
    }
    // Equal 64-bit hashes of different records: fall back to the printed form (still a total,
    // replica-independent order).
    if (remote_hash == local_hash && remote.ToString() <= it->second.ToString()) return false;
    SG_PROBE("lww.tie_broken_by_hash");
  }
  if (slot.found && remote.tombstone() && !it->second.tombstone()) {
    SG_PROBE("lww.merge_tombstone_over_value");  // A concurrent or later delete wins here.
  }
  if (slot.found && !remote.tombstone() && it->second.tombstone()) {
    SG_PROBE("lww.merge_value_over_tombstone");  // A write newer than the delete revives the key.
  }
  Apply(slot, std::move(key), std::move(remote), ChangeCause::kMerge);
  return true;
}

const Document* LwwMap::Get(std::string_view key) { return GetAt(key, hlc_.clock().NowMs()); }

const Document* LwwMap::GetAt(std::string_view key, uint64_t now_ms) const {
  const LwwRecord* record = GetRecord(key);
  if (record == nullptr || record->tombstone()) return nullptr;
  if (record->ExpiredAt(now_ms)) {
    SG_PROBE("lww.read_hid_expired");
    return nullptr;
  }
  return &*record->value;
}

const LwwRecord* LwwMap::GetRecord(std::string_view key) const {
  auto found = index_.find(key);
  return found == index_.end() ? nullptr : &found->second->second;
}

size_t LwwMap::Prune(const Timestamp& older_than) {
  SG_ASSERT(!listeners_.notifying());
  size_t pruned = 0;
  for (auto it = records_.begin(); it != records_.end();) {
    if (!it->second.tombstone() || !(it->second.ts < older_than)) {
      ++it;
      continue;
    }
    if (keep_merkle_) SG_ASSERT(merkle_.Erase(it->first));
    LwwRecord old = std::move(it->second);
    const std::string key = it->first;
    const size_t unindexed = index_.erase(it->first);
    SG_ASSERT(unindexed == 1);
    it = records_.erase(it);
    ++pruned;
    if (!listeners_.empty()) listeners_.Notify({key, &old, nullptr, ChangeCause::kPrune});
  }
  if (pruned > 0) SG_PROBE("lww.tombstones_pruned");
  return pruned;
}

bool LwwMap::Forget(std::string_view key) {
  SG_ASSERT(!listeners_.notifying());
  auto found = index_.find(key);
  if (found == index_.end()) return false;
  const auto it = found->second;
  index_.erase(found);
  SG_PROBE("lww.record_forgotten");
  if (keep_merkle_) SG_ASSERT(merkle_.Erase(it->first));
  // Out of the map, but its key and record live until the listeners have seen them: a listener may
  // hold views of this very key (IndexedLwwMap's rows do).
  const Records::node_type node = records_.extract(it);
  if (!listeners_.empty()) {
    listeners_.Notify({node.key(), &node.mapped(), nullptr, ChangeCause::kPrune});
  }
  return true;
}

}  // namespace seedgrid
