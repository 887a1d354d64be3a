#include "engine/query/indexed_map.h"

#include <xxhash.h>

#include <limits>

#include "engine/base/assert.h"
#include "engine/base/strings.h"

namespace seedgrid {

namespace {

uint64_t InstanceId(Hlc& hlc, const IndexedMapOptions& options) {
  if (options.instance_id) return *options.instance_id;
  const std::string ts = hlc.Now().ToString();
  return XXH3_64bits(ts.data(), ts.size());
}

}  // namespace

IndexedMapBase::IndexedMapBase(Hlc& hlc, const IndexedMapOptions& options)
    : engine_(hlc.clock(), InstanceId(hlc, options), options.engine), timers_(options.timers) {}

IndexedMapBase::~IndexedMapBase() {
  if (timer_) timers_->Cancel(*timer_);
}

void IndexedMapBase::ExpireDue() {
  engine_.ExpireDue();
  ArmTimer();
}

void IndexedMapBase::ArmTimer() {
  if (timers_ == nullptr) return;
  const std::optional<uint64_t> next = engine_.next_deadline_ms();
  if (!next || *next == std::numeric_limits<uint64_t>::max()) return;
  if (timer_ && timer_deadline_ms_ <= *next) return;  // An earlier wake-up is already set.
  if (timer_) timers_->Cancel(*timer_);
  constexpr uint64_t kDelayMax = 365ull * 24 * 3600 * 1000;
  const uint64_t now = engine_.expiry_now_ms();
  // Expired when deadline < now, so wake at deadline + 1.
  const uint64_t delay = *next + 1 > now ? std::min(*next + 1 - now, kDelayMax) : 0;
  timer_deadline_ms_ = *next;
  timer_ = timers_->Schedule(delay, [this] {
    timer_.reset();
    timer_deadline_ms_ = std::numeric_limits<uint64_t>::max();
    ExpireDue();
  });
}

// --- IndexedLwwMap ---

size_t IndexedLwwMap::RowKeyHash::operator()(std::string_view key) const {
  return XXH3_64bits(key.data(), key.size());  // Not absl::Hash: seeded per process.
}

IndexedLwwMap::IndexedLwwMap(LwwMap& map, IndexedMapOptions options)
    : IndexedMapBase(map.hlc(), options),
      map_(map),
      handles_(0, RowKeyHash{&engine_}, RowKeyEq{&engine_}) {
  engine_.SetExpiryHook([this](RowHandle h) {
    const size_t erased = handles_.erase(h);
    SG_ASSERT(erased == 1);
  });
  const uint64_t now = engine_.expiry_now_ms();
  for (const auto& [key, record] : map_.records()) {
    if (record.tombstone() || record.ExpiredAt(now)) continue;
    const bool inserted =
        handles_
            .insert(engine_.InsertRow(key, nullptr, &*record.value,
                                      TtlDeadlineMs(record.ts.millis, record.ttl_ms)))
            .second;
    SG_ASSERT(inserted);
  }
  listener_ = map_.AddListener([this](const LwwChange& c) { OnChange(c); });
  ArmTimer();
}

IndexedLwwMap::~IndexedLwwMap() { map_.RemoveListener(listener_); }

// The changed key first, from c.old_record: the map already holds the new record, so a row of this
// key that is also due to expire must not be expired by ExpireDue from the map's (new) document —
// the indexes hold the old one. Then the other rows that are due.
void IndexedLwwMap::OnChange(const LwwChange& c) {
  const LwwRecord* now_record = c.new_record;
  const uint64_t deadline =
      now_record ? TtlDeadlineMs(now_record->ts.millis, now_record->ttl_ms) : 0;
  const bool live =
      now_record != nullptr && !now_record->tombstone() && !(deadline < engine_.expiry_now_ms());
  auto it = handles_.find(c.key);
  if (it != handles_.end()) {
    SG_ASSERT(c.old_record != nullptr && !c.old_record->tombstone());
    const RowHandle h = *it;
    if (live) {
      engine_.UpdateRow(h, *c.old_record->value, &*now_record->value, deadline);
    } else {
      handles_.erase(it);
      engine_.RemoveRow(h, c.key, nullptr, *c.old_record->value);
    }
  } else if (live) {
    // c.key views the map's own key (the record was just installed under it).
    const bool inserted =
        handles_.insert(engine_.InsertRow(c.key, nullptr, &*now_record->value, deadline)).second;
    SG_ASSERT(inserted);
  }
  engine_.ExpireDue();
  ArmTimer();
}

// --- IndexedOrMap ---

IndexedOrMap::IndexedOrMap(OrMap& map, IndexedMapOptions options)
    : IndexedMapBase(map.hlc(), options), map_(map) {
  engine_.SetExpiryHook([this](RowHandle h) {
    const RowRef row = engine_.Row(h);
    auto it = handles_.find(ToAbsl(row.key));
    SG_ASSERT(it != handles_.end());
    const size_t erased = it->second.erase(*row.tag);
    SG_ASSERT(erased == 1);
    if (it->second.empty()) handles_.erase(it);
  });
  for (const auto& [key, entry] : map_.entries()) Sync(key, nullptr, &entry);
  listener_ = map_.AddListener([this](const OrChange& c) { OnChange(c); });
  ArmTimer();
}

IndexedOrMap::~IndexedOrMap() { map_.RemoveListener(listener_); }

// The changed key first, as in IndexedLwwMap::OnChange: its rows view the map's (new) entry.
void IndexedOrMap::OnChange(const OrChange& c) {
  Sync(c.key, c.old_entry, c.new_entry);
  engine_.ExpireDue();
  ArmTimer();
}

void IndexedOrMap::Sync(std::string_view key, const OrEntry* old_entry, const OrEntry* new_entry) {
  const uint64_t now = engine_.expiry_now_ms();
  auto it = handles_.find(ToAbsl(key));
  if (it != handles_.end()) {
    SG_ASSERT(old_entry != nullptr);
    auto& by_tag = it->second;
    // The map may have freed items (or the whole entry) these rows point into, and each change
    // below may read every live row: first point them all at the old copy of the entry.
    for (const auto& [tag, h] : by_tag) {
      const auto old_item = old_entry->items.find(tag);
      SG_ASSERT(old_item != old_entry->items.end());
      engine_.RebindRow(h, key, &old_item->first, &old_item->second.value);
    }
    for (auto row = by_tag.begin(); row != by_tag.end();) {
      const auto old_item = old_entry->items.find(row->first);
      const std::pair<const Timestamp, OrItem>* new_item = nullptr;
      if (new_entry != nullptr) {
        if (auto n = new_entry->items.find(row->first); n != new_entry->items.end()) {
          new_item = &*n;
        }
      }
      const uint64_t deadline =
          new_item ? TtlDeadlineMs(row->first.millis, new_item->second.ttl_ms) : 0;
      if (new_item == nullptr || deadline < now) {
        engine_.RemoveRow(row->second, key, &old_item->first, old_item->second.value);
        row = by_tag.erase(row);
        continue;
      }
      if (!(new_item->second.value == old_item->second.value) ||
          new_item->second.ttl_ms != old_item->second.ttl_ms) {
        engine_.UpdateRow(row->second, old_item->second.value, &new_item->second.value, deadline);
      }
      // Into the map's entry (`key` views the map's own key while the entry exists).
      engine_.RebindRow(row->second, key, &new_item->first, &new_item->second.value);
      ++row;
    }
    if (by_tag.empty()) {
      handles_.erase(it);
      it = handles_.end();
    }
  }
  if (new_entry == nullptr) return;
  for (const auto& [tag, item] : new_entry->items) {
    if (it != handles_.end() && it->second.contains(tag)) continue;
    const uint64_t deadline = TtlDeadlineMs(tag.millis, item.ttl_ms);
    if (deadline < now) continue;
    // `key` views the map's own entry key here (new_entry is in the map).
    const RowHandle h = engine_.InsertRow(key, &tag, &item.value, deadline);
    if (it == handles_.end()) it = handles_.try_emplace(std::string(key)).first;
    it->second.emplace(tag, h);
  }
}

}  // namespace seedgrid
