// GridServer: one member of the partitioned grid cluster (sans-IO: Env only).
//
// Membership. Servers know each other from configuration (`seeds`) and from heartbeats (every
// fifth also carries the digests of the partitions the sender owns). A server
// starts with no table and serves nothing until it has heard a heartbeat (or waited
// suspect_after_ms alone); the first table is published by the smallest live seed. Every
// `heartbeat_interval_ms` a server sends each known server a Heartbeat carrying its partition table
// and the digests of the partitions it owns. Failure detection is a plain suspicion threshold: a
// server not heard from for `suspect_after_ms` is dead (documented in docs/architecture.md; no
// phi-accrual, since simulated latency tails would only rename the threshold). The coordinator is
// the smallest live server id; when its live set differs from the table's members it publishes a
// new table (version = highest seen + 1). Every server adopts a NewerThan table from any
// heartbeat, so live members converge on one table. Leave() announces a graceful leave: the
// coordinator drops the server, which then hands every partition off and reports left().
//
// Partitions. A server holds the partitions it owns or backs up (PartitionTable). Each held
// partition has one LWW map per map name and the applied marks (highest op-log seq per client).
// Every change is written to its own storage page; the HLC is stored with every sync.
//
// Write path. A client sends GridOps to any server (its gateway); ops of partitions the gateway
// does not own are forwarded to the owner (at most kForwardHopsMax hops). The owner drops ops of a
// partition it is not ready for (a new owner first pulls the partition from every live replica of
// the previous table), applies each op whose seq is above the client's applied mark — HLC update
// with the client's timestamp, then a re-stamp with the server's own HLC — syncs storage, and
// replicates the touched records and marks to the backups. Acks (GridAck, sent to the client):
// FIRE_AND_FORGET and APPLIED at once, REPLICATED once every backup of the current table has
// acknowledged (a backup syncs before it acknowledges). A duplicate op (seq at or below the mark)
// is re-acknowledged, after re-replicating the key's current record when REPLICATED was asked.
//
// Anti-entropy. Every `anti_entropy_interval_ms` an owner sends each backup the digests of their
// shared partitions; a backup whose digest differs replies with its state, and the owner merges
// it and pushes its own state back when the digests still differ.
//
// Migration. A server holding a partition it does not replicate under the current table pushes
// the whole partition (records and marks) to the owner and every backup, and drops it once all of
// them have merged, synced and acknowledged it.
//
// Tombstone GC. An owner prunes the tombstones of a partition stamped before a horizon and
// raises the partition's watermark (pruned_below_ms) to it; the watermark travels with every full
// state, is part of the partition digest, and is persisted. The safe horizon is
//   min(every server's HLC as last reported in its heartbeat, this server's) - tombstone_grace_ms,
// taken only when every server this one knows of has been alive, and the table unchanged, for
// tombstone_grace_ms (a dead server blocks GC until it returns or leaves). Invariant: a server
// whose watermark is W holds every live record stamped before W. So, on any replica, a record
// stamped before the watermark for a key the replica lacks is a deleted value and is refused
// (that is what stops a stale replica or a long-offline client from resurrecting it), and a
// full state with watermark W proves every record before W the sender lacks dead: the receiver
// forgets it. Clients apply the same rule to the ClientLeaf states they pull.
//
// Live queries. A client's QuerySubscribe reaches its gateway, which serves it and forwards it
// to every other member; each server streams QueryUpdates for the partitions it owns and is
// ready for, with a resync (snapshot) on every coverage change and on every refresh that shows
// the client missed something (grid_queries.h).
//
// Client sync. SyncInit -> SyncRoot (XOR of the owners' digests for the map, as last gossiped);
// SyncBucketsRequest -> PartitionDigest of every partition; a pull PartitionDigest (requester =
// the client) is fanned out to the owners, which answer the client with ClientLeaf states.
//
// Bad input is counted and dropped; a restart discards pages that do not decode (torn writes)
// and counts them. Determinism: btree containers only; every message is built in key order.
#ifndef SEEDGRID_ENGINE_CLUSTER_GRID_SERVER_H_
#define SEEDGRID_ENGINE_CLUSTER_GRID_SERVER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/status/statusor.h"
#include "engine/cluster/grid_queries.h"
#include "engine/cluster/partition_table.h"
#include "engine/cluster/record_digest.h"
#include "engine/crdt/lww_map.h"
#include "engine/env/env.h"
#include "engine/hlc/hlc.h"
#include "engine/wire/messages.h"

