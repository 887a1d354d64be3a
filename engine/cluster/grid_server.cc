#include "engine/cluster/grid_server.h"

#include <fmt/format.h>

#include <algorithm>

#include "absl/container/btree_map.h"
#include "engine/base/assert.h"
#include "engine/base/buggify.h"
#include "engine/base/strings.h"
#include "engine/wire/codec.h"

namespace seedgrid {

static_assert(kWirePartitionCount == kPartitionCount);

absl::StatusOr<std::unique_ptr<GridServer>> GridServer::Open(Env& env, GridServerOptions options) {
  if (absl::Status s = ValidateOptions(options); !s.ok()) return s;
  std::unique_ptr<GridServer> server(new GridServer(env, std::move(options)));
  if (server->store_) {
    if (absl::Status s = server->Restore(); !s.ok()) return s;
  }
  server->env_.network.SetHandler(server->options_.node_id,
                                  [s = server.get()](const NodeId& from, std::string_view bytes) {
                                    s->HandleMessage(from, bytes);
                                  });
  server->Tick();
  server->AntiEntropy();
  return server;
}

GridServer::GridServer(Env& env, GridServerOptions options)
    : env_(env),
      options_(std::move(options)),
      hlc_(env.clock, HlcOptions{options_.node_id, options_.max_drift_ms, DriftMode::kLenient}),
      store_(options_.persist ? std::make_optional<PartitionStore>(env.storage, options_.node_id)
                              : std::nullopt),
      partitions_(
          hlc_, store_ ? &*store_ : nullptr,
          [this](uint32_t p, const std::string& map, const LwwChange* c, const OrChange* o) {
            queries_.OnPartitionChange(p, map, c, o);
          },
          options_.events),
      queries_(env.clock, partitions_.slots()),
      membership_(MembershipOptions{options_.node_id, options_.seeds, options_.backup_count,
                                    options_.suspect_after_ms},
                  env.clock.NowMs()),
      writes_(hlc_, partitions_),
      replication_(options_.retry_interval_ms),
      digests_(partitions_),
      gc_(options_.tombstone_grace_ms) {}

GridServer::~GridServer() {
  env_.network.SetHandler(options_.node_id, nullptr);
  if (tick_timer_) env_.timers.Cancel(*tick_timer_);
  if (anti_entropy_timer_) env_.timers.Cancel(*anti_entropy_timer_);
}

bool GridServer::left() const {
  return membership_.leaving() && !membership_.table().Contains(options_.node_id) &&
         partitions_.empty();
}

GridServerStats GridServer::stats() const {
  GridServerStats s = stats_;
  const WriteStats& w = writes_.stats();
  s.ops_applied = w.ops_applied;
  s.ops_duplicate = w.ops_duplicate;
  s.ops_forwarded = w.ops_forwarded;
  s.ops_dropped_not_ready = w.ops_dropped_not_ready;
  s.ops_dropped_hops = w.ops_dropped_hops;
  s.tables_published = membership_.stats().tables_published;
  s.tables_adopted = membership_.stats().tables_adopted;
  const PartitionStats& p = partitions_.stats();
  s.tombstones_pruned = p.tombstones_pruned;
  s.records_refused = p.records_refused;
  s.records_forgotten = p.records_forgotten;
  s.protocol_errors += p.protocol_errors;
  http_.AddTo(s);
  if (s.last_error.empty()) s.last_error = p.last_error;
  if (store_) s.storage = store_->stats();
  return s;
}

void GridServer::Send(const NodeId& to, msg::Body body) {
  if (to == options_.node_id) return DeliverToSelf(std::move(body));  // HTTP sync acks, leaves
  (void)env_.network.Send(options_.node_id, to,
                          EncodeMessage(msg::Envelope{options_.node_id, std::move(body)}));
}

// Components address their effects by node id; an HTTP sync's acks and leaves for this server's
// own open requests come back to it as messages to itself (Send -> DeliverToSelf), so a gateway
// that also owns a partition answers through the same path as any other owner. Everything else
// leaves through env.network.
void GridServer::Dispatch(Effects effects) {
  for (events::NodeEvent& e : effects.events) Emit(std::move(e));
  SendEach(effects.messages);  // Below: a run of equal bodies is encoded once.
}

// ------------------------------------------------------------------ storage

absl::Status GridServer::Restore() {
  partitions_.set_restoring(true);
  absl::StatusOr<uint64_t> torn = store_->Restore(PartitionStore::RestoreSink{
      .mark = [this](uint32_t p, const std::string& client,
                     uint64_t seq) { (void)partitions_.RaiseMark(p, client, seq); },
      .hlc = [this](std::string_view bytes) { return RestoreHlcState(hlc_, bytes).ok(); },
      .record = [this](const msg::PartitionState& s) { (void)partitions_.MergeState(s); },
      .watermark = [this](uint32_t p, uint64_t w) { partitions_.RestoreWatermark(p, w); }});
  partitions_.set_restoring(false);
  if (!torn.ok()) return torn.status();
  stats_.torn_pages_discarded += *torn;
  (void)SyncStorage();  // The torn pages' erasure; a failure is retried with the next sync.
  return absl::OkStatus();
}

absl::Status GridServer::SyncStorage() {
  if (!store_) return absl::OkStatus();
  absl::Status s = store_->Sync(hlc_);
  if (!s.ok()) Emit(events::StorageFailed{std::string(ToStd(s.message()))});
  return s;
}

bool GridServer::MayAcknowledge() {
  // After a failed write or sync nothing is acknowledged until a sync succeeds again.
  return !store_ || !store_->failed() || SyncStorage().ok();
}

void GridServer::Drop(uint32_t p) {
  if (!partitions_.held(p)) return;
  if (queries_.coverage()[p]) {  // Live-query rows point into the partition: take them out first.
    Coverage covered = queries_.coverage();
    covered.reset(p);
    queries_.SetCoverage(covered);
  }
  partitions_.Drop(p);
  (void)SyncStorage();  // A failed erase is re-tried; a restart would hand the partition off again.
}

// ------------------------------------------------------------------ timers

void GridServer::Tick() {
  const uint64_t now = env_.clock.NowMs();
  const absl::btree_set<NodeId> alive = membership_.Tick(now);
  Dispatch(membership_.Heartbeat(std::max(hlc_.last().millis, now), [this] {
    return partitions_.OwnedDigests(membership_.table(), options_.node_id);
  }));
  if (membership_.joined() && !membership_.table().empty()) {
    Dispatch(membership_.ReadinessPulls(alive));
    Dispatch(replication_.Tick(now, membership_, partitions_, MayAcknowledge()));
  }
  queries_.Expire(now, options_.query_lease_ms);
  Dispatch(queries_.Flush(membership_, hlc_, /*readiness_due=*/true));
  uint64_t delay = options_.heartbeat_interval_ms;
  if (SG_BUGGIFY()) delay = std::max<uint64_t>(1, delay / 4);
  tick_timer_ = env_.timers.Schedule(delay, [this] { Tick(); });
}

void GridServer::AntiEntropy() {
  if (membership_.joined() && !membership_.table().empty() && !SG_BUGGIFY()) {
    ++stats_.anti_entropy_rounds;
    Dispatch(digests_.AntiEntropy(membership_));
    CollectGarbage();
    FlushQueries();
  }
  anti_entropy_timer_ =
      env_.timers.Schedule(options_.anti_entropy_interval_ms, [this] { AntiEntropy(); });
}

void GridServer::CollectGarbage() {
  const std::optional<std::vector<uint32_t>> raised =
      gc_.Run(env_.clock.NowMs(), hlc_.last().millis, membership_, partitions_);
  if (!raised) return;
  SG_CRASH_POINT("cluster.gc_pruned");  // Tombstones pruned, watermarks raised: nothing synced.
  // Every round syncs (client repairs merged since are made durable too). A watermark leaves
  // this server only once durable; anti-entropy carries it later otherwise.
  if (!SyncStorage().ok()) return;
  SG_CRASH_POINT("cluster.gc_synced");  // Durable; the backups have not heard of it.
  // The backups learn the watermark now rather than at the next anti-entropy round, each in
  // one batch.
  absl::btree_map<NodeId, std::vector<msg::PartitionState>> pushes;
  for (uint32_t p : *raised) {
    const msg::PartitionState state =
        partitions_.StateOf(p, msg::StatePurpose::kSyncPush, 0, membership_.ready(p));
    for (const NodeId& b : membership_.table().replicas(p).backups) pushes[b].push_back(state);
  }
  Effects out;
  for (auto& [backup, states] : pushes) out.SendStates(backup, std::move(states));
  Dispatch(std::move(out));
}

// ------------------------------------------------------------------ messages

void GridServer::HandleMessage(const NodeId& from, std::string_view bytes) {
  absl::StatusOr<msg::Envelope> e = DecodeMessage(bytes);
  if (!e.ok()) {
    Fail(stats_.decode_errors, std::string(ToStd(e.status().message())));
    return;
  }
  const Membership& m = membership_;
  std::string error;
  std::visit(
      [&](auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, msg::GridOps>) {
          // Only a server forwarding an HTTP sync's ops may route acks elsewhere.
          if (!membership_.table().Contains(from)) body.reply_to.clear();
          OnOps(std::move(body));
        } else if constexpr (std::is_same_v<T, msg::PartitionState>) {
          OnStates(from, std::span(&body, 1));
        } else if constexpr (std::is_same_v<T, msg::PartitionStates>) {
          OnStates(from, body.states);
        } else if constexpr (std::is_same_v<T, msg::Ack>) {
          OnAck(from, body);
        } else if constexpr (std::is_same_v<T, msg::PartitionDigest>) {
          Dispatch(digests_.OnDigest(from, body, m, error));
        } else if constexpr (std::is_same_v<T, msg::Heartbeat>) {
          OnHeartbeat(from, body);
        } else if constexpr (std::is_same_v<T, msg::SyncInit>) {
          Dispatch(digests_.OnSyncInit(from, body, m));
        } else if constexpr (std::is_same_v<T, msg::SyncBucketsRequest>) {
          Dispatch(digests_.OnBucketsRequest(from, body, m));
        } else if constexpr (std::is_same_v<T, msg::QuerySubscribe>) {
          if (body.requester == options_.node_id) {  // would stream to itself
            error = fmt::format("QuerySubscribe from '{}' naming this server as requester", from);
          } else {
            Dispatch(queries_.Route(from, body, m, env_.clock.NowMs()));
          }
        } else if constexpr (std::is_same_v<T, msg::GridAck>) {
          if (body.client.empty() || !membership_.table().Contains(from)) {
            error = fmt::format("GridAck from '{}', not an owner answering here", from);
          } else {
            http_.OnAck(body);  // An owner acknowledging ops of an HTTP sync here.
          }
        } else if constexpr (std::is_same_v<T, msg::HttpSyncRequest>) {
          if (body.client != from) {
            error = fmt::format("HttpSyncRequest for '{}' from '{}'", body.client, from);
          } else {
            HttpSync(std::move(body),
                     [this, from](msg::HttpSyncResponse r) { Send(from, std::move(r)); });
          }
        } else {
          error = fmt::format("unexpected {} from '{}'", msg::BodyName(e->body), from);
        }
      },
      e->body);
  if (!error.empty()) Fail(stats_.protocol_errors, std::move(error));
  FlushQueries();
}

