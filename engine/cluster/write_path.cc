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
  ToBackups to_backups;
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
      Replicate(p, m, mark_before, owned, membership, replication, now_ms, to_backups, out);
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
  // Each backup gets the message's partitions in batches, not a message per partition.
  for (auto& [backup, states] : to_backups) out.after_sync.SendStates(backup, std::move(states));
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

// A counter op raises the client's own entry to the op's totals: idempotent (counter_map.h), so a
// duplicate raises it too (a no-op unless this server lost the entry with an unsynced write). The
// ack's stamp is a fresh one of this server's (0 for a duplicate); no record carries it.
Timestamp WritePath::ApplyCounter(uint32_t p, const NodeId& client, const msg::GridOp& op,
                                  bool duplicate, bool has_backups, Owned& owned,
                                  WriteResult& out) {
  const bool rose = partitions_.CountersOf(p, op.map_name).Raise(op.key, client, *op.counter);
  if (has_backups) owned.touched_counters[op.map_name].insert(op.key);
  if (duplicate) {
    SG_PROBE("cluster.duplicate_counter_op_reacked");
    if (rose) SG_PROBE("cluster.duplicate_counter_op_raised");
    ++stats_.ops_duplicate;
    return Timestamp{0, 0, hlc_.node_id()};
  }
  (void)hlc_.Update(op.client_ts);
  const Timestamp ts = hlc_.Now();
  ++stats_.ops_applied;
  ++stats_.counter_ops_applied;
  out.now.Emit(events::OpApplied{p, client, op.seq, ts, op.client_ts, /*counter=*/true});
  return ts;
}

// An OR add is tagged by this server's clock and keeps its origin (the client's op), so a remove
// that names the origin finds it; an OR remove tombstones what it names. See the header.
Timestamp WritePath::ApplyOr(uint32_t p, const NodeId& client, msg::GridOp& op, bool duplicate,
                             bool has_backups, Owned& owned, WriteResult& out) {
  OrMap& map = partitions_.OrMapOf(p, op.map_name);
  if (has_backups) owned.touched_or[op.map_name].insert(op.key);
  const bool add = op.or_kind == msg::OrOpKind::kAdd;
  if (duplicate) {
    SG_PROBE("cluster.duplicate_or_op_reacked");
    ++stats_.ops_duplicate;
    const OrEntry* entry = map.GetEntry(op.key);
    if (add && entry != nullptr) {
      const auto item = entry->FindByTagOrOrigin(OrOrigin(client, op.seq));
      if (item != entry->items.end()) return item->first;
    }
    return Timestamp{0, 0, hlc_.node_id()};
  }
  if (add) {
    // Applied before by an owner whose mark this one lacks (a failover): the item it holds is
    // the add's, and a killed origin stays dead. Neither is a new application.
    const Timestamp origin = OrOrigin(client, op.seq);
    if (const OrEntry* entry = map.GetEntry(op.key)) {
      if (auto item = entry->FindByTagOrOrigin(origin); item != entry->items.end()) {
        SG_PROBE("cluster.or_add_found_applied");
        ++stats_.ops_duplicate;
        return item->first;
      }
    }
    if (map.OriginDead(op.key, origin)) {
      SG_PROBE("cluster.or_add_found_removed");
      ++stats_.ops_duplicate;
      return Timestamp{0, 0, hlc_.node_id()};
    }
  }
  (void)hlc_.Update(op.client_ts);  // Lenient: a far-ahead client clock is counted.
  Timestamp ts;
  if (add) {
    ts = map.Add(op.key, *std::move(op.value), std::nullopt, OrOrigin(client, op.seq));
  } else {
    // A name is an origin (millis 0) or a tag some owner issued: one this clock refuses (past 2^62
    // ms, or beyond the drift bound in strict mode) was never observed, and as a tombstone it
    // would make every later merge of the key fail.
    std::vector<Timestamp> names;
    const uint64_t physical = hlc_.clock().NowMs();
    for (Timestamp& t : op.or_tags) {
      if (t.millis == 0 || hlc_.CheckAt(t, physical).ok()) {
        names.push_back(std::move(t));
      } else {
        SG_PROBE("cluster.or_remove_tag_refused");
        ++stats_.or_tags_refused;
      }
    }
    ts = hlc_.Now();
    (void)map.RemoveTags(op.key, names, ts.millis);
  }
  ++stats_.ops_applied;
  ++stats_.or_ops_applied;
  events::OpApplied applied{p, client, op.seq, ts, op.client_ts};
  applied.or_op = true;
  out.now.Emit(std::move(applied));
  return ts;
}

