// WritePath: a client's GridOps at this server — forwarded to the owners of other partitions,
// applied to the partitions this server owns and is ready for. Returns what to do next; the
// GridServer syncs storage and releases `after_sync` only when the sync succeeded.
//
// Contract.
// - An op is applied once: seq above the client's applied mark -> HLC update with the client's
//   stamp, then a re-stamp with this server's HLC. A counter op raises the client's own entry of
//   the counter to the op's totals (idempotent, so duplicates raise it too) and is acknowledged
//   with a fresh stamp of this server (0 for a duplicate). An OR add is tagged by this server's HLC
//   with its origin (OrOrigin(client, seq)) kept, and acknowledged with the tag — unless this
//   owner already holds an item of that origin (the add was applied before by an owner whose mark
//   it lacks: acknowledged with that item's tag) or its kill (acknowledged with 0); an OR remove
//   kills the origins it names (OrMap::RemoveTags, at the fresh stamp's millis) and is
//   acknowledged with that stamp. A duplicate (seq at or below the mark) is re-acknowledged with
//   the key's current stamp (0 when its tombstone was pruned); a duplicate OR add with its item's
//   tag (0 when the item is gone: removed, or forgotten after a GC), a duplicate OR remove with 0.
// - Acks: FIRE_AND_FORGET and APPLIED in `after_sync.acks`; REPLICATED in `pending` (or with the
//   APPLIED ones when the cluster is configured without backups). REPLICATED promises a copy on
//   another server: when backups are configured but the table has none for the partition (the
//   other servers are down), the op is applied and durable here but not acknowledged; the
//   client's resend is re-acknowledged once a backup holds it. The touched records and the mark go
//   to the backups in `after_sync.replicate`. None of these may leave before a successful sync.
// - Acks go to the client, or to GridOps.reply_to when set (an HTTP sync gateway, naming the
//   client in GridAck.client); forwards keep reply_to.
// - At most kForwardHopsMax forwarding hops; ops for a partition not ready are dropped (the
//   client retries).
#ifndef SEEDGRID_ENGINE_CLUSTER_WRITE_PATH_H_
#define SEEDGRID_ENGINE_CLUSTER_WRITE_PATH_H_

#include <cstdint>
#include <vector>

#include "engine/cluster/effects.h"
#include "engine/cluster/grid_partition.h"
#include "engine/cluster/membership.h"
#include "engine/cluster/replication.h"
#include "engine/hlc/hlc.h"

namespace seedgrid {

inline constexpr uint8_t kForwardHopsMax = 3;

struct WriteStats {
  uint64_t ops_applied = 0;
  uint64_t counter_ops_applied = 0;  // of ops_applied
  uint64_t or_ops_applied = 0;       // of ops_applied
  uint64_t or_tags_refused = 0;      // named by OR removes, refused by the HLC (Hlc::CheckAt)
  uint64_t ops_duplicate = 0;
  uint64_t ops_forwarded = 0;
  uint64_t ops_dropped_not_ready = 0;
  uint64_t ops_dropped_hops = 0;
  uint64_t replicated_acks_withheld = 0;  // REPLICATED ops applied while no backup was up
};

struct WriteResult {
  Effects now;         // forwards and OpApplied events: regardless of storage
  Effects after_sync;  // GridAck (with OpAcknowledged events) and replication states
  std::vector<PendingReplication> pending;  // REPLICATED acks: tracked after a good sync
};

// The GridAck of `acks` for the sender of `m`: to the client, or to m.reply_to on its behalf.
std::pair<NodeId, msg::Body> AckTo(const msg::GridOps& m, std::vector<msg::GridOpAck> acks);

class WritePath {
 public:
  WritePath(Hlc& hlc, PartitionSet& partitions) : hlc_(hlc), partitions_(partitions) {}

  WriteResult OnOps(msg::GridOps m, const Membership& membership, Replication& replication,
                    uint64_t now_ms);
  const WriteStats& stats() const { return stats_; }

 private:
  struct Owned {
    std::vector<msg::GridOpAck> now_acks;
    std::vector<msg::GridOpAck> replicated_acks;
    absl::btree_map<std::string, absl::btree_set<std::string>> touched;  // map -> keys
    absl::btree_map<std::string, absl::btree_set<std::string>> touched_counters;
    absl::btree_map<std::string, absl::btree_set<std::string>> touched_or;
  };
  Timestamp ApplyRecord(uint32_t p, const NodeId& client, LwwMap& map, msg::GridOp& op,
                        bool duplicate, bool has_backups, Owned& owned, WriteResult& out);
  Timestamp ApplyCounter(uint32_t p, const NodeId& client, const msg::GridOp& op, bool duplicate,
                         bool has_backups, Owned& owned, WriteResult& out);
  Timestamp ApplyOr(uint32_t p, const NodeId& client, msg::GridOp& op, bool duplicate,
                    bool has_backups, Owned& owned, WriteResult& out);
  // Adds the touched entries of `owned` (records, the client's own counter entries, OR entries)
  // to a replication state.
  void AddTouched(const GridPartition& part, const NodeId& client, const Owned& owned,
                  msg::PartitionState& state) const;
  // Applies one partition's ops (sorted by seq) into `owned`.
  // What a REPLICATED op's acknowledgement waits for in this partition.
  enum class ReplicatedAck { kNow, kBackups, kWithheld };
  void Apply(uint32_t p, const NodeId& client, std::vector<msg::GridOp*>& ops,
             ReplicatedAck replicated, Owned& owned, WriteResult& out);
  // Replication states per backup, in partition order: one batch per backup per message.
  using ToBackups = absl::btree_map<NodeId, std::vector<msg::PartitionState>>;
  void Replicate(uint32_t p, const msg::GridOps& m, uint64_t mark_before, Owned& owned,
                 const Membership& membership, Replication& replication, uint64_t now_ms,
                 ToBackups& to_backups, WriteResult& out);

  Hlc& hlc_;
  PartitionSet& partitions_;
  WriteStats stats_;
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_CLUSTER_WRITE_PATH_H_
