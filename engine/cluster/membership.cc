#include "engine/cluster/membership.h"

#include <algorithm>

#include "engine/base/assert.h"
#include "engine/base/probe.h"

namespace seedgrid {

namespace {
constexpr uint64_t kDigestEveryTicks = 5;
}  // namespace

Membership::Membership(MembershipOptions options, uint64_t now_ms)
    : options_(std::move(options)), opened_ms_(now_ms) {
  for (const NodeId& s : options_.seeds) {
    if (s != options_.self) last_heard_ms_[s] = opened_ms_;
  }
}

absl::btree_set<NodeId> Membership::Alive(uint64_t now) const {
  absl::btree_set<NodeId> alive;
  if (!leaving_) alive.insert(options_.self);
  for (const auto& [node, heard] : last_heard_ms_) {
    if (now - std::min(now, heard) <= options_.suspect_after_ms && !leaving_peers_.contains(node)) {
      alive.insert(node);
    }
  }
  return alive;
}

void Membership::Install(PartitionTable table) {
  const PartitionTable old = std::move(table_);
  table_ = std::move(table);
  version_seen_ = std::max(version_seen_, table_.version());
  const NodeId& self = options_.self;
  for (uint32_t p = 0; p < kPartitionCount; ++p) {
    const bool owner_now = table_.owner(p) == self;
    const bool owner_before = !old.empty() && old.owner(p) == self;
    if (!owner_now) {
      not_ready_.erase(p);
      continue;
    }
    if (owner_before) continue;
    // A new owner pulls the partition from every replica of the previous table before it takes
    // client ops, so applied marks (and acknowledged writes) are never behind. A server adopting
    // its first table (fresh, restarted, or with a replaced disk) does not know the previous
    // table: the partition may have moved any number of times while it was down, and its last
    // owner may be any member (fuzzing found a restarted owner that pulled only from the new
    // backups and applied a client's entry again). It pulls from every other member.
    absl::btree_set<NodeId> awaiting;
    if (old.empty()) {
      for (const NodeId& m : table_.members()) {
        if (m != self) awaiting.insert(m);
      }
    } else {
      const PartitionReplicas& before = old.replicas(p);
      if (before.owner != self) awaiting.insert(before.owner);
      for (const NodeId& b : before.backups) {
        if (b != self) awaiting.insert(b);
      }
    }
    if (awaiting.empty()) continue;
    SG_PROBE("membership.new_owner_pulls_first");
    not_ready_[p] = Readiness{std::move(awaiting), {}};
  }
}

void Membership::OnHeartbeat(const NodeId& from, const msg::Heartbeat& m, uint64_t now_ms) {
  last_heard_ms_[from] = now_ms;
  uint64_t& peer_hlc = peer_hlc_ms_[from];
  peer_hlc = std::max(peer_hlc, m.hlc_ms);
  if (m.leaving) {
    SG_PROBE("membership.peer_leaving");
    leaving_peers_.insert(from);
  } else {
    leaving_peers_.erase(from);
  }
  version_seen_ = std::max(version_seen_, m.table_version);
  // Compare (version, author) before building the table: most heartbeats carry the same one.
  const bool newer = table_.empty() || m.table_version > table_.version() ||
                     (m.table_version == table_.version() && m.table_author < table_.author());
  if (!m.members.empty() && m.table_version > 0 && newer) {
    PartitionTable theirs(m.table_version, m.table_author, m.members, options_.backup_count);
    if (table_.empty() || theirs.NewerThan(table_)) {
      // Two coordinators published the same version (a split brain): the smaller author wins.
      if (!table_.empty() && m.table_version == table_.version()) {
        SG_PROBE("membership.split_brain_table_replaced");
      }
      ++stats_.tables_adopted;
      Install(std::move(theirs));
    }
  }
  joined_ = true;
}

absl::btree_set<NodeId> Membership::Tick(uint64_t now) {
  if (!joined_ && now - opened_ms_ >= options_.suspect_after_ms) {
    SG_PROBE("membership.joined_alone");  // Heard nobody within suspect_after_ms.
    joined_ = true;
  }
  absl::btree_set<NodeId> alive = Alive(now);
  if (alive != stable_alive_ || table_.version() != stable_version_) {
    stable_alive_ = alive;
    stable_version_ = table_.version();
    stable_since_ms_ = now;
  }
  // Coordinator: the smallest live id publishes a table when membership changed.
  if (joined_ && !leaving_ && !alive.empty() && *alive.begin() == options_.self) {
    std::vector<NodeId> members(alive.begin(), alive.end());
    if (table_.empty() || table_.members() != members) {
      SG_PROBE("membership.table_published");
      ++stats_.tables_published;
      Install(PartitionTable(version_seen_ + 1, options_.self, members, options_.backup_count));
    }
  }
  return alive;
}

Effects Membership::Heartbeat(
    uint64_t hlc_ms, const std::function<std::vector<msg::PartitionDigest>()>& owned_digests) {
  msg::Heartbeat hb{
      table_.version(), table_.author(), table_.members(), leaving_, {}, false, hlc_ms};
  // Owned digests ride on every kDigestEveryTicks-th heartbeat (gateways answer client syncs
  // from them, so they may be that much stale; a client's next sync catches up).
  if (!table_.empty() && ticks_++ % kDigestEveryTicks == 0) {
    hb.has_digests = true;
    hb.digests = owned_digests();
  }
  absl::btree_set<NodeId> peers(table_.members().begin(), table_.members().end());
  for (const auto& [node, heard] : last_heard_ms_) peers.insert(node);
  for (const NodeId& s : options_.seeds) peers.insert(s);
  peers.erase(options_.self);
  Effects out;
  for (const NodeId& peer : peers) out.Send(peer, hb);
  return out;
}

Effects Membership::ReadinessPulls(const absl::btree_set<NodeId>& alive) {
  absl::btree_map<NodeId, msg::PartitionDigest> pulls;
  for (auto it = not_ready_.begin(); it != not_ready_.end();) {
    Readiness& r = it->second;
    bool died = false;
    for (auto a = r.awaiting.begin(); a != r.awaiting.end();) {
      died = died || !alive.contains(*a);
      a = alive.contains(*a) ? std::next(a) : r.awaiting.erase(a);
    }
    if (died) {
      // Ask every live member instead (fuzzing found a new owner whose only source died, ready
      // with nothing, applying again an entry it had applied before it dropped the partition,
      // while the last backup still held the mark).
      SG_PROBE("membership.pull_source_died");
      for (const NodeId& m : alive) {
        if (m != options_.self && !r.answered.contains(m)) r.awaiting.insert(m);
      }
    }
    if (r.awaiting.empty()) {
      it = not_ready_.erase(it);
      continue;
    }
    for (const NodeId& a : r.awaiting) {
      msg::PartitionDigest& d = pulls[a];
      d.pull = true;
      d.partitions.push_back(it->first);
      d.hashes.push_back(0);
    }
    ++it;
  }
  Effects out;
  for (auto& [node, d] : pulls) out.Send(node, std::move(d));
  return out;
}

void Membership::OnPulled(uint32_t p, const NodeId& from) {
  auto it = not_ready_.find(p);
  if (it == not_ready_.end()) return;
  it->second.awaiting.erase(from);
  it->second.answered.insert(from);
  if (it->second.awaiting.empty()) not_ready_.erase(it);
}

}  // namespace seedgrid
