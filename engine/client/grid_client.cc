#include "engine/client/grid_client.h"

#include <fmt/format.h>

#include "engine/base/assert.h"
#include "engine/base/crash_point.h"
#include "engine/base/probe.h"
#include "engine/base/strings.h"
#include "engine/cluster/partition.h"
#include "engine/env/twin_page.h"
#include "engine/wire/codec.h"
#include "engine/wire/packed_record.h"

namespace seedgrid {

namespace {

// Inserts `key` unless it is there: one search, and no string is built for a key already held (a
// record changes several times between syncs: its write, its acknowledgement's stamp, a leaf).
void InsertKey(absl::btree_set<std::string>& keys, std::string_view key) {
  const auto it = keys.lower_bound(ToAbsl(key));
  if (it == keys.end() || *it != key) keys.emplace_hint(it, key);
}

// About the encoded size of an op (for batch_bytes_max): its strings plus a little per field.
size_t ApproxBytes(const msg::GridOp& op) {
  size_t n = 64 + op.map_name.size() + op.key.size();
  if (!op.value) return n;
  for (const auto& [name, v] : *op.value) {
    n += 16 + name.size();
    if (v.is_string()) n += v.string_value().size();
    if (v.is_list()) {
      for (std::string_view item : v.list_value()) n += 8 + item.size();
    }
  }
  return n;
}

// Written last by every sync before twin pages existed (2026-12-01), so that a crash tore it
// rather than the next-seq page; restore erases it.
constexpr std::string_view kLegacyTailPage = "Z";

std::string OpPage(uint64_t seq) { return fmt::format("Q/{:020}", seq); }
std::string RecordPage(std::string_view map, std::string_view key) {
  // "R/{map size}/{map}/{key}"
  NameBuilder name(12 + map.size() + key.size());
  return name.Text("R/").Prefixed(map).Text("/").Text(key).Take();
}
std::string CounterPage(std::string_view map, std::string_view key) {
  return fmt::format("C/{}/{}/{}", map.size(), map, key);
}

}  // namespace

absl::StatusOr<std::unique_ptr<GridClient>> GridClient::Open(Env& env, GridClientOptions options) {
  if (absl::Status s = ValidateNodeId(options.node_id); !s.ok()) {
    return absl::InvalidArgumentError(fmt::format("grid client: node id: {}", s.message()));
  }
  if (options.servers.empty()) {
    return absl::InvalidArgumentError("grid client: at least one server is required");
  }
  if (options.push_interval_ms == 0 || options.sync_interval_ms == 0 ||
      options.server_timeout_ms == 0 || options.batch_ops_max == 0) {
    return absl::InvalidArgumentError("grid client: intervals and batch_ops_max must be positive");
  }
  std::unique_ptr<GridClient> client(new GridClient(env, std::move(options)));
  if (client->options_.persist) {
    if (absl::Status s = client->Restore(); !s.ok()) return s;
  }
  client->env_.network.SetHandler(client->options_.node_id,
                                  [c = client.get()](const NodeId& from, std::string_view bytes) {
                                    c->HandleMessage(from, bytes);
                                  });
  client->PushTick();
  client->SyncTick();
  return client;
}

GridClient::GridClient(Env& env, GridClientOptions options)
    : env_(env),
      options_(std::move(options)),
      hlc_(env.clock, HlcOptions{options_.node_id, options_.max_drift_ms, DriftMode::kLenient}),
      pages_(env.storage) {
  server_index_ = options_.first_server % options_.servers.size();
  online_ = options_.start_online;
}

GridClient::~GridClient() {
  env_.network.SetHandler(options_.node_id, nullptr);
  if (push_timer_) env_.timers.Cancel(*push_timer_);
  if (sync_timer_) env_.timers.Cancel(*sync_timer_);
}

void GridClient::Fail(uint64_t& counter, std::string error) {
  ++counter;
  stats_.last_error = std::move(error);
}

absl::Status GridClient::Restore() {
  restoring_ = true;
  // The twin pages first, so the clock is restored before any record merges.
  for (TwinPage* twin : {&hlc_page_, &seq_page_}) {
    if (absl::Status s = twin->Restore(env_.storage); !s.ok()) return s;
  }
  if (const auto& hlc = hlc_page_.restored(); hlc && !RestoreHlcState(hlc_, *hlc).ok()) {
    ++stats_.torn_pages_discarded;  // Whole but not a clock: the next sync writes a good one.
  }
  if (const auto& seq = seq_page_.restored()) {
    uint64_t restored = 0;
    if (ParseU64(*seq, restored)) {
      next_seq_ = std::max(next_seq_, restored);
    } else {
      ++stats_.torn_pages_discarded;
    }
  }
  for (const std::string& page : env_.storage.List()) {
    absl::StatusOr<std::string> bytes = env_.storage.Read(page);
    if (!bytes.ok()) return bytes.status();
    bool ok = false;
    if (hlc_page_.Owns(page) || seq_page_.Owns(page)) {
      continue;  // Restored above.
    } else if (page.starts_with("O/")) {
      ok = OfferOwnTotalsPage(page, *bytes);
    } else if (page == kLegacyTailPage) {
      pages_.Erase(page);
      continue;
    } else if (page.starts_with("OE/")) {
      absl::StatusOr<msg::Envelope> e = DecodeMessage(*bytes);
      ok = e.ok() && std::holds_alternative<msg::PartitionState>(e->body) &&
           RestoreOrPage(page, std::get<msg::PartitionState>(e->body));
    } else if (page.starts_with("R/") && IsPackedRecordPage(*bytes)) {
      absl::StatusOr<StoredRecord> r = DecodeRecordPage(*bytes);
      ok = r.ok() && RecordPage(r->map, r->key) == page;
      if (ok) (void)MapOf(r->map).Merge(std::move(r->key), std::move(r->record));
    } else if (page.starts_with("Q/") || page.starts_with("R/") || page.starts_with("C/")) {
      // An op page, a counter page, or a record page of a build before 2026-12-03 (a message).
      absl::StatusOr<msg::Envelope> e = DecodeMessage(*bytes);
      if (e.ok() && page[0] == 'Q' && std::holds_alternative<msg::GridOps>(e->body)) {
        auto& ops = std::get<msg::GridOps>(e->body).ops;
        ok = ops.size() == 1 && OpPage(ops[0].seq) == page;
        if (ok) {
          SG_PROBE("client.oplog_replayed_after_restart");  // An unacknowledged write survived.
          next_seq_ = std::max(next_seq_, ops[0].seq + 1);
          // The counter's page was written in the same sync; the op's totals are as good.
          if (const auto& c = ops[0].counter) {
            (void)CountersOf(ops[0].map_name).Raise(ops[0].key, options_.node_id, *c);
          }
          op_log_[ops[0].seq] = std::move(ops[0]);
        }
      } else if (e.ok() && page[0] == 'R' && std::holds_alternative<msg::PartitionState>(e->body)) {
        const auto& state = std::get<msg::PartitionState>(e->body);
        ok = state.maps.size() == 1 && state.maps[0].lww.size() == 1;
        if (ok) {
          (void)MapOf(state.maps[0].map_name)
              .Merge(state.maps[0].lww[0].key, state.maps[0].lww[0].record);
        }
      } else if (e.ok() && page[0] == 'C' && std::holds_alternative<msg::PartitionState>(e->body)) {
        const auto& state = std::get<msg::PartitionState>(e->body);
        ok = state.maps.size() == 1 && state.maps[0].counters.size() == 1;
        if (ok) {
          const msg::CounterEntry& c = state.maps[0].counters[0];
          (void)CountersOf(state.maps[0].map_name).Merge(c.key, c.state);
        }
      }
    }
    if (!ok) {
      // A torn page: only an unsynced write tears — an op-log or record page whose sync never
      // came: an entry never sent, or a record the next sync pulls again.
      SG_PROBE("client.torn_page_discarded");
      ++stats_.torn_pages_discarded;
      pages_.Erase(page);
    }
  }
  RestoreOwnTotals();
  restoring_ = false;
  BackfillOwnTotals();
  (void)SyncStorage();
  sendable_below_seq_ = next_seq_;  // Restored entries were read from storage: durable.
  restored_below_seq_ = next_seq_;
  return absl::OkStatus();
}

absl::Status GridClient::SyncStorage() {
  if (!options_.persist) {
    MarkLogged(next_seq_);
    return absl::OkStatus();
  }
  WriteChangedRecords();
  hlc_page_.Put(pages_, SaveHlcState(hlc_));
  seq_page_.Put(pages_, std::to_string(next_seq_));
  const uint64_t logged_below = next_seq_;
  absl::Status s = pages_.Sync();
  if (!s.ok()) {
    SG_PROBE("client.storage_sync_failed");  // Entries logged since stay unsent until a sync.
    WakePush();                              // The push tick retries the sync.
    events::EmitEvent(options_.events, events::StorageFailed{std::string(ToStd(s.message()))});
    return s;
  }
  MarkLogged(logged_below);
  return s;
}

void GridClient::WriteChangedRecords() {
  for (auto& [name, keys] : map_keys_) {
    const LwwMap& map = *maps_.at(name);  // MapKeys come with their map (MapOf)
    for (const std::string& key : keys.unwritten) {
      const std::string page = RecordPage(name, key);
      const LwwRecord* record = map.GetRecord(key);
      if (record == nullptr) {  // Forgotten since (a pruned tombstone's key)
        pages_.Erase(page);
        continue;
      }
      pages_.Put(page, EncodeRecordPage(name, key, *record));
    }
    keys.unwritten.clear();
  }
  for (const auto& [name, key] : unwritten_counters_) {
    const PnState* state = counters_.at(name)->Get(key);  // Counters are never forgotten.
    SG_ASSERT(state != nullptr);
    msg::MapRecords records{name, {}, {msg::CounterEntry{key, *state}}};
    msg::PartitionState one{
        0, PartitionOf(key), msg::StatePurpose::kClientLeaf, {std::move(records)}, {}};
    pages_.Put(CounterPage(name, key), EncodeMessage(msg::Envelope{options_.node_id, one}));
  }
  unwritten_counters_.clear();
  WriteChangedOrEntries();
}

void GridClient::MarkLogged(uint64_t logged_below) {
  // Every entry below `logged_below` is durable now: it may be sent, and it is owed.
  for (uint64_t seq = sendable_below_seq_; seq < logged_below; ++seq) {
    if (op_log_.contains(seq)) events::EmitEvent(options_.events, events::OpLogged{seq});
  }
  sendable_below_seq_ = std::max(sendable_below_seq_, logged_below);
}

LwwMap& GridClient::MapOf(const std::string& name) {
  auto it = maps_.find(name);
  if (it != maps_.end()) return *it->second;
  // Checked here, where the caller is on the stack, not when its record page is written.
  SG_ASSERT(IsWireMapName(name));
  // Digests come from the listener (record_digest.h): no Merkle tree.
  auto map = std::make_unique<LwwMap>(hlc_, LwwMapOptions{.merkle_depth = 1, .merkle = false});
  PartitionDigests* digests = &digests_[name];
  MapKeys* keys = &map_keys_[name];
  map->AddListener([this, digests, keys](const LwwChange& c) {
    digests->Apply(c);
    if (c.old_record == nullptr || c.new_record == nullptr) {
      auto& in_partition = keys->by_partition[PartitionOf(c.key)];
      if (c.new_record == nullptr) {
        in_partition.erase(ToAbsl(c.key));
      } else {
        InsertKey(in_partition, c.key);
      }
    }
    if (restoring_ || !options_.persist) return;
    InsertKey(keys->unwritten, c.key);
  });
  return *maps_.emplace(name, std::move(map)).first->second;
}

bool GridClient::RecordDurable(const std::string& map, std::string_view key) const {
  if (!options_.persist) return false;
  const auto keys = map_keys_.find(map);
  if (keys != map_keys_.end() && keys->second.unwritten.contains(ToAbsl(key))) return false;
  return !pages_.pending(RecordPage(map, key));
}

const absl::btree_set<std::string>& GridClient::PartitionKeys(const std::string& map,
                                                              uint32_t p) const {
  static const absl::btree_set<std::string> kNone;
  const auto keys = map_keys_.find(map);
  if (keys == map_keys_.end()) return kNone;
  const auto in_partition = keys->second.by_partition.find(p);
  return in_partition == keys->second.by_partition.end() ? kNone : in_partition->second;
}

uint64_t GridClient::MapRoot(const std::string& map) const {
  auto it = digests_.find(map);
  return it == digests_.end() ? 0 : it->second.Root();
}

const Document* GridClient::Get(const std::string& map, std::string_view key) {
  auto it = maps_.find(map);
  return it == maps_.end() ? nullptr : it->second->Get(key);
}

uint64_t GridClient::Log(msg::GridOp op) {
  const uint64_t seq = next_seq_++;
  op.seq = seq;
  ++stats_.writes;
  if (options_.persist) {
    pages_.Put(OpPage(seq), EncodeMessage(msg::Envelope{
                                options_.node_id, msg::GridOps{options_.node_id, "", 0, {op}}}));
  }
  op_log_.emplace(seq, std::move(op));
  WakePush();
  SG_CRASH_POINT("client.op_logged");  // Applied locally, op-log page written, not synced.
  // Normally durable before Set/Remove return; if the sync fails the entry stays unsent (Push)
  // until a later sync succeeds. Inside BeginWrites/EndWrites, EndWrites syncs.
  if (deferring_sync_) return seq;
  (void)SyncStorage();
  SG_CRASH_POINT("client.op_synced");  // Durable and sendable; not sent yet.
  return seq;
}

uint64_t GridClient::Set(const std::string& map, std::string key, Document value,
                         msg::WriteConcern concern) {
  const Timestamp ts = MapOf(map).Set(key, value);
  events::EmitEvent(options_.events, events::TimestampIssued{ts});
  return Log(msg::GridOp{0, concern, map, std::move(key), std::move(value), ts});
}

uint64_t GridClient::Remove(const std::string& map, std::string key, msg::WriteConcern concern) {
  const Timestamp ts = MapOf(map).Remove(key);
  events::EmitEvent(options_.events, events::TimestampIssued{ts});
  return Log(msg::GridOp{0, concern, map, std::move(key), std::nullopt, ts});
}

void GridClient::Send(msg::Body body) {
  if (!waiting_since_ms_) waiting_since_ms_ = env_.clock.NowMs();
  (void)env_.network.Send(options_.node_id, server(),
                          EncodeMessage(msg::Envelope{options_.node_id, std::move(body)}));
  WakePush();  // The answer's timeout.
}

std::vector<msg::GridOp> GridClient::TakeBatch() const {
  std::vector<msg::GridOp> batch;
  size_t bytes = 0;
  for (const auto& [seq, op] : op_log_) {
    if (batch.size() >= options_.batch_ops_max || seq >= sendable_below_seq_) break;
    if (options_.batch_bytes_max > 0) {
      bytes += ApproxBytes(op);
      if (bytes > options_.batch_bytes_max && !batch.empty()) break;
    }
    batch.push_back(op);
  }
  if (batch.empty() && !op_log_.empty() && op_log_.begin()->first >= sendable_below_seq_) {
    SG_PROBE("client.push_waits_for_durable_log");  // Nothing durable to send yet.
  }
  return batch;
}

void GridClient::Push() {
  if (op_log_.empty()) return;
  const uint64_t now = env_.clock.NowMs();
  if (options_.resend_after_ms > 0) {
    const bool resend = op_log_.begin()->first <= pushed_through_seq_;
    if (!resend) {
      resend_delay_ms_ = options_.resend_after_ms;  // the last push was acknowledged
    } else if (now - std::min(now, pushed_at_ms_) < resend_delay_ms_) {
      return;  // The last push is still unacknowledged and not yet due for a resend.
    } else {
      resend_delay_ms_ = std::min(resend_delay_ms_ * 2, options_.resend_after_ms * 8);
    }
  }
  msg::GridOps batch{options_.node_id, "", 0, TakeBatch(), ""};
  if (batch.ops.empty()) return;
  pushed_through_seq_ = batch.ops.back().seq;
  pushed_at_ms_ = now;
  ++stats_.batches_sent;
  Send(std::move(batch));
}

void GridClient::Reconnect() {
  waiting_since_ms_.reset();
  if (options_.transport == ClientTransport::kHttp) {
    http_in_flight_ = 0;  // A late answer to it is still merged.
    http_cursor_.clear();
    http_pull_due_ = true;
    Poll();
    return;
  }
  pushed_through_seq_ = 0;  // the oldest entries go to the (new) server at once
  resend_delay_ms_ = options_.resend_after_ms;
  Push();
  StartSync();
  RefreshSubscriptions();
}

void GridClient::GoOnline() {
  if (online_) return;
  if (!op_log_.empty()) SG_PROBE("client.online_with_offline_writes");
  online_ = true;
  Reconnect();
  WakePush();
}

void GridClient::PushTick() {
  push_fired_ms_ = env_.clock.NowMs();
  push_started_ = true;
  // A failed sync is retried at the push cadence: unsent entries wait for it.
  if (options_.persist && pages_.failed()) (void)SyncStorage();
  if (online_) {
    const uint64_t now = env_.clock.NowMs();
    if (waiting_since_ms_ && now - std::min(now, *waiting_since_ms_) > options_.server_timeout_ms) {
      server_index_ = (server_index_ + 1) % options_.servers.size();
      if (!op_log_.empty()) SG_PROBE("client.server_switch_with_pending_writes");
      switched_below_seq_ = next_seq_;
      ++stats_.server_switches;
      Reconnect();
    } else if (options_.transport == ClientTransport::kHttp) {
      Poll();
    } else {
      Push();
    }
  }
  // A send above may have re-armed the timer already (WakePush, one interval from now).
  if (!push_timer_ && !PushIdle()) ArmPush(options_.push_interval_ms);
}

// Idle: a WebSocket client with nothing to push, retry or wait for (or offline: going online
// pushes at once). Polling over HTTP is never idle.
bool GridClient::PushIdle() const {
  if (options_.transport != ClientTransport::kWebSocket) return false;
  if (options_.persist && pages_.failed()) return false;
  return !online_ || (!waiting_since_ms_ && op_log_.empty());
}

void GridClient::ArmPush(uint64_t delay_ms) {
  SG_ASSERT(!push_timer_);
  push_timer_ = env_.timers.Schedule(delay_ms, [this] {
    push_timer_.reset();
    PushTick();
  });
}

// Called wherever an idle client may stop being idle; the tick comes back on its old schedule
// (the last tick + k intervals), as if it had never stopped.
void GridClient::WakePush() {
  if (push_timer_ || !push_started_ || PushIdle()) return;
  const uint64_t since_ms = env_.clock.NowMs() - push_fired_ms_;
  ArmPush(options_.push_interval_ms - since_ms % options_.push_interval_ms);
}

void GridClient::SyncTick() {
  if (online_ && options_.transport == ClientTransport::kHttp) {
    http_pull_due_ = true;
    Poll();
  } else if (online_) {
    StartSync();
    RefreshSubscriptions();
  }
  if (options_.persist) (void)SyncStorage();  // Makes merged records durable.
  sync_timer_ = env_.timers.Schedule(options_.sync_interval_ms, [this] { SyncTick(); });
}

absl::Status GridClient::EndWrites() {
  deferring_sync_ = false;
  return SyncStorage();
}

void GridClient::SyncNow() {
  if (!online_) return;
  if (options_.transport == ClientTransport::kHttp) {
    http_pull_due_ = true;
    Poll();
    return;
  }
  Push();
  StartSync();
}

void GridClient::HandleMessage(const NodeId& from, std::string_view bytes) {
  if (!online_) return;
  absl::StatusOr<msg::Envelope> e = DecodeMessage(bytes);
  if (!e.ok()) {
    Fail(stats_.decode_errors, std::string(ToStd(e.status().message())));
    return;
  }
  // Over HTTP only the answer to the request in flight counts (OnHttpResponse): a late answer to
  // an older one must not hide that the current one was lost.
  if (from == server() && options_.transport == ClientTransport::kWebSocket) {
    waiting_since_ms_.reset();
  }
  std::visit(
      [&](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, msg::SyncRoot> || std::is_same_v<T, msg::PartitionDigest>) {
          // A late answer of the WebSocket sync after a switch to HTTP: no pull follows.
          if (options_.transport == ClientTransport::kHttp) return;
        }
        if constexpr (std::is_same_v<T, msg::GridAck>) {
          OnAck(body);
        } else if constexpr (std::is_same_v<T, msg::QueryUpdate>) {
          OnQueryUpdate(from, body);
        } else if constexpr (std::is_same_v<T, msg::SyncRoot>) {
          if (body.root_hash != MapRoot(body.map_name)) {
            Send(msg::SyncBucketsRequest{body.map_name, {}});
          } else {
            ++roots_matched_[body.map_name];
          }
        } else if constexpr (std::is_same_v<T, msg::PartitionDigest>) {
          OnDigest(from, body);
        } else if constexpr (std::is_same_v<T, msg::PartitionState>) {
          OnLeaf(from, body);
        } else if constexpr (std::is_same_v<T, msg::PartitionStates>) {
          for (const msg::PartitionState& state : body.states) OnLeaf(from, state);
        } else if constexpr (std::is_same_v<T, msg::HttpSyncResponse>) {
          OnHttpResponse(from, body);
        } else {
          Fail(stats_.protocol_errors,
               fmt::format("unexpected {} from '{}'", msg::BodyName(e->body), from));
        }
      },
      e->body);
}

