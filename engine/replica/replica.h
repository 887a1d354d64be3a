// Replica: one node's named CRDTs plus replication with peers over the wire format.
//
// Local writes go through the maps returned by lww() / orm() / counter(); their change events
// fill an outbox that Flush() sends to peers as OP_BATCH (LWW records, OR key states) and
// PnCounterState messages. Anti-entropy is a Merkle pull: SyncWith(peer) sends SYNC_INIT for each
// map; the peer answers with its root; the puller descends (SyncBucketsRequest -> SyncBuckets)
// only into children whose hashes differ and are non-empty on the peer, and asks for whole leaves
// (SyncLeafRequest -> SyncLeaf), merging what comes back. A pull in both directions converges two
// replicas whatever messages were lost before, as long as the sync messages arrive. SYNC_INIT
// carries the initiator's root, and a responder whose root differs pulls back in the same
// exchange, so one SyncWith repairs both sides (and teaches the responder maps it never saw).
//
// Bad input (undecodable bytes, unknown maps in replies, depth mismatches, merge errors such as
// drift) is counted in stats() and answered or dropped, never a crash; the last error is kept.
// Determinism: maps are kept in btree maps and every message is built in key order.
#ifndef SEEDGRID_ENGINE_REPLICA_REPLICA_H_
#define SEEDGRID_ENGINE_REPLICA_REPLICA_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/btree_map.h"
#include "engine/crdt/lww_map.h"
#include "engine/crdt/or_map.h"
#include "engine/crdt/pn_counter.h"
#include "engine/env/env.h"
#include "engine/hlc/hlc.h"
#include "engine/wire/messages.h"

namespace seedgrid {

// One OR key's state as shipped on the wire (items and tombstones).
msg::OrKeyState ToKeyState(const std::string& key, const OrEntry& entry);

struct ReplicaOptions {
  NodeId node_id;
  uint64_t max_drift_ms = 60'000;
  DriftMode drift_mode = DriftMode::kStrict;
  int merkle_depth = MerkleTree::kDepthDefault;
  // Bound on records per OP_BATCH; larger outboxes are split.
  size_t batch_records_max = 1000;
};

struct ReplicaStats {
  uint64_t messages_sent = 0;
  uint64_t messages_received = 0;
  uint64_t decode_errors = 0;
  uint64_t merge_errors = 0;
  uint64_t protocol_errors = 0;
  uint64_t records_merged = 0;  // Remote records/entries that changed local state.
  uint64_t leaves_pulled = 0;
  std::string last_error;
};

class Replica {
 public:
  // Installs this node's network handler. `env` must outlive the replica.
  Replica(Env& env, ReplicaOptions options);
  // Removes the network handler (it points at this replica).
  ~Replica();
  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  // The named CRDT, created empty on first use. Writes to it replicate through Flush().
  // REQUIRES: a name is used for one map kind only (LWW or OR); counters have their own names.
  LwwMap& lww(std::string_view name);
  OrMap& orm(std::string_view name);
  PnCounter& counter(std::string_view name);

  // Sends the outbox (changes since the last Flush) to every peer.
  void Flush(const std::vector<NodeId>& peers);
  // True when Flush() has nothing to send.
  bool outbox_empty() const {
    return lww_outbox_.empty() && or_outbox_.empty() && pn_outbox_.empty();
  }
  // Starts a Merkle pull of every map this node knows from `peer`.
  void SyncWith(const NodeId& peer);

  // Handles one delivered message (installed as the network handler).
  void HandleMessage(const NodeId& from, std::string_view bytes);

  // Called once for every map and counter when it is created (by a local call or by a peer's
  // message), after the replica's own listener is installed: the place to attach persistence or
  // indexes. Set before the first map is created; maps created earlier are not reported.
  struct Hooks {
    std::function<void(const std::string& name, LwwMap& map)> on_lww;
    std::function<void(const std::string& name, OrMap& map)> on_or;
    std::function<void(const std::string& name, PnCounter& counter)> on_counter;
    // A local change entered the outbox (a flush is due).
    std::function<void()> on_outbox;
  };
  void set_hooks(Hooks hooks) { hooks_ = std::move(hooks); }

  const NodeId& node_id() const { return options_.node_id; }
  Hlc& hlc() { return hlc_; }
  const ReplicaStats& stats() const { return stats_; }
  const absl::btree_map<std::string, std::unique_ptr<LwwMap>>& lww_maps() const { return lww_; }
  const absl::btree_map<std::string, std::unique_ptr<OrMap>>& or_maps() const { return or_; }
  const absl::btree_map<std::string, std::unique_ptr<PnCounter>>& counters() const { return pn_; }

 private:
  void Send(const NodeId& to, msg::Body body);
  // Sends `body` to every target but this node, encoded once.
  void SendToEach(std::span<const NodeId> targets, msg::Body body);
  // Sends encoded `bytes` (a `name` message) to `to`; an oversized message or a network error is
  // counted as a protocol error, not sent.
  void SendEncoded(const NodeId& to, std::string_view name, const std::string& bytes);
  void Fail(uint64_t& counter, std::string error);
  const MerkleTree* TreeOf(std::string_view map_name, msg::MapKind kind);
  // True (and a protocol error is counted) when `map_name` already names a map of the other kind.
  bool KindConflict(const std::string& map_name, msg::MapKind kind);

  void OnOpBatch(const NodeId& from, const msg::OpBatch& m);
  void OnSyncInit(const NodeId& from, const msg::SyncInit& m);
  void OnSyncRoot(const NodeId& from, const msg::SyncRoot& m);
  void OnBucketsRequest(const NodeId& from, const msg::SyncBucketsRequest& m);
  void OnBuckets(const NodeId& from, const msg::SyncBuckets& m);
  void OnLeafRequest(const NodeId& from, const msg::SyncLeafRequest& m);
  void OnLeaf(const msg::SyncLeaf& m);
  void OnPnState(const msg::PnCounterState& m);
  // Records one merge result in the stats; returns true when it failed.
  bool NoteMerge(const std::string& map_name, const std::string& key,
                 const absl::StatusOr<bool>& merged);
  // Return how many entries failed (a kind conflict fails them all).
  uint64_t MergeLww(const std::string& map_name, const std::vector<msg::LwwEntry>& entries);
  uint64_t MergeOr(const std::string& map_name, const std::vector<msg::OrKeyState>& entries);
  // Asks for the child at `path` + `digit`: a leaf request at full depth, else its buckets.
  void Descend(const NodeId& from, const std::string& map_name, std::vector<uint8_t> path);

  Env& env_;
  ReplicaOptions options_;
  Hooks hooks_;
  Hlc hlc_;
  ReplicaStats stats_;
  uint64_t next_batch_id_ = 1;
  absl::btree_map<std::string, std::unique_ptr<LwwMap>> lww_;
  absl::btree_map<std::string, std::unique_ptr<OrMap>> or_;
  absl::btree_map<std::string, std::unique_ptr<PnCounter>> pn_;
  // Outbox: map name -> key -> latest local change (only the latest matters: state-based).
  absl::btree_map<std::string, absl::btree_map<std::string, LwwRecord>> lww_outbox_;
  absl::btree_map<std::string, absl::btree_map<std::string, OrEntry>> or_outbox_;
  absl::btree_map<std::string, bool> pn_outbox_;
  bool merging_counter_ = false;  // A remote state is being merged (not an outbox change).
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_REPLICA_REPLICA_H_