namespace seedgrid {

inline constexpr uint8_t kForwardHopsMax = 3;

struct GridServerOptions {
  NodeId node_id;
  std::vector<NodeId> seeds;  // The initial members (the node itself included when it is one).
  bool join = false;          // Not a seed: added to the table at run time.
  uint32_t backup_count = 1;
  uint64_t heartbeat_interval_ms = 100;
  uint64_t suspect_after_ms = 1000;
  uint64_t anti_entropy_interval_ms = 500;
  uint64_t retry_interval_ms = 200;  // replication, pull and handoff resends
  uint64_t max_drift_ms = 60'000;
  // Tombstone GC: how long a tombstone outlives its write at least, and how long membership and
  // table must be stable before GC runs (longer than any merge after a heal takes).
  uint64_t tombstone_grace_ms = 10 * 60 * 1000;
  // Live queries: a subscription not refreshed by its client for this long is dropped.
  uint64_t query_lease_ms = 10'000;
  bool persist = true;
  // Observer (checkers): every first application of a client op by this server.
  std::function<void(const NodeId& client, uint64_t seq, const Timestamp& ts)> on_applied;
};

struct GridServerStats {
  uint64_t ops_applied = 0;
  uint64_t ops_duplicate = 0;
  uint64_t ops_forwarded = 0;
  uint64_t ops_dropped_not_ready = 0;
  uint64_t ops_dropped_hops = 0;
  uint64_t tables_published = 0;
  uint64_t tables_adopted = 0;
  uint64_t partitions_handed_off = 0;
  uint64_t torn_pages_discarded = 0;
  uint64_t tombstones_pruned = 0;
  uint64_t records_refused = 0;    // older than the watermark, for a key the partition lacks
  uint64_t records_forgotten = 0;  // older than a full state's watermark and absent from it
  uint64_t decode_errors = 0;
  uint64_t protocol_errors = 0;
  std::string last_error;
};

// One held partition: a map per name, applied marks, digests.
struct GridPartition {
  absl::btree_map<std::string, std::unique_ptr<LwwMap>> maps;
  // Per map (only this partition's slot is used). std::map: listeners hold pointers to the
  // values, and btree maps move their values on insert.
  std::map<std::string, PartitionDigests> digests;
  absl::btree_map<std::string, uint64_t> applied;  // client -> highest seq applied
  uint64_t pruned_below_ms = 0;                    // tombstone GC watermark (see the header)
  // Maps and marks combined; cached until Touch() (every change calls it).
  uint64_t Digest(uint32_t partition) const;
  uint64_t MapDigest(const std::string& map, uint32_t partition) const;
  void Touch() { digest_stale = true; }
  mutable bool digest_stale = true;
  mutable uint64_t digest_cached = 0;
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
  // Announces a graceful leave (see the header comment).
  void Leave() { leaving_ = true; }
  // True once a leaving server is out of the table and holds no partition.
  bool left() const;

  const NodeId& node_id() const { return options_.node_id; }
  const PartitionTable& table() const { return table_; }
  bool joined() const { return joined_; }
  // nullptr when the partition is not held.
  const GridPartition* partition(uint32_t p) const { return partitions_[p].get(); }
  bool ready(uint32_t p) const { return !not_ready_.contains(p); }
  size_t pending_replications() const { return pending_.size(); }
  Hlc& hlc() { return hlc_; }
  const GridServerStats& stats() const { return stats_; }
  const GridQueryHost& queries() const { return queries_; }

 private:
  struct PendingReplication {
    uint32_t partition;
    msg::PartitionState state;
    absl::btree_set<NodeId> acked;
    NodeId client;
    std::vector<msg::GridOpAck> acks;
    uint64_t sent_ms;
  };
  struct Handoff {
    uint32_t partition;
    uint64_t sent_ms;
    uint64_t table_version;            // the replicas below are this table's
    absl::btree_set<NodeId> awaiting;  // replicas that have not acknowledged yet
  };

  GridServer(Env& env, GridServerOptions options);
  absl::Status Restore();
  void Send(const NodeId& to, msg::Body body);
  void Fail(uint64_t& counter, std::string error);