void GridServer::OnHeartbeat(const NodeId& from, const msg::Heartbeat& m) {
  membership_.OnHeartbeat(from, m, env_.clock.NowMs());
  if (m.has_digests) digests_.OnGossip(from, m.digests);
}

void GridServer::OnOps(msg::GridOps m) {
  if (!membership_.joined() || membership_.table().empty()) return;  // The client retries.
  WriteResult r = writes_.OnOps(std::move(m), membership_, replication_, env_.clock.NowMs());
  for (events::NodeEvent& e : r.now.events) Emit(std::move(e));
  SG_CRASH_POINT("cluster.ops_applied");  // Applied in memory, pages written, not synced.
  // Durable before any acknowledgement or replication leaves: they wait for the group commit.
  QueueForCommit(std::move(r.after_sync), std::move(r.pending));
  SendEach(r.now.messages);
}

void GridServer::QueueForCommit(Effects after_sync, std::vector<PendingReplication> pending) {
  commit_effects_.Append(std::move(after_sync));
  for (PendingReplication& p : pending) commit_pending_.push_back(std::move(p));
  ++commit_messages_;
  if (!commit_timer_.armed()) commit_timer_.Arm(0, [this] { Commit(); });
}

// One sync for everything queued since the last commit. A failed sync withholds it all: clients
// and owners resend, and their duplicates are acknowledged once a sync succeeds.
void GridServer::Commit() {
  commit_timer_.Fired();
  if (commit_messages_ > 1) SG_PROBE("cluster.commit_shared_by_messages");
  commit_messages_ = 0;
  Effects effects = std::exchange(commit_effects_, {});
  std::vector<PendingReplication> pending = std::exchange(commit_pending_, {});
  std::vector<StateAckDue> state_acks = std::exchange(commit_state_acks_, {});
  const bool synced = SyncStorage().ok();
  for (StateAckDue& a : state_acks) {
    if (a.purpose == msg::StatePurpose::kHandoff) membership_.OnPulled(a.partition, a.from);
    if (a.id == 0) continue;
    if (!synced) {  // The owner resends; the duplicate is acknowledged once a sync succeeds.
      ++stats_.acks_withheld;
      continue;
    }
    Emit(events::StateAcknowledged{a.from, a.partition, a.id});
    Send(a.from, msg::Ack{a.id, 0, ""});
    SG_CRASH_POINT("cluster.state_acked");
  }
  if (synced) {
    Dispatch(std::move(effects));
    for (PendingReplication& p : pending) (void)replication_.Track(std::move(p));
  } else if (!effects.empty()) {
    SG_PROBE("cluster.ack_withheld_on_failed_sync");
    ++stats_.acks_withheld;
  }
  // The commit is over: what the sync covered is acknowledged and replicated (or, after a failed
  // sync, withheld).
  SG_CRASH_POINT("cluster.ops_acked");
}

