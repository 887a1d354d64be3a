#include "engine/cluster/write_path.h"

#include <algorithm>

#include "engine/base/assert.h"
#include "engine/base/probe.h"

namespace seedgrid {

WriteResult WritePath::OnOps(msg::GridOps m, const Membership& membership, Replication& replication,
                             uint64_t now_ms) {
  WriteResult out;
  const PartitionTable& table = membership.table();
  // Group by partition, keeping each client's seq order.
  absl::btree_map<uint32_t, std::vector<msg::GridOp*>> by_partition;
  for (msg::GridOp& op : m.ops) by_partition[PartitionOf(op.key)].push_back(&op);
  absl::btree_map<NodeId, msg::GridOps> forward;
  std::vector<msg::GridOpAck> acks;
  for (auto& [p, ops] : by_partition) {
    const NodeId& owner = table.owner(p);
    if (owner == membership.self()) {
      if (!membership.ready(p)) {
        SG_PROBE("cluster.write_before_owner_ready");  // A new owner still pulling: dropped.
        stats_.ops_dropped_not_ready += ops.size();
        continue;
      }
      const uint64_t mark_before = partitions_.Hold(p).applied.Of(m.client);
      Owned owned;
      const bool has_backups = !table.replicas(p).backups.empty();
      const ReplicatedAck replicated = has_backups                  ? ReplicatedAck::kBackups
                                       : membership.LacksBackups(p) ? ReplicatedAck::kWithheld
                                                                    : ReplicatedAck::kNow;
      Apply(p, m.client, ops, replicated, owned, out);
      Replicate(p, m, mark_before, owned, membership, replication, now_ms, out);
      for (msg::GridOpAck& a : owned.now_acks) acks.push_back(std::move(a));
      continue;
    }
    if (m.hops >= kForwardHopsMax) {
      SG_PROBE("cluster.write_dropped_after_max_hops");
      stats_.ops_dropped_hops += ops.size();
      continue;
    }
    if (m.hops > 0) SG_PROBE("cluster.write_forwarded_twice");  // Tables disagreed in flight.
    // This server still holds the partition but no longer replicates it: a handoff is under way.
    if (partitions_.held(p) && !table.IsReplica(p, membership.self())) {
      SG_PROBE("cluster.write_during_handoff");
    }
    msg::GridOps& f = forward[owner];
    f.client = m.client;
    f.gateway = membership.self();
    f.hops = static_cast<uint8_t>(m.hops + 1);
    f.reply_to = m.reply_to;
    for (const msg::GridOp* op : ops) f.ops.push_back(*op);
    stats_.ops_forwarded += ops.size();
  }
  if (!acks.empty()) {
    for (const msg::GridOpAck& a : acks) {
      out.after_sync.Emit(events::OpAcknowledged{m.client, a.seq, a.ts, a.level, a.duplicate});
    }
    // The ack goes before the replication states (the order the client and backups see).
    out.after_sync.messages.insert(out.after_sync.messages.begin(), AckTo(m, std::move(acks)));
  }
  for (auto& [owner, f] : forward) out.now.Send(owner, std::move(f));
  return out;
}

void WritePath::Apply(uint32_t p, const NodeId& client, std::vector<msg::GridOp*>& ops,
                      ReplicatedAck replicated, Owned& owned, WriteResult& out) {
  const bool has_backups = replicated == ReplicatedAck::kBackups;
  std::sort(ops.begin(), ops.end(),
            [](const msg::GridOp* a, const msg::GridOp* b) { return a->seq < b->seq; });
  GridPartition& part = partitions_.Hold(p);
  uint64_t mark = part.applied.Of(client);
  const std::string* map_name = nullptr;
  LwwMap* map = nullptr;
  for (msg::GridOp* op : ops) {
    if (map_name == nullptr || *map_name != op->map_name) {
      map_name = &op->map_name;
      map = &partitions_.MapOf(p, op->map_name);
    }
    if (has_backups) owned.touched[op->map_name].insert(op->key);
    Timestamp ts;
    const bool duplicate = op->seq <= mark;
    if (!duplicate) {
      (void)hlc_.Update(op->client_ts);  // Lenient: a far-ahead client clock is counted.
      // The op is consumed here (the message is this call's own copy).
      ts = op->value ? map->Set(std::move(op->key), *std::move(op->value))
                     : map->Remove(std::move(op->key));
      mark = op->seq;
      ++stats_.ops_applied;
      out.now.Emit(events::OpApplied{p, client, op->seq, ts, op->client_ts});
    } else {
      SG_PROBE("cluster.duplicate_write_reacked");
      if (op->concern == msg::WriteConcern::kReplicated && has_backups) {
        SG_PROBE("cluster.duplicate_write_rereplicated");  // Typically resent after a failover.
      }
      ++stats_.ops_duplicate;
      const LwwRecord* current = map->GetRecord(op->key);
      if (current == nullptr) SG_PROBE("cluster.duplicate_write_after_gc");
      // No record left: the key's tombstone was garbage-collected; the stamp is then 0 (older
      // than anything), never a made-up current one.
      ts = current ? current->ts : Timestamp{0, 0, hlc_.node_id()};
    }
    msg::GridOpAck ack{op->seq, ts, op->concern, duplicate};
    if (op->concern != msg::WriteConcern::kReplicated || replicated == ReplicatedAck::kNow) {
      owned.now_acks.push_back(std::move(ack));
    } else if (has_backups) {
      owned.replicated_acks.push_back(std::move(ack));
    } else {
      // Acknowledging now would promise a copy no other server holds: a disk loss here would
      // lose an acknowledged REPLICATED write (server_crash_during_replication, seeds 3 and 13).
      SG_PROBE("cluster.replicated_ack_waits_for_a_backup");
      ++stats_.replicated_acks_withheld;
    }
  }
  (void)partitions_.RaiseMark(p, client, mark);  // One page for the whole message.
}

std::pair<NodeId, msg::Body> AckTo(const msg::GridOps& m, std::vector<msg::GridOpAck> acks) {
  if (m.reply_to.empty()) return {m.client, msg::GridAck{std::move(acks), ""}};
  return {m.reply_to, msg::GridAck{std::move(acks), m.client}};  // an HTTP sync gateway
}

void WritePath::Replicate(uint32_t p, const msg::GridOps& m, uint64_t mark_before, Owned& owned,
                          const Membership& membership, Replication& replication, uint64_t now_ms,
                          WriteResult& out) {
  const NodeId& client = m.client;
  const std::vector<NodeId>& backups = membership.table().replicas(p).backups;
  if (backups.empty()) return;
  const GridPartition& part = *partitions_.get(p);
  // Replicate the touched records and the client's mark.
  msg::PartitionState state{replication.NextId(), p, msg::StatePurpose::kReplicate, {}, {}};
  for (const auto& [name, keys] : owned.touched) {
    msg::MapRecords records{name, {}};
    const LwwMap& map = *part.maps.at(name);
    for (const std::string& key : keys) {
      // A duplicate's key may have no record left: its tombstone was pruned (GC).
      if (const LwwRecord* r = map.GetRecord(key)) records.lww.push_back({key, *r});
    }
    state.maps.push_back(std::move(records));
  }
  state.applied.push_back({client, part.applied.at(client), mark_before});
  for (const NodeId& b : backups) out.after_sync.Send(b, state);
  if (owned.replicated_acks.empty()) return;
  out.pending.push_back(PendingReplication{
      p, std::move(state), {}, client, std::move(owned.replicated_acks), now_ms, m.reply_to});
}

}  // namespace seedgrid
