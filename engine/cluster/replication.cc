#include "engine/cluster/replication.h"

#include <algorithm>

#include "engine/base/assert.h"
#include "engine/base/probe.h"

namespace seedgrid {

bool Replication::Track(PendingReplication r) {
  if (pending_.size() >= kPendingReplicationsMax) {
    SG_PROBE("cluster.pending_replications_full");
    return false;
  }
  const uint64_t id = r.state.id;
  SG_ASSERT(id != 0 && id < next_id_);
  return pending_.emplace(id, std::move(r)).second;
}

bool Replication::AllBackupsAcked(const PendingReplication& r, const Membership& membership) {
  // REPLICATED promises a copy on another server: with no backup in the table the entry waits
  // for one rather than completing vacuously (a disk loss of this server then lost acknowledged
  // writes: server_crash_during_replication seed 13).
  if (membership.LacksBackups(r.partition)) {
    SG_PROBE("cluster.replicated_ack_waits_for_a_backup");
    return false;
  }
  for (const NodeId& b : membership.table().replicas(r.partition).backups) {
    if (!r.acked.contains(b)) return false;
  }
  return true;
}

void Replication::Complete(PendingReplication& r, Effects& out) {
  // Every backup of the current table applied and synced these records; the owner synced them
  // before the entry existed.
  for (const msg::GridOpAck& a : r.acks) {
    out.Emit(events::OpAcknowledged{r.client, a.seq, a.ts, a.level, a.duplicate});
  }
  if (r.reply_to.empty()) {
    out.Send(r.client, msg::GridAck{std::move(r.acks), ""});
  } else {
    out.Send(r.reply_to, msg::GridAck{std::move(r.acks), r.client});
  }
}

Replication::AckResult Replication::OnAck(const NodeId& from, const msg::Ack& m,
                                          const Membership& membership,
                                          const PartitionSet& partitions, bool may_acknowledge) {
  AckResult result;
  const PartitionTable& table = membership.table();
  if (auto h = handoffs_.find(m.batch_id); h != handoffs_.end()) {
    h->second.awaiting.erase(from);
    if (!h->second.awaiting.empty()) return result;
    const uint32_t p = h->second.partition;
    const bool same_table = h->second.table_version == table.version();
    // Every replica acknowledged what was sent; a state merged since would be lost by the drop.
    const bool same_contents =
        partitions.held(p) && partitions.get(p)->Digest() == h->second.digest;
    handoffs_.erase(h);
    if (same_table && same_contents && !table.IsReplica(p, membership.self())) {
      SG_PROBE("cluster.handoff_completed");
      result.handed_off = p;
    } else {
      // Acked, but the table or the contents moved: keep it; the next Tick hands it off again.
      SG_PROBE("cluster.handoff_outdated_by_table");
    }
    return result;
  }
  auto it = pending_.find(m.batch_id);
  if (it == pending_.end()) return result;  // Late or duplicate.
  PendingReplication& r = it->second;
  r.acked.insert(from);
  if (!may_acknowledge && AllBackupsAcked(r, membership)) {
    SG_PROBE("cluster.replicated_ack_held_by_storage");  // Acked by all; the disk is failing.
  }
  if (!may_acknowledge || !AllBackupsAcked(r, membership)) {
    return result;  // Tick completes it later.
  }
  Complete(r, result.effects);
  pending_.erase(it);
  return result;
}

void Replication::TickPending(uint64_t now, const Membership& membership, bool may_acknowledge,
                              Effects& out) {
  const PartitionTable& table = membership.table();
  for (auto it = pending_.begin(); it != pending_.end();) {
    PendingReplication& r = it->second;
    if (!membership.owns(r.partition)) {
      // Ownership moved while a REPLICATED write waited for its backups: the client resends it
      // to the new owner, which acknowledges the duplicate.
      SG_PROBE("cluster.handoff_with_pending_write");
      it = pending_.erase(it);
      continue;
    }
    // The backups may have changed since the acks came in (a table flapped back): complete here
    // too, not only when an ack arrives.
    if (may_acknowledge && AllBackupsAcked(r, membership)) {
      SG_PROBE("cluster.replicated_ack_completed_by_tick");
      Complete(r, out);
      it = pending_.erase(it);
      continue;
    }
    if (now - r.sent_ms >= retry_interval_ms_) {
      SG_PROBE("cluster.replication_resent");
      r.sent_ms = now;
      for (const NodeId& b : table.replicas(r.partition).backups) {
        if (!r.acked.contains(b)) out.Send(b, r.state);
      }
    }
    ++it;
  }
}

void Replication::TickHandoffs(uint64_t now, const Membership& membership,
                               const PartitionSet& partitions, Effects& out) {
  // Hand off partitions this server no longer replicates — to the owner and every backup of the
  // current table — and drop them only once all have merged and synced. (Handing off to the owner
  // alone let a rejoining backup stay empty while the old copy was dropped: the owner's disk loss
  // then lost REPLICATED writes; found by grid_durability.)
  const PartitionTable& table = membership.table();
  for (uint32_t p = 0; p < kPartitionCount; ++p) {
    if (!partitions.held(p) || table.IsReplica(p, membership.self())) continue;
    const uint64_t digest = partitions.get(p)->Digest();
    auto in_flight = std::find_if(handoffs_.begin(), handoffs_.end(),
                                  [p](const auto& h) { return h.second.partition == p; });
    if (in_flight != handoffs_.end()) {
      Handoff& h = in_flight->second;
      if (now - h.sent_ms < retry_interval_ms_) continue;
      if (h.table_version == table.version() && h.digest == digest) {
        // The same contents under the same table: resend under the same id, to the replicas that
        // have not acknowledged, so acks slower than the resend interval still count. (A fresh id
        // per resend discarded them: over 50-150 ms WAN links no handoff ever completed; found by
        // cross_region seed 8.)
        SG_PROBE("cluster.handoff_resent");
        h.sent_ms = now;
        SendHandoff(p, in_flight->first, h, membership, partitions, out);
        continue;
      }
      SG_PROBE("cluster.handoff_restarted");  // The table or the contents moved: ask all again.
      handoffs_.erase(in_flight);
    }
    SG_PROBE("cluster.handoff_sent");
    const uint64_t id = NextId();
    const PartitionReplicas& r = table.replicas(p);
    Handoff& h = handoffs_[id];
    h = Handoff{p, now, table.version(), digest, {}};
    h.awaiting.insert(r.owner);
    h.awaiting.insert(r.backups.begin(), r.backups.end());
    SendHandoff(p, id, h, membership, partitions, out);
  }
}

void Replication::SendHandoff(uint32_t p, uint64_t id, const Handoff& h,
                              const Membership& membership, const PartitionSet& partitions,
                              Effects& out) {
  const msg::PartitionState state =
      partitions.StateOf(p, msg::StatePurpose::kHandoff, id, membership.ready(p));
  for (const NodeId& to : h.awaiting) out.Send(to, state);
}

Effects Replication::Tick(uint64_t now_ms, const Membership& membership,
                          const PartitionSet& partitions, bool may_acknowledge) {
  Effects out;
  TickPending(now_ms, membership, may_acknowledge, out);
  TickHandoffs(now_ms, membership, partitions, out);
  return out;
}

}  // namespace seedgrid