void GridClient::OnAck(const msg::GridAck& ack) {
  for (const msg::GridOpAck& a : ack.acks) {
    auto it = op_log_.find(a.seq);
    if (it == op_log_.end() || acked_.contains(a.seq)) continue;  // Already acknowledged.
    ++stats_.acks;
    events::EmitEvent(options_.events,
                      events::AckReceived{it->second.map_name, it->second.key, a.seq, a.ts, a.level,
                                          it->second.client_ts, a.duplicate, &it->second.value,
                                          it->second.counter ? &*it->second.counter : nullptr,
                                          it->second.or_kind != msg::OrOpKind::kNone});
    if (a.seq < restored_below_seq_) SG_PROBE("client.restored_write_acked");
    if (a.level == msg::WriteConcern::kReplicated && a.seq < switched_below_seq_) {
      SG_PROBE("client.replicated_ack_after_failover");  // Sent to one server, acked via another.
    }
    if (a.duplicate) SG_PROBE("client.duplicate_ack");  // Applied before; its first ack was lost.
    if (it->second.or_kind != msg::OrOpKind::kNone) {
      OnOrAck(it->second, a);
    } else if (!a.duplicate && !it->second.counter) {
      // Adopt the server's stamp of this write at once (unless a newer local write replaced
      // it): the local copy is then the server's record, which a repair may restore.
      const msg::GridOp& op = it->second;
      LwwMap& map = MapOf(op.map_name);
      const LwwRecord* current = map.GetRecord(op.key);
      if (current != nullptr && a.ts < current->ts) SG_PROBE("client.ack_stamp_superseded");
      (void)map.Merge(op.key, LwwRecord{op.value, a.ts, std::nullopt});
    }
    acked_.insert(a.seq);
    resend_delay_ms_ = options_.resend_after_ms;  // progress: resends back to the base delay
  }
  DropAcked();
}

// Acknowledged entries leave the log as a prefix per partition only: one whose partition still
// has an older unacknowledged entry stays (and is resent with it), so an owner that lost both in
// a failover applies them again in their order — a set then a remove of the same key, an OR add
// then its remove — instead of the older alone, after the newer.
void GridClient::DropAcked() {
  if (acked_.empty()) return;
  absl::btree_set<uint32_t> blocked;  // partitions with an older unacknowledged entry
  for (auto it = op_log_.begin(); it != op_log_.end();) {
    const uint32_t p = PartitionOf(it->second.key);
    if (!acked_.contains(it->first)) {
      blocked.insert(p);
      ++it;
      continue;
    }
    if (blocked.contains(p)) {
      SG_PROBE("client.acked_op_kept_behind_older");
      ++it;
      continue;
    }
    if (options_.persist) pages_.Erase(OpPage(it->first));
    acked_.erase(it->first);
    it = op_log_.erase(it);
  }
}

}  // namespace seedgrid
