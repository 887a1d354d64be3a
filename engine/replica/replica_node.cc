#include "engine/replica/replica_node.h"

#include <fmt/format.h>
#include <xxhash.h>

#include <charconv>

#include "engine/base/assert.h"
#include "engine/base/buggify.h"
#include "engine/base/strings.h"
#include "engine/env/twin_page.h"
#include "engine/wire/codec.h"
#include "engine/wire/packed_record.h"

namespace seedgrid {

namespace {

// Page names: a kind letter, then length-prefixed parts, so no map name or key can collide.
std::string LwwPage(std::string_view map, std::string_view key) {
  return NameBuilder(16 + map.size() + key.size())
      .Text("L/")
      .Prefixed(map)
      .Text("/")
      .Text(key)
      .Take();
}
std::string OrPage(std::string_view map, std::string_view key) {
  return fmt::format("O/{}/{}/{}", map.size(), map, key);
}
std::string CounterPage(std::string_view name) { return fmt::format("P/{}", name); }

// A name the wire (and so every page) can carry: 1..kMapNameBytesMax bytes. Checked before a local
// write applies anything; a peer's names are checked by the decoder.
absl::Status CheckName(std::string_view what, std::string_view name) {
  if (IsWireMapName(name)) return absl::OkStatus();
  return absl::InvalidArgumentError(fmt::format(
      "replica node: a {} name must be 1..{} bytes, got {}", what, kMapNameBytesMax, name.size()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<ReplicaNode>> ReplicaNode::Open(Env& env,
                                                               ReplicaNodeOptions options) {
  if (options.flush_interval_ms == 0 || options.anti_entropy_interval_ms == 0) {
    return absl::InvalidArgumentError("replica node: timer intervals must be positive");
  }
  if (options.anti_entropy_fanout < 1) {
    return absl::InvalidArgumentError("replica node: anti_entropy_fanout must be at least 1");
  }
  for (const NodeIndexSpec& spec : options.indexes) {
    QueryEngine scratch(env.clock, 0);  // Checks the fields as the real index will.
    if (absl::Status st = scratch.AddIndex(spec.kind, spec.fields); !st.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("replica node: index on map '{}': {}", spec.map_name, st.message()));
    }
  }
  std::unique_ptr<ReplicaNode> node(new ReplicaNode(env, std::move(options)));
  if (node->options_.persist) {
    if (absl::Status s = node->Restore(); !s.ok()) return s;
  }
  node->ArmPeriodic(node->flush_, node->flush_.interval_ms);
  node->ArmPeriodic(node->anti_entropy_, node->anti_entropy_.interval_ms);
  node->armed_ = true;
  return node;
}

ReplicaNode::ReplicaNode(Env& env, ReplicaNodeOptions options)
    : env_(env),
      options_(std::move(options)),
      pages_(env.storage),
      flush_{options_.flush_interval_ms,
             &stats_.flushes_skipped,
             &ReplicaNode::FlushNow,
             &ReplicaNode::FlushIdle,
             {}},
      anti_entropy_{options_.anti_entropy_interval_ms,
                    &stats_.anti_entropy_skipped,
                    &ReplicaNode::AntiEntropyNow,
                    nullptr,
                    {}} {
  for (const NodeId& peer : options_.peers) {
    if (peer != options_.replica.node_id) others_.push_back(peer);
  }
  replica_ = std::make_unique<Replica>(env_, options_.replica);
  replica_->set_hooks(Replica::Hooks{
      [this](const std::string& name, LwwMap& map) { OnNewLww(name, map); },
      [this](const std::string& name, OrMap& map) { OnNewOr(name, map); },
      [this](const std::string& name, PnCounter& counter) { OnNewCounter(name, counter); },
      [this] { Wake(flush_); }});
}

ReplicaNode::~ReplicaNode() {
  for (const Periodic* p : {&flush_, &anti_entropy_}) {
    if (p->timer) env_.timers.Cancel(*p->timer);
  }
  // Indexed views detach from the maps before the replica (and its maps) go away.
  indexed_lww_.clear();
  indexed_or_.clear();
}

uint64_t ReplicaNode::InstanceId(const std::string& map_name) {
  const std::string id = options_.replica.node_id + "/" + map_name;
  return XXH3_64bits_withSeed(id.data(), id.size(), env_.random.Next64());
}

template <typename Indexed, typename Map>
void ReplicaNode::AttachIndexes(const std::string& name, Map& map,
                                absl::btree_map<std::string, std::unique_ptr<Indexed>>& views) {
  std::unique_ptr<Indexed> indexed;
  for (const NodeIndexSpec& spec : options_.indexes) {
    if (spec.map_name != name) continue;
    if (!indexed) {
      indexed = std::make_unique<Indexed>(
          map, IndexedMapOptions{.instance_id = InstanceId(name), .timers = &env_.timers});
    }
    SG_ASSERT(indexed->AddIndex(spec.kind, spec.fields).ok());  // Validated by Open().
  }
  if (indexed) views.emplace(name, std::move(indexed));
}

void ReplicaNode::OnNewLww(const std::string& name, LwwMap& map) {
  map.AddListener([this, name](const LwwChange& c) {
    if (restoring_) return;
    if (c.cause == ChangeCause::kMerge && c.new_record) OnMerged(c.new_record->ts);
    if (!options_.persist) return;
    if (c.new_record == nullptr) {  // Pruned: the page goes too.
      pages_.Erase(LwwPage(name, c.key));
      return;
    }
    // A packed record (packed_record.h), as grid nodes store theirs; older builds' pages hold a
    // whole OpBatch message and still restore.
    pages_.Put(LwwPage(name, c.key), EncodeRecordPage(name, c.key, *c.new_record));
  });
  AttachIndexes(name, map, indexed_lww_);
}

void ReplicaNode::OnNewOr(const std::string& name, OrMap& map) {
  {
    map.AddListener([this, name](const OrChange& c) {
      if (restoring_) return;
      if (c.cause == ChangeCause::kMerge && c.new_entry && !c.new_entry->items.empty()) {
        OnMerged(c.new_entry->items.rbegin()->first);
      }
      if (!options_.persist) return;
      const std::string page = OrPage(name, c.key);
      if (c.new_entry == nullptr) {
        pages_.Erase(page);
        return;
      }
      pages_.Put(page,
                 EncodeMessage(msg::Envelope{
                     options_.replica.node_id,
                     msg::OpBatch{0, name, {}, {ToKeyState(std::string(c.key), *c.new_entry)}}}));
    });
  }
  AttachIndexes(name, map, indexed_or_);
}

void ReplicaNode::OnNewCounter(const std::string& name, PnCounter& counter) {
  if (!options_.persist) return;
  counter.AddListener([this, name, &counter](const PnChange&) {
    if (restoring_) return;
    pages_.Put(CounterPage(name),
               EncodeMessage(msg::Envelope{options_.replica.node_id,
                                           msg::PnCounterState{name, counter.state()}}));
  });
}

// Called by every local write after it was applied (its pages written): the write returns OK —
// is acknowledged — only when this sync succeeded.
absl::Status ReplicaNode::SyncStorage() {
  SG_CRASH_POINT("replica.write_applied");  // Applied and in the outbox; not durable.
  if (!options_.persist) return absl::OkStatus();
  hlc_page_.Put(pages_, SaveHlcState(replica_->hlc()));  // A twin page: never rolled back.
  absl::Status s = pages_.Sync();
  if (!s.ok())
    events::EmitEvent(options_.events, events::StorageFailed{std::string(ToStd(s.message()))});
  SG_CRASH_POINT("replica.write_synced");  // Durable; acknowledged as the call returns.
  return s;
}

absl::Status ReplicaNode::Restore() {
  restoring_ = true;
  absl::Status status = [&]() -> absl::Status {
    // The HLC first, so the clock is restored before any record merges.
    if (absl::Status s = hlc_page_.Restore(env_.storage); !s.ok()) return s;
    if (const auto& hlc = hlc_page_.restored()) {
      if (absl::Status s = RestoreHlcState(replica_->hlc(), *hlc); !s.ok()) {
        return absl::DataLossError(fmt::format("page '{}': {}", hlc_page_.name(), s.message()));
      }
    }
    for (const std::string& page : env_.storage.List()) {
      absl::StatusOr<std::string> bytes = env_.storage.Read(page);
      if (!bytes.ok()) return bytes.status();
      ++stats_.pages_restored;
      if (hlc_page_.Owns(page)) continue;  // Restored first.
      if (IsPackedRecordPage(*bytes)) {
        if (absl::Status s = RestoreRecordPage(page, *bytes); !s.ok()) {
          return absl::DataLossError(fmt::format("page '{}': {}", page, s.message()));
        }
        continue;
      }
      absl::StatusOr<msg::Envelope> envelope = DecodeMessage(*bytes);
      if (!envelope.ok()) {
        return absl::DataLossError(fmt::format("page '{}': {}", page, envelope.status().message()));
      }
      absl::Status merged = absl::OkStatus();
      if (const auto* batch = std::get_if<msg::OpBatch>(&envelope->body)) {
        const bool is_lww = replica_->lww_maps().contains(batch->map_name);
        const bool is_or = replica_->or_maps().contains(batch->map_name);
        if ((!batch->lww.empty() && (is_or || !batch->or_entries.empty())) ||
            (!batch->or_entries.empty() && is_lww)) {
          return absl::DataLossError(
              fmt::format("page '{}': map '{}' is stored both as an LWW and as an OR map", page,
                          batch->map_name));
        }
        for (const msg::LwwEntry& e : batch->lww) {
          absl::StatusOr<bool> r = replica_->lww(batch->map_name).Merge(e.key, e.record);
          if (!r.ok()) merged = r.status();
        }
        for (const msg::OrKeyState& e : batch->or_entries) {
          absl::StatusOr<bool> r =
              replica_->orm(batch->map_name).Merge(e.key, e.items, e.tombstones);
          if (!r.ok()) merged = r.status();
        }
      } else if (const auto* pn = std::get_if<msg::PnCounterState>(&envelope->body)) {
        merged = replica_->counter(pn->name).Merge(pn->entries);
      } else {
        merged =
            absl::DataLossError(fmt::format("unexpected {} body", msg::BodyName(envelope->body)));
      }
      if (!merged.ok()) {
        return absl::DataLossError(fmt::format("page '{}': {}", page, merged.message()));
      }
    }
    return absl::OkStatus();
  }();
  restoring_ = false;
  return status;
}

absl::Status ReplicaNode::RestoreRecordPage(const std::string& page, std::string_view bytes) {
  absl::StatusOr<StoredRecord> r = DecodeRecordPage(bytes);
  if (!r.ok()) return r.status();
  if (LwwPage(r->map, r->key) != page) {
    return absl::InvalidArgumentError(
        fmt::format("holds the record of key '{}' of map '{}', which belongs on page '{}'", r->key,
                    r->map, LwwPage(r->map, r->key)));
  }
  if (replica_->or_maps().contains(r->map)) {
    return absl::InvalidArgumentError(
        fmt::format("map '{}' is stored both as an LWW and as an OR map", r->map));
  }
  return replica_->lww(r->map).Merge(r->key, r->record).status();
}

LocalWrite<Timestamp> ReplicaNode::Set(std::string_view map, std::string key, Document value,
                                       std::optional<uint64_t> ttl_ms) {
  if (absl::Status s = CheckName("map", map); !s.ok()) return {Timestamp{}, s};
  if (absl::Status s = ValidateTtl(ttl_ms); !s.ok()) return {Timestamp{}, s};
  return {replica_->lww(map).Set(std::move(key), std::move(value), ttl_ms), SyncStorage()};
}

LocalWrite<Timestamp> ReplicaNode::Remove(std::string_view map, std::string key) {
  if (absl::Status s = CheckName("map", map); !s.ok()) return {Timestamp{}, s};
  const Timestamp ts = replica_->lww(map).Remove(std::move(key));
  return {ts, SyncStorage()};
}

LocalWrite<Timestamp> ReplicaNode::Add(std::string_view map, std::string key, Document value) {
  if (absl::Status s = CheckName("map", map); !s.ok()) return {Timestamp{}, s};
  const Timestamp ts = replica_->orm(map).Add(std::move(key), std::move(value));
  return {ts, SyncStorage()};
}

LocalWrite<std::vector<Timestamp>> ReplicaNode::RemoveValue(std::string_view map,
                                                            std::string_view key,
                                                            const Document& value) {
  if (absl::Status s = CheckName("map", map); !s.ok()) return {{}, s};
  std::vector<Timestamp> removed = replica_->orm(map).Remove(key, value);
  absl::Status synced = SyncStorage();
  return {std::move(removed), std::move(synced)};
}

absl::Status ReplicaNode::Increment(std::string_view counter, uint64_t by) {
  if (absl::Status bad = CheckName("counter", counter); !bad.ok()) return bad;
  absl::Status s = replica_->counter(counter).Increment(by);
  absl::Status synced = SyncStorage();
  return s.ok() ? synced : s;
}

absl::Status ReplicaNode::Decrement(std::string_view counter, uint64_t by) {
  if (absl::Status bad = CheckName("counter", counter); !bad.ok()) return bad;
  absl::Status s = replica_->counter(counter).Decrement(by);
  absl::Status synced = SyncStorage();
  return s.ok() ? synced : s;
}

void ReplicaNode::FlushNow() {
  ++stats_.flushes;
  replica_->Flush(others_);
}

void ReplicaNode::AntiEntropyNow() {
  if (others_.empty()) return;
  ++stats_.anti_entropy_rounds;
  const size_t fanout = std::min(others_.size(), static_cast<size_t>(options_.anti_entropy_fanout));
  const size_t first = env_.random.Uniform(others_.size());
  for (size_t i = 0; i < fanout; ++i) replica_->SyncWith(others_[(first + i) % others_.size()]);
}

void ReplicaNode::ArmPeriodic(Periodic& p, uint64_t delay_ms) {
  SG_ASSERT(!p.timer);
  // Buggify: fire early (anything from 0 to the delay).
  const uint64_t delay = SG_BUGGIFY() ? env_.random.Uniform(delay_ms + 1) : delay_ms;
  p.last_fired_ms = env_.clock.NowMs();
  p.timer = env_.timers.Schedule(delay, [this, &p] {
    p.timer.reset();
    p.last_fired_ms = env_.clock.NowMs();
    if (SG_BUGGIFY()) {
      ++*p.skipped;  // Legal: a flush's outbox waits for the next one; anti-entropy repairs later.
    } else {
      (this->*p.action)();
    }
    if (p.idle == nullptr || !(this->*p.idle)()) ArmPeriodic(p, p.interval_ms);
  });
}

void ReplicaNode::Wake(Periodic& p) {
  if (p.timer || !armed_) return;  // Due anyway, or Open() has not armed the duties yet.
  const uint64_t since_ms = env_.clock.NowMs() - p.last_fired_ms;
  ArmPeriodic(p, p.interval_ms - since_ms % p.interval_ms);
}

IndexedLwwMap* ReplicaNode::indexed_lww(std::string_view map) {
  auto it = indexed_lww_.find(ToAbsl(map));
  return it == indexed_lww_.end() ? nullptr : it->second.get();
}

IndexedOrMap* ReplicaNode::indexed_or(std::string_view map) {
  auto it = indexed_or_.find(ToAbsl(map));
  return it == indexed_or_.end() ? nullptr : it->second.get();
}

}  // namespace seedgrid