void GridServer::OnStates(const NodeId& from, std::span<const msg::PartitionState> states) {
  // Every state is merged, then each is answered (or acknowledged at the group commit, after its
  // one sync) exactly as if it had come alone.
  std::vector<const msg::PartitionState*> merged;
  for (const msg::PartitionState& m : states) {
    if (MergeIncoming(from, m)) merged.push_back(&m);
  }
  if (merged.empty()) return;
  SG_CRASH_POINT("cluster.state_merged");  // A backup or handoff target merged, not synced.
  for (const msg::PartitionState* m : merged) AfterMerge(from, *m);
  QueueForCommit({}, {});  // Every merge is synced by the commit, acknowledged or not.
}

bool GridServer::MergeIncoming(const NodeId& from, const msg::PartitionState& m) {
  using Purpose = msg::StatePurpose;
  if (m.partition >= kPartitionCount) {
    Fail(stats_.protocol_errors, fmt::format("partition {} from '{}'", m.partition, from));
    return false;
  }
  const PartitionTable& table = membership_.table();
  if (m.purpose == Purpose::kClientLeaf) {  // An owner answering a pull of an HTTP sync here.
    if (!table.Contains(from)) {
      Fail(stats_.protocol_errors, fmt::format("ClientLeaf state from '{}'", from));
    } else {
      http_.OnLeaf(m);
    }
    return false;
  }
  if (m.purpose == Purpose::kClientRepair && !table.Contains(from) &&
      (!m.applied.empty() || m.pruned_below_ms != 0)) {
    // A client gives back records, never applied marks or a watermark (they would let it make
    // another client's ops look applied, or hide live records).
    msg::PartitionState records_only = m;
    records_only.applied.clear();
    records_only.pruned_below_ms = 0;
    return MergeIncoming(from, records_only);
  }
  if (m.purpose == Purpose::kClientRepair) {
    // From a client (at its gateway) or forwarded by one: the owner merges it.
    const bool at_gateway = !table.empty() && !table.Contains(from);
    if (at_gateway && table.owner(m.partition) != options_.node_id) {
      Send(table.owner(m.partition), m);
      return false;
    }
    // A client gives back server-stamped records the owner lost (e.g. with its disk).
    if (partitions_.MergeState(m) > 0) SG_PROBE("cluster.client_repair_restored_records");
    return false;
  }
  (void)partitions_.MergeState(m);
  return true;
}

