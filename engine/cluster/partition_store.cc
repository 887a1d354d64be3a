#include "engine/cluster/partition_store.h"

#include <fmt/format.h>

#include <charconv>

#include "engine/base/probe.h"
#include "engine/base/strings.h"
#include "engine/cluster/partition.h"
#include "engine/env/twin_page.h"
#include "engine/wire/codec.h"
#include "engine/wire/packed_record.h"

namespace seedgrid {

namespace {

std::string RecordPage(uint32_t p, std::string_view map, std::string_view key) {
  // "R/{p}/{map size}/{map}/{key}"
  NameBuilder name(16 + map.size() + key.size());
  return name.Text("R/").Number(p).Text("/").Prefixed(map).Text("/").Text(key).Take();
}
std::string CounterPage(uint32_t p, std::string_view map, std::string_view key) {
  return fmt::format("C/{}/{}/{}/{}", p, map.size(), map, key);
}
// "OI" (an item) or "OT" (a tombstone) of map/key tagged `tag`.
std::string OrPartPage(std::string_view kind, uint32_t p, std::string_view map,
                       std::string_view key, const Timestamp& tag) {
  return fmt::format("{}/{}/{}/{}/{}/{}/{}", kind, p, map.size(), map, key.size(), key,
                     tag.ToString());
}
std::string MarkPage(uint32_t p, std::string_view client) {
  return NameBuilder(8 + client.size()).Text("A/").Number(p).Text("/").Text(client).Take();
}
std::string WatermarkPage(uint32_t p) { return fmt::format("W/{}", p); }

}  // namespace

void PartitionStore::PutRecord(uint32_t p, std::string_view map, std::string_view key,
                               const LwwRecord& record) {
  pages_.Put(RecordPage(p, map, key), EncodeRecordPage(map, key, record));
}

void PartitionStore::EraseRecord(uint32_t p, std::string_view map, std::string_view key) {
  pages_.Erase(RecordPage(p, map, key));
}

void PartitionStore::PutCounter(uint32_t p, std::string_view map, std::string_view key,
                                const PnState& state) {
  msg::MapRecords records{std::string(map), {}, {msg::CounterEntry{std::string(key), state}}};
  msg::PartitionState one{0, p, msg::StatePurpose::kHandoff, {std::move(records)}, {}};
  pages_.Put(CounterPage(p, map, key), EncodeMessage(msg::Envelope{self_, std::move(one)}));
}

void PartitionStore::PutOrPart(uint32_t p, std::string_view map, std::string_view key,
                               const Timestamp& tag, const OrItem* item) {
  msg::OrKeyState k{std::string(key), {}, {}};
  if (item != nullptr) {
    k.items.push_back(OrRecord{tag, item->value, item->ttl_ms, item->origin});
  } else {
    k.tombstones.push_back(tag);
  }
  msg::MapRecords records{std::string(map), {}, {}, {std::move(k)}};
  msg::PartitionState one{0, p, msg::StatePurpose::kHandoff, {std::move(records)}, {}};
  pages_.Put(OrPartPage(item ? "OI" : "OT", p, map, key, tag),
             EncodeMessage(msg::Envelope{self_, std::move(one)}));
}

void PartitionStore::PutOrChange(uint32_t p, std::string_view map, std::string_view key,
                                 const OrEntry* old_entry, const OrEntry* new_entry) {
  static const OrEntry kNone;
  const OrEntry& before = old_entry ? *old_entry : kNone;
  const OrEntry& after = new_entry ? *new_entry : kNone;
  for (const auto& [tag, item] : before.items) {
    if (!after.items.contains(tag)) pages_.Erase(OrPartPage("OI", p, map, key, tag));
  }
  for (const auto& [tag, item] : after.items) {
    auto old = before.items.find(tag);
    if (old == before.items.end() || !(old->second == item)) PutOrPart(p, map, key, tag, &item);
  }
  for (const Timestamp& t : before.tombstones) {
    if (!after.tombstones.contains(t)) pages_.Erase(OrPartPage("OT", p, map, key, t));
  }
  for (const Timestamp& t : after.tombstones) {
    if (!before.tombstones.contains(t)) PutOrPart(p, map, key, t, nullptr);
  }
}

void PartitionStore::PutMark(uint32_t p, std::string_view client, uint64_t seq) {
  pages_.Put(MarkPage(p, client), std::to_string(seq));
}

void PartitionStore::PutWatermark(uint32_t p, uint64_t w) {
  pages_.Put(WatermarkPage(p), std::to_string(w));
}

void PartitionStore::ErasePartition(uint32_t p, const GridPartition& part) {
  for (const auto& [name, map] : part.maps) {
    for (const auto& [key, record] : map->records()) pages_.Erase(RecordPage(p, name, key));
  }
  for (const auto& [name, counters] : part.counters) {
    for (const auto& [key, state] : counters->counters()) pages_.Erase(CounterPage(p, name, key));
  }
  for (const auto& [name, or_map] : part.or_maps) {
    for (const auto& [key, entry] : or_map->entries()) PutOrChange(p, name, key, &entry, nullptr);
  }
  if (part.pruned_below_ms != 0) pages_.Erase(WatermarkPage(p));
}

absl::Status PartitionStore::Sync(const Hlc& hlc) {
  if (!pages_.dirty()) return absl::OkStatus();
  hlc_page_.Put(pages_, SaveHlcState(hlc));  // A twin page: no torn write rolls it back.
  return pages_.Sync();
}

bool PartitionStore::RestorePage(const std::string& page, const std::string& bytes,
                                 const RestoreSink& sink) {
  if (hlc_page_.Owns(page)) return true;  // Restored first.
  if (page.starts_with("R/") && IsPackedRecordPage(bytes)) {
    absl::StatusOr<StoredRecord> r = DecodeRecordPage(bytes);
    if (!r.ok()) return false;
    const uint32_t p = PartitionOf(r->key);
    if (RecordPage(p, r->map, r->key) != page) return false;  // not where this record belongs
    SG_PROBE("cluster.restart_restored_records");
    msg::MapRecords one{std::move(r->map),
                        {msg::LwwEntry{std::move(r->key), std::move(r->record)}}};
    sink.record(msg::PartitionState{0, p, msg::StatePurpose::kHandoff, {std::move(one)}, {}});
    return true;
  }
  // Record pages of builds before 2026-12-03, and the other pages of records: whole messages.
  if (page.starts_with("R/") || page.starts_with("C/") || page.starts_with("OI/") ||
      page.starts_with("OT/") || page.starts_with("OR/")) {
    absl::StatusOr<msg::Envelope> e = DecodeMessage(bytes);
    if (!e.ok() || !std::holds_alternative<msg::PartitionState>(e->body)) return false;
    const auto& state = std::get<msg::PartitionState>(e->body);
    if (state.partition >= kPartitionCount) return false;
    SG_PROBE("cluster.restart_restored_records");
    sink.record(state);
    if (page.starts_with("OR/")) RewriteLegacyOrPage(page, state);
    return true;
  }
  if (page.starts_with("W/")) {
    uint64_t p = 0, w = 0;
    if (!ParseU64(std::string_view(page).substr(2), p) || p >= kPartitionCount ||
        !ParseU64(bytes, w)) {
      return false;
    }
    sink.watermark(static_cast<uint32_t>(p), w);
    return true;
  }
  if (page.starts_with("A/")) {
    const size_t slash = page.find('/', 2);
    uint64_t p = 0, seq = 0;
    if (slash == std::string::npos || !ParseU64(std::string_view(page).substr(2, slash - 2), p) ||
        p >= kPartitionCount || !ParseU64(bytes, seq) ||
        !ValidateNodeId(page.substr(slash + 1)).ok()) {
      return false;
    }
    sink.mark(static_cast<uint32_t>(p), page.substr(slash + 1), seq);
    return true;
  }
  return false;
}

// A whole-entry page of an older build: its entry goes to item and tombstone pages (synced with
// the restore's sync), and it is erased.
void PartitionStore::RewriteLegacyOrPage(const std::string& page,
                                         const msg::PartitionState& state) {
  SG_PROBE("storage.legacy_or_page_rewritten");
  for (const msg::MapRecords& m : state.maps) {
    for (const msg::OrKeyState& k : m.or_keys) {
      const OrEntry entry = msg::ToOrEntry(k);
      PutOrChange(state.partition, m.map_name, k.key, nullptr, &entry);
    }
  }
  pages_.Erase(page);
}

absl::StatusOr<uint64_t> PartitionStore::Restore(const RestoreSink& sink) {
  uint64_t torn = 0;
  // The HLC first, so the clock is restored before any record merges.
  if (absl::Status s = hlc_page_.Restore(pages_.storage()); !s.ok()) return s;
  if (const auto& hlc = hlc_page_.restored(); hlc && !sink.hlc(*hlc)) {
    SG_PROBE("storage.torn_page_discarded");  // Whole but not a clock: the next sync writes one.
    ++torn;
  }
  for (const std::string& page : pages_.storage().List()) {
    absl::StatusOr<std::string> bytes = pages_.storage().Read(page);
    if (!bytes.ok()) return bytes.status();
    if (RestorePage(page, *bytes, sink)) continue;
    // A torn or foreign page: only an unsynced write can tear, so what it held was never
    // acknowledged by this server; replicas and anti-entropy supply it again.
    SG_PROBE("storage.torn_page_discarded");
    ++torn;
    pages_.Erase(page);
  }
  return torn;
}

}  // namespace seedgrid