  // Membership and tables.
  void Tick();
  void AntiEntropy();
  absl::btree_set<NodeId> Alive();
  void Install(PartitionTable table);
  void OnHeartbeat(const NodeId& from, const msg::Heartbeat& m);

  // Partitions and storage.
  GridPartition& Hold(uint32_t p);
  void Drop(uint32_t p);
  LwwMap& MapOf(uint32_t p, const std::string& name);
  // Merges records and marks; returns how many records changed.
  size_t MergeState(const msg::PartitionState& state);
  msg::PartitionState StateOf(uint32_t p, msg::StatePurpose purpose, uint64_t id,
                              const std::string& only_map = "") const;
  void SyncStorage();
  // Tombstone GC (header comment): the owner's pruning, and a full state's watermark applied.
  void CollectGarbage();
  void AdoptWatermark(const msg::PartitionState& full);
  void SetWatermark(uint32_t p, uint64_t w);

  // Protocol.
  void OnOps(const NodeId& from, msg::GridOps m);
  // Applies one partition's ops; acks due now and replication messages are appended, to be sent
  // once storage is synced.
  void ApplyOwned(uint32_t p, const msg::GridOps& m, std::vector<msg::GridOp*>& ops,
                  std::vector<msg::GridOpAck>& now_acks,
                  std::vector<std::pair<NodeId, msg::PartitionState>>& replicate);
  void OnState(const NodeId& from, const msg::PartitionState& m);
  void OnAck(const NodeId& from, const msg::Ack& m);
  // Every backup of the partition under the current table has acknowledged.
  bool AllBackupsAcked(const PendingReplication& r) const;
  void OnDigest(const NodeId& from, const msg::PartitionDigest& m);
  void OnSyncInit(const NodeId& from, const msg::SyncInit& m);
  void OnBucketsRequest(const NodeId& from, const msg::SyncBucketsRequest& m);
  // Every partition's digest of `map` from its owner as last gossiped (own partitions: live).
  msg::PartitionDigest DirectoryOf(const std::string& map) const;
  // Live queries (grid_queries.h).
  void OnQuerySubscribe(const NodeId& from, const msg::QuerySubscribe& m);
  Coverage CoveredNow() const;
  void UpdateCoverage();
  void FlushQueries();

  Env& env_;
  GridServerOptions options_;
  Hlc hlc_;
  GridServerStats stats_;
  PartitionTable table_;
  uint64_t version_seen_ = 0;
  bool joined_ = false;
  bool leaving_ = false;
  uint64_t opened_ms_ = 0;
  uint64_t next_id_ = 1;
  uint64_t ticks_ = 0;
  absl::btree_map<NodeId, uint64_t> last_heard_ms_;
  absl::btree_map<NodeId, uint64_t> peer_hlc_ms_;  // from heartbeats (GC horizon)
  absl::btree_set<NodeId> stable_alive_;           // the live set since stable_since_ms_
  uint64_t stable_version_ = 0;
  uint64_t stable_since_ms_ = 0;
  uint64_t last_gc_ms_ = 0;
  absl::btree_set<NodeId> leaving_peers_;
  std::vector<std::unique_ptr<GridPartition>> partitions_;        // kPartitionCount slots
  absl::btree_map<uint32_t, absl::btree_set<NodeId>> not_ready_;  // awaiting a pull from
  GridQueryHost queries_{env_.clock, partitions_};
  std::tuple<uint64_t, NodeId, size_t> coverage_signature_;  // last coverage computed for
  absl::btree_map<uint64_t, PendingReplication> pending_;
  absl::btree_map<uint64_t, Handoff> handoffs_;
  // Gossiped digests: owner -> map -> partition -> digest (from its last heartbeat).
  absl::btree_map<NodeId, absl::btree_map<std::string, absl::btree_map<uint32_t, uint64_t>>>
      directory_;
  absl::btree_set<std::string> map_names_;  // every map name seen (for gossip and client sync)
  bool restoring_ = false;
  bool dirty_ = false;  // unsynced page writes
  std::optional<Timers::TimerId> tick_timer_;
  std::optional<Timers::TimerId> anti_entropy_timer_;
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_CLUSTER_GRID_SERVER_H_