void GridServer::AfterMerge(const NodeId& from, const msg::PartitionState& m) {
  using Purpose = msg::StatePurpose;
  if (m.purpose == Purpose::kReplicate || m.purpose == Purpose::kHandoff) {
    // Acknowledged (and a handoff counted as pulled) at the commit, after the sync.
    commit_state_acks_.push_back(StateAckDue{from, m.partition, m.id, m.purpose});
    return;
  }
  if (m.purpose != Purpose::kSyncReply) return;  // kSyncPush: merged.
  // The sender's digest is that of the state it sent; push back when ours still differs.
  const GridPartition* part = partitions_.get(m.partition);
  const uint64_t ours = part ? part->Digest() : 0;
  if (ours != StateDigest(m)) {
    SG_PROBE("cluster.sync_pushed_back");  // The owner lacked something the backup had too.
    Send(from,
         partitions_.StateOf(m.partition, Purpose::kSyncPush, 0, membership_.ready(m.partition)));
  }
}

void GridServer::OnAck(const NodeId& from, const msg::Ack& m) {
  Replication::AckResult r =
      replication_.OnAck(from, m, membership_, partitions_, MayAcknowledge());
  Dispatch(std::move(r.effects));
  if (!r.handed_off) return;
  SG_CRASH_POINT("cluster.handoff_acked");  // Every replica holds the partition; not dropped yet.
  Drop(*r.handed_off);
  ++stats_.partitions_handed_off;
  Emit(events::PartitionHandedOff{*r.handed_off});
}

