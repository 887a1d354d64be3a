// GridServer: one member of the partitioned grid cluster (sans-IO: Env only). The protocol —
// membership, write path, replication, anti-entropy, migration, tombstone GC, live queries,
// client sync, storage errors — is told once, in docs/architecture.md ("The grid").
//
// This class is dispatch only: it owns the components below, routes each message and timer to
// them, syncs storage where they ask, and sends and emits what they return. Components hold no
// reference to the server.
//   grid_partition.h   held partitions: maps, marks, watermark rules, merge
//   partition_store.h  the server's pages (names, restore, sync) over PageStore
//   membership.h       heartbeats, suspicion, tables, readiness
//   write_path.h       client ops: forward, apply once, acks by write concern
//   replication.h      pending REPLICATED acks, handoffs, resends
//   digest_sync.h      anti-entropy digests, gossiped directory, client sync and pulls
//   tombstone_gc.h     the GC horizon (pure) and pruning rounds
//   grid_queries.h     live queries
//   http_sync.h        HTTP sync requests at their gateway
// A new periodic job: a component method taking now_ms and returning Effects, called from
// Tick() (heartbeat cadence) or AntiEntropy() (anti-entropy cadence).
//
// Storage rule: no GridAck, replication state or state Ack leaves before a successful sync of
// what it acknowledges, and no acknowledgement at all while the storage is failed (a write or
// sync failed and no sync has succeeded since); the effect stays in memory and the peer's retry
// is answered once a sync succeeds (engine/env/page_store.h).
#ifndef SEEDGRID_ENGINE_CLUSTER_GRID_SERVER_H_
#define SEEDGRID_ENGINE_CLUSTER_GRID_SERVER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/cluster/digest_sync.h"
#include "engine/cluster/effects.h"
#include "engine/cluster/grid_options.h"
#include "engine/cluster/grid_partition.h"
#include "engine/cluster/grid_queries.h"
#include "engine/cluster/http_sync.h"
#include "engine/cluster/membership.h"
#include "engine/cluster/partition_store.h"
#include "engine/cluster/replication.h"
#include "engine/cluster/tombstone_gc.h"
#include "engine/cluster/write_path.h"
#include "engine/env/env.h"
#include "engine/events/node_events.h"
#include "engine/hlc/hlc.h"

namespace seedgrid {

// A one-shot timer that is cancelled when it goes away (the server's group commit).
class OwnedTimer {
 public:
  explicit OwnedTimer(Timers& timers) : timers_(timers) {}
  ~OwnedTimer() { Cancel(); }
  OwnedTimer(const OwnedTimer&) = delete;
  OwnedTimer& operator=(const OwnedTimer&) = delete;
  bool armed() const { return id_.has_value(); }
  // REQUIRES: !armed(). `fire` runs once, after Fired() was called by it.
  void Arm(uint64_t delay_ms, std::function<void()> fire) {
    id_ = timers_.Schedule(delay_ms, std::move(fire));
  }
  void Fired() { id_.reset(); }
  void Cancel() {
    if (id_) timers_.Cancel(*id_);
    id_.reset();
  }

 private:
  Timers& timers_;
  std::optional<Timers::TimerId> id_;
};

class GridServer {
 public:
  // Restores from env.storage, installs the network handler and arms the timers.
  // InvalidArgument for bad options.
  static absl::StatusOr<std::unique_ptr<GridServer>> Open(Env& env, GridServerOptions options);
  ~GridServer();
  GridServer(const GridServer&) = delete;
  GridServer& operator=(const GridServer&) = delete;

  void HandleMessage(const NodeId& from, std::string_view bytes);
  // One HTTP sync request (http_sync.h; POST /v1/sync, or an HttpSyncRequest message in the
  // simulator). `done` is called exactly once — possibly before this returns — unless the server
  // is destroyed first.
  void HttpSync(msg::HttpSyncRequest request, HttpSyncDone done);
  // Announces a graceful leave: the coordinator drops this server, which hands every partition
  // off and then reports left().
  void Leave() { membership_.Leave(); }
  bool left() const;
  // Peers that announced a graceful leave (their heartbeats say so).
  const absl::btree_set<NodeId>& leaving_peers() const { return membership_.leaving_peers(); }

