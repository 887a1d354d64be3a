// Replication: what an owner waits for from other servers — REPLICATED acknowledgements pending
// on backups, and handoffs of partitions this server no longer replicates — with their resends.
//
// Contract.
// - Track() is called only after the owner's own write was synced (the engine's storage rule); the
//   GridAck goes out once every backup of the current table has acknowledged (a backup
//   acknowledges only after its own sync) — and the table has a backup for the partition, unless
//   the cluster is configured with none — and, as for every acknowledgement, while this server's
//   storage is not failed (`may_acknowledge`; otherwise the entry waits for a later Tick). At
//   most kPendingReplicationsMax entries; beyond that the client retries.
// - A pending entry of a partition this server no longer owns is dropped (the new owner answers
//   the client's retry).
// - A held partition that this server does not replicate under the current table is pushed whole
//   to its owner and every backup; when all acknowledged under the same table, OnAck reports it
//   for dropping — unless the partition's contents changed since it was sent (a late state merged
//   meanwhile): then the next Tick starts it over. A resend keeps the handoff's id (acks slower
//   than the resend interval count) while the table and the contents are unchanged.
// Determinism: btree containers; ids increase.
#ifndef SEEDGRID_ENGINE_CLUSTER_REPLICATION_H_
#define SEEDGRID_ENGINE_CLUSTER_REPLICATION_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "engine/cluster/effects.h"
#include "engine/cluster/grid_partition.h"
#include "engine/cluster/membership.h"

namespace seedgrid {

inline constexpr size_t kPendingReplicationsMax = 1 << 16;

struct PendingReplication {
  uint32_t partition = 0;
  msg::PartitionState state;
  absl::btree_set<NodeId> acked;
  NodeId client;
  std::vector<msg::GridOpAck> acks;
  uint64_t sent_ms = 0;
  NodeId reply_to;  // empty: the ack goes to `client`; else to this HTTP sync gateway
};

class Replication {
 public:
  explicit Replication(uint64_t retry_interval_ms) : retry_interval_ms_(retry_interval_ms) {}

  // A fresh id for a replicated state or a handoff.
  uint64_t NextId() { return next_id_++; }
  // Waits for the backups of `r.state` (id r.state.id). False when full (the client retries).
  bool Track(PendingReplication r);

  struct AckResult {
    Effects effects;
    std::optional<uint32_t> handed_off;  // every new replica has the partition: drop it
  };
  AckResult OnAck(const NodeId& from, const msg::Ack& m, const Membership& membership,
                  const PartitionSet& partitions, bool may_acknowledge);
  // Completions the table (and `may_acknowledge`) allow now, resends, and handoffs (new or due
  // for a resend).
  Effects Tick(uint64_t now_ms, const Membership& membership, const PartitionSet& partitions,
               bool may_acknowledge);

  size_t pending() const { return pending_.size(); }

 private:
  struct Handoff {
    uint32_t partition;
    uint64_t sent_ms;
    uint64_t table_version;            // the replicas below are this table's
    uint64_t digest;                   // GridPartition::Digest of the contents handed off
    absl::btree_set<NodeId> awaiting;  // replicas that have not acknowledged yet
  };
  static bool AllBackupsAcked(const PendingReplication& r, const Membership& membership);
  static void Complete(PendingReplication& r, Effects& out);
  void TickPending(uint64_t now_ms, const Membership& membership, bool may_acknowledge,
                   Effects& out);
  void TickHandoffs(uint64_t now_ms, const Membership& membership, const PartitionSet& partitions,
                    Effects& out);
  static void SendHandoff(uint32_t p, uint64_t id, const Handoff& h, const Membership& membership,
                          const PartitionSet& partitions, Effects& out);

  uint64_t retry_interval_ms_;
  uint64_t next_id_ = 1;
  absl::btree_map<uint64_t, PendingReplication> pending_;
  absl::btree_map<uint64_t, Handoff> handoffs_;
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_CLUSTER_REPLICATION_H_