// ------------------------------------------------------------------ HTTP sync

void GridServer::HttpSync(msg::HttpSyncRequest request, HttpSyncDone done) {
  if (!membership_.joined() || membership_.table().empty()) {
    http_.Refuse(request, 503, "this server has not joined a cluster yet; retry", done);
    return;
  }
  if (http_.open() >= options_.http_sync_open_max) {
    http_.Refuse(request, 503, "too many HTTP syncs in progress; retry", done);
    return;
  }
  if (absl::Status bad = ValidateHttpSyncRequest(request, options_.http_sync_ops_max,
                                                 membership_.table(), options_.seeds);
      !bad.ok()) {
    http_.Refuse(request, 400, std::string(ToStd(bad.message())), done);
    return;
  }
  absl::StatusOr<HttpPull> pull = digests_.PullForHttp(
      request.marks, request.cursor, options_.http_sync_partitions_max,
      [this] { return http_.NextPullId(); }, membership_);
  if (!pull.ok()) {
    http_.Refuse(request, 400, std::string(ToStd(pull.status().message())), done);
    return;
  }
  Dispatch(std::move(pull->requests));
  for (msg::PartitionState& repair : request.repairs) repair.id = 0;
  // Records only (MergeIncoming drops a client's applied marks and watermark).
  OnStates(request.client, request.repairs);
  std::vector<uint64_t> seqs;
  for (const msg::GridOp& op : request.ops) seqs.push_back(op.seq);
  // Open before the ops go: acks of partitions owned here are delivered during OnOps.
  const NodeId client = request.client;
  std::vector<msg::GridOp> ops = std::move(request.ops);
  http_.Open(request, seqs, *std::move(pull), std::move(done));
  if (!ops.empty()) {
    OnOps(msg::GridOps{client, "", 0, std::move(ops), options_.node_id});
  }
}

void GridServer::DeliverToSelf(msg::Body body) {
  if (auto* ack = std::get_if<msg::GridAck>(&body)) {
    http_.OnAck(*ack);
  } else if (auto* leaf = std::get_if<msg::PartitionState>(&body);
             leaf != nullptr && leaf->purpose == msg::StatePurpose::kClientLeaf) {
    http_.OnLeaf(std::move(*leaf));
  } else if (auto* leaves = std::get_if<msg::PartitionStates>(&body)) {
    for (msg::PartitionState& state : leaves->states) {
      SG_ASSERT(state.purpose == msg::StatePurpose::kClientLeaf);
      http_.OnLeaf(std::move(state));
    }
  } else {
    SG_ASSERT(false && "a grid server sends itself only HTTP sync acks and leaves");
  }
}

void GridServer::Fail(uint64_t& counter, std::string error) {
  ++counter;
  stats_.last_error = std::move(error);
}

// ------------------------------------------------------------------ live queries

void GridServer::FlushQueries() {
  Dispatch(queries_.Flush(membership_, hlc_, /*readiness_due=*/false));
}

// A run of equal bodies (a heartbeat, a forwarded subscription to every member) is encoded once:
// the envelope names the sender, not the receiver. Comparing is cheaper than encoding, and two
// different bodies of one kind differ within their first fields.
void GridServer::SendEach(std::vector<std::pair<NodeId, msg::Body>>& messages) {
  std::optional<msg::Envelope> encoded;
  std::string bytes;
  for (auto& [to, body] : messages) {
    if (to == options_.node_id) {
      DeliverToSelf(std::move(body));  // HTTP sync acks, leaves (see Dispatch)
      continue;
    }
    if (!encoded || !(encoded->body == body)) {
      encoded.emplace(msg::Envelope{options_.node_id, std::move(body)});
      bytes = EncodeMessage(*encoded);
    }
    (void)env_.network.Send(options_.node_id, to, bytes);
  }
}

}  // namespace seedgrid
