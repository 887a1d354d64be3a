// Membership: which servers are alive, the partition table they agree on, and which owned
// partitions are ready (pulled from the previous replicas). Pure state machine: heartbeats and
// ticks in, heartbeats and readiness pulls out (Effects).
//
// Contract.
// - A server starts with no table and is not joined until it hears a heartbeat or has waited
//   suspect_after_ms alone. A server not heard from for suspect_after_ms is dead (plain
//   threshold; see docs/architecture.md).
// - The coordinator (smallest live id, not leaving) publishes a table (version = highest seen +
//   1) when its live set differs from the table's members; every server adopts a NewerThan table
//   from any heartbeat.
// - A new owner of a partition is not ready until every replica of the previous table it awaits
//   has answered its pull or died; it takes no client ops for it until then.
// Determinism: btree containers only.
#ifndef SEEDGRID_ENGINE_CLUSTER_MEMBERSHIP_H_
#define SEEDGRID_ENGINE_CLUSTER_MEMBERSHIP_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "engine/cluster/effects.h"
#include "engine/cluster/partition_table.h"
#include "engine/wire/messages.h"

namespace seedgrid {

struct MembershipOptions {
  NodeId self;
  std::vector<NodeId> seeds;
  uint32_t backup_count = 1;
  uint64_t suspect_after_ms = 1000;
};

struct MembershipStats {
  uint64_t tables_published = 0;
  uint64_t tables_adopted = 0;
};

class Membership {
 public:
  Membership(MembershipOptions options, uint64_t now_ms);

  // A heartbeat from `from`: liveness, its HLC, leaving flag, and a newer table if it has one.
  void OnHeartbeat(const NodeId& from, const msg::Heartbeat& m, uint64_t now_ms);
  // Once per heartbeat interval: joins after waiting alone, tracks stability (GC), and, on the
  // coordinator, publishes a table. Returns the live set.
  absl::btree_set<NodeId> Tick(uint64_t now_ms);
  // The heartbeat to every known peer; `owned_digests` is called when digests are due.
  Effects Heartbeat(uint64_t hlc_ms,
                    const std::function<std::vector<msg::PartitionDigest>()>& owned_digests);
  // Readiness pulls to the replicas still awaited. A source that died is replaced by every live
  // member that has not answered yet: the partition's records and applied marks may survive on
  // any server that held it (a server that dropped it and became its owner again must not take
  // its own applied entries for new ones). Ready once every awaited source answered or died with
  // no live member left to ask.
  Effects ReadinessPulls(const absl::btree_set<NodeId>& alive);
  // Backups per partition the cluster is configured for (a table may have fewer: too few members).
  uint32_t backup_count() const { return options_.backup_count; }
  // Backups are configured but the table gives partition p none (every other server is down): a
  // REPLICATED write there has no second copy, so it must not be acknowledged yet.
  bool LacksBackups(uint32_t p) const {
    return options_.backup_count > 0 && (table_.empty() || table_.replicas(p).backups.empty());
  }
  // `from` answered the pull of p.
  void OnPulled(uint32_t p, const NodeId& from);

  void Leave() { leaving_ = true; }
  bool leaving() const { return leaving_; }
  bool joined() const { return joined_; }
  const PartitionTable& table() const { return table_; }
  bool ready(uint32_t p) const { return !not_ready_.contains(p); }
  size_t not_ready_count() const { return not_ready_.size(); }
  bool owns(uint32_t p) const { return !table_.empty() && table_.owner(p) == options_.self; }
  const NodeId& self() const { return options_.self; }

  // For the tombstone GC horizon (tombstone_gc.h).
  const absl::btree_map<NodeId, uint64_t>& last_heard_ms() const { return last_heard_ms_; }
  const absl::btree_map<NodeId, uint64_t>& peer_hlc_ms() const { return peer_hlc_ms_; }
  const absl::btree_set<NodeId>& leaving_peers() const { return leaving_peers_; }
  const absl::btree_set<NodeId>& stable_alive() const { return stable_alive_; }
  uint64_t stable_since_ms() const { return stable_since_ms_; }
  const MembershipStats& stats() const { return stats_; }

 private:
  absl::btree_set<NodeId> Alive(uint64_t now_ms) const;
  void Install(PartitionTable table);

  MembershipOptions options_;
  PartitionTable table_;
  uint64_t version_seen_ = 0;
  bool joined_ = false;
  bool leaving_ = false;
  uint64_t opened_ms_ = 0;
  uint64_t ticks_ = 0;
  absl::btree_map<NodeId, uint64_t> last_heard_ms_;
  absl::btree_map<NodeId, uint64_t> peer_hlc_ms_;  // from heartbeats (GC horizon)
  absl::btree_set<NodeId> leaving_peers_;
  absl::btree_set<NodeId> stable_alive_;  // the live set since stable_since_ms_
  uint64_t stable_version_ = 0;
  uint64_t stable_since_ms_ = 0;
  struct Readiness {
    absl::btree_set<NodeId> awaiting;  // pulls not answered yet
    absl::btree_set<NodeId> answered;
  };
  absl::btree_map<uint32_t, Readiness> not_ready_;
  MembershipStats stats_;
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_CLUSTER_MEMBERSHIP_H_