  const NodeId& node_id() const { return options_.node_id; }
  const PartitionTable& table() const { return membership_.table(); }
  bool joined() const { return membership_.joined(); }
  // nullptr when the partition is not held.
  const GridPartition* partition(uint32_t p) const { return partitions_.get(p); }
  bool ready(uint32_t p) const { return membership_.ready(p); }
  size_t pending_replications() const { return replication_.pending(); }
  Hlc& hlc() { return hlc_; }
  const Hlc& hlc() const { return hlc_; }
  GridServerStats stats() const;
  const WriteStats& write_stats() const { return writes_.stats(); }
  const GridQueryHost& queries() const { return queries_; }

 private:
  GridServer(Env& env, GridServerOptions options);
  absl::Status Restore();
  // OK when everything written so far is durable; a failure is counted and reported.
  absl::Status SyncStorage();
  // The storage is not failed, or a retried sync just succeeded: acknowledgements may leave.
  bool MayAcknowledge();
  void Dispatch(Effects effects);
  void Send(const NodeId& to, msg::Body body);
  void SendEach(std::vector<std::pair<NodeId, msg::Body>>& messages);
  // Acks and leaves this server addressed to itself (an HTTP sync it is the gateway of).
  void DeliverToSelf(msg::Body body);
  void Emit(events::NodeEvent event) { events::EmitEvent(options_.events, std::move(event)); }
  void Fail(uint64_t& counter, std::string error);

  void Tick();
  void AntiEntropy();
  void CollectGarbage();
  void Drop(uint32_t p);
  void OnOps(msg::GridOps m);
  // Incoming states (a PartitionState, or a PartitionStates batch): merged, then each answered, or
  // acknowledged at the group commit, as if it had come alone.
  void OnStates(const NodeId& from, std::span<const msg::PartitionState> states);
  // False when the state needs nothing after the sync (a leaf, a repair, a protocol error).
  bool MergeIncoming(const NodeId& from, const msg::PartitionState& m);
  void AfterMerge(const NodeId& from, const msg::PartitionState& m);
  void OnAck(const NodeId& from, const msg::Ack& m);
  // Group commit: what must follow a sync (acks, replication states, tracked replications, a
  // backup's acks of states) is queued by every message handled until the commit timer (0 ms)
  // fires; one sync then covers them all. Under load on the real network that is every frame read
  // in one turn of the event loop; in the simulator usually one message.
  void QueueForCommit(Effects after_sync, std::vector<PendingReplication> pending);
  void Commit();
  void OnHeartbeat(const NodeId& from, const msg::Heartbeat& m);
  void FlushQueries();

  Env& env_;
  GridServerOptions options_;
  Hlc hlc_;
  GridServerStats stats_;                // the server's own counters; stats() adds the components'
  std::optional<PartitionStore> store_;  // engaged when persisting
  PartitionSet partitions_;
  GridQueryHost queries_;
  HttpSyncHost http_{env_.timers, options_.http_sync_wait_ms};
  Membership membership_;
  WritePath writes_;
  Replication replication_;
  DigestSync digests_;
  TombstoneGc gc_;
  std::optional<Timers::TimerId> tick_timer_;
  std::optional<Timers::TimerId> anti_entropy_timer_;
  struct StateAckDue {  // a replicated or handed-off state merged here, acknowledged at commit
    NodeId from;
    uint32_t partition;
    uint64_t id;
    msg::StatePurpose purpose;
  };
  Effects commit_effects_;
  std::vector<PendingReplication> commit_pending_;
  std::vector<StateAckDue> commit_state_acks_;
  uint64_t commit_messages_ = 0;          // queued for the next commit (a probe's count)
  OwnedTimer commit_timer_{env_.timers};  // last: cancelled before the rest goes
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_CLUSTER_GRID_SERVER_H_