// An LWW set or remove, re-stamped by this server; a duplicate is answered with the key's current
// stamp. The op is consumed (the message is OnOps' own copy).
Timestamp WritePath::ApplyRecord(uint32_t p, const NodeId& client, LwwMap& map, msg::GridOp& op,
                                 bool duplicate, bool has_backups, Owned& owned, WriteResult& out) {
  if (has_backups) owned.touched[op.map_name].insert(op.key);
  if (!duplicate) {
    (void)hlc_.Update(op.client_ts);  // Lenient: a far-ahead client clock is counted.
    const Timestamp ts =
        op.value ? map.Set(std::move(op.key), *std::move(op.value)) : map.Remove(std::move(op.key));
    ++stats_.ops_applied;
    out.now.Emit(events::OpApplied{p, client, op.seq, ts, op.client_ts});
    return ts;
  }
  SG_PROBE("cluster.duplicate_write_reacked");
  if (op.concern == msg::WriteConcern::kReplicated && has_backups) {
    SG_PROBE("cluster.duplicate_write_rereplicated");  // Typically resent after a failover.
  }
  ++stats_.ops_duplicate;
  const LwwRecord* current = map.GetRecord(op.key);
  if (current == nullptr) SG_PROBE("cluster.duplicate_write_after_gc");
  // No record left: the key's tombstone was garbage-collected; the stamp is then 0 (older than
  // anything), never a made-up current one.
  return current ? current->ts : Timestamp{0, 0, hlc_.node_id()};
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
    const bool duplicate = op->seq <= mark;
    const Timestamp ts =
        op->counter ? ApplyCounter(p, client, *op, duplicate, has_backups, owned, out)
        : op->or_kind != msg::OrOpKind::kNone
            ? ApplyOr(p, client, *op, duplicate, has_backups, owned, out)
            : ApplyRecord(p, client, *map, *op, duplicate, has_backups, owned, out);
    if (!duplicate) mark = op->seq;
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
                          ToBackups& to_backups, WriteResult& out) {
  const NodeId& client = m.client;
  const std::vector<NodeId>& backups = membership.table().replicas(p).backups;
  if (backups.empty()) return;
  const GridPartition& part = *partitions_.get(p);
  // Replicate the touched records and the client's mark. Only a state that REPLICATED acks wait
  // for carries an id (and is acknowledged by the backups); the others go with id 0, unanswered —
  // a lost one is repaired by anti-entropy, as before.
  const bool awaited = !owned.replicated_acks.empty();
  msg::PartitionState state{
      awaited ? replication.NextId() : 0, p, msg::StatePurpose::kReplicate, {}, {}};
  AddTouched(part, client, owned, state);
  state.applied.push_back({client, part.applied.at(client), mark_before});
  for (const NodeId& b : backups) to_backups[b].push_back(state);
  if (!awaited) return;
  out.pending.push_back(PendingReplication{
      p, std::move(state), {}, client, std::move(owned.replicated_acks), now_ms, m.reply_to});
}

void WritePath::AddTouched(const GridPartition& part, const NodeId& client, const Owned& owned,
                           msg::PartitionState& state) const {
  const auto records_of = [&state](const std::string& name) -> msg::MapRecords& {
    for (auto& m : state.maps) {
      if (m.map_name == name) return m;
    }
    return state.maps.emplace_back(msg::MapRecords{name, {}, {}});
  };
  for (const auto& [name, keys] : owned.touched) {
    msg::MapRecords records{name, {}};
    const LwwMap& map = *part.maps.at(name);
    for (const std::string& key : keys) {
      // A duplicate's key may have no record left: its tombstone was pruned (GC).
      if (const LwwRecord* r = map.GetRecord(key)) records.lww.push_back({key, *r});
    }
    state.maps.push_back(std::move(records));
  }
  // Only the client's own entry of each counter it touched: merges take per-writer maxima.
  for (const auto& [name, keys] : owned.touched_counters) {
    msg::MapRecords* records = &records_of(name);
    const CounterMap* counters = part.CountersOf(name);
    SG_ASSERT(counters != nullptr);  // ApplyCounter made it.
    for (const std::string& key : keys) {
      const PnState* pn = counters->Get(key);
      if (pn == nullptr) continue;  // A duplicate of an all-zero op.
      auto own = pn->find(client);
      if (own != pn->end()) records->counters.push_back({key, PnState{{client, own->second}}});
    }
  }
  // Whole OR entries: a merge is a union of items and tombstones, so resending them is harmless.
  for (const auto& [name, keys] : owned.touched_or) {
    msg::MapRecords& records = records_of(name);
    const OrMap* or_map = part.OrMapOf(name);
    SG_ASSERT(or_map != nullptr);  // ApplyOr made it.
    for (const std::string& key : keys) {
      if (const OrEntry* entry = or_map->GetEntry(key)) {
        records.or_keys.push_back(msg::FromOrEntry(key, *entry));
      }
    }
  }
}

}  // namespace seedgrid
