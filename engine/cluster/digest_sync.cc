#include "engine/cluster/digest_sync.h"

#include <array>

#include "engine/base/probe.h"

namespace seedgrid {

msg::PartitionState DigestSync::StateOf(uint32_t p, msg::StatePurpose purpose, uint64_t id,
                                        const Membership& membership,
                                        const std::string& only_map) const {
  return partitions_.StateOf(p, purpose, id, membership.ready(p), only_map);
}

void DigestSync::OnGossip(const NodeId& from, const std::vector<msg::PartitionDigest>& digests) {
  auto& dir = directory_[from];
  dir.clear();
  for (const msg::PartitionDigest& d : digests) {
    auto& slots = dir[d.map_name];
    for (size_t i = 0; i < d.partitions.size() && i < d.hashes.size(); ++i) {
      slots[d.partitions[i]] = d.hashes[i];
    }
  }
}

Effects DigestSync::AntiEntropy(const Membership& membership) const {
  const PartitionTable& table = membership.table();
  absl::btree_map<NodeId, msg::PartitionDigest> digests;
  for (uint32_t p = 0; p < kPartitionCount; ++p) {
    const PartitionReplicas& r = table.replicas(p);
    if (r.owner != membership.self() || !membership.ready(p)) continue;
    const GridPartition* part = partitions_.get(p);
    const uint64_t h = part ? part->Digest(p) : 0;
    for (const NodeId& b : r.backups) {
      msg::PartitionDigest& d = digests[b];
      d.partitions.push_back(p);
      d.hashes.push_back(h);
    }
  }
  Effects out;
  for (auto& [node, d] : digests) out.Send(node, std::move(d));
  return out;
}

Effects DigestSync::OnDigest(const NodeId& from, const msg::PartitionDigest& m,
                             const Membership& membership, std::string& protocol_error) const {
  Effects out;
  if (!m.pull) {
    // Anti-entropy from an owner: answer every partition whose digest differs.
    for (size_t i = 0; i < m.partitions.size() && i < m.hashes.size(); ++i) {
      const uint32_t p = m.partitions[i];
      const GridPartition* part = partitions_.get(p);
      const uint64_t ours = part ? part->Digest(p) : 0;
      if (ours != m.hashes[i]) {
        SG_PROBE("cluster.backup_digest_differs");
        out.Send(from, StateOf(p, msg::StatePurpose::kSyncReply, 0, membership));
      }
    }
    return out;
  }
  if (m.requester.empty()) {
    // A new owner's readiness pull.
    for (uint32_t p : m.partitions) {
      out.Send(from, StateOf(p, msg::StatePurpose::kHandoff, 0, membership));
    }
    return out;
  }
  if (m.map_name.empty()) {
    protocol_error = "client pull without a map name";
    return out;
  }
  if (m.requester == from) return FanOutPull(from, m, membership);
  // Forwarded client pull: answer the client directly.
  for (uint32_t p : m.partitions) {
    out.Send(m.requester, StateOf(p, msg::StatePurpose::kClientLeaf, m.id, membership, m.map_name));
  }
  return out;
}

Effects DigestSync::FanOutPull(const NodeId& from, const msg::PartitionDigest& m,
                               const Membership& membership) const {
  // A client's pull at its gateway: fan out to the owners.
  Effects out;
  const PartitionTable& table = membership.table();
  if (table.empty()) return out;
  absl::btree_map<NodeId, msg::PartitionDigest> forward;
  for (size_t i = 0; i < m.partitions.size() && i < m.hashes.size(); ++i) {
    const uint32_t p = m.partitions[i];
    const NodeId& owner = table.owner(p);
    if (owner == membership.self()) {
      out.Send(from, StateOf(p, msg::StatePurpose::kClientLeaf, m.id, membership, m.map_name));
      continue;
    }
    SG_PROBE("cluster.client_pull_fanned_out");
    msg::PartitionDigest& f = forward[owner];
    f.id = m.id;
    f.map_name = m.map_name;
    f.pull = true;
    f.requester = m.requester;
    f.partitions.push_back(p);
    f.hashes.push_back(m.hashes[i]);
  }
  for (auto& [owner, f] : forward) out.Send(owner, std::move(f));
  return out;
}

msg::PartitionDigest DigestSync::DirectoryOf(const std::string& map,
                                             const Membership& membership) const {
  // Each partition's digest from its current owner: this server's own live digests, the others'
  // as last gossiped. One pass over the directory, not a lookup per partition.
  const PartitionTable& table = membership.table();
  std::array<uint64_t, kPartitionCount> slots{};
  for (uint32_t p = 0; p < kPartitionCount; ++p) {
    const GridPartition* part = partitions_.get(p);
    if (part != nullptr && table.owner(p) == membership.self()) slots[p] = part->MapDigest(map, p);
  }
  for (const auto& [owner, maps] : directory_) {
    auto it = maps.find(map);
    if (it == maps.end()) continue;
    for (const auto& [p, h] : it->second) {
      if (p < kPartitionCount && table.owner(p) == owner) slots[p] = h;
    }
  }
  msg::PartitionDigest d;
  d.map_name = map;
  for (uint32_t p = 0; p < kPartitionCount; ++p) {
    if (slots[p] == 0) continue;
    d.partitions.push_back(p);
    d.hashes.push_back(slots[p]);
  }
  return d;
}

Effects DigestSync::OnSyncInit(const NodeId& from, const msg::SyncInit& m,
                               const Membership& membership) const {
  Effects out;
  if (membership.table().empty()) return out;
  uint64_t root = 0;
  for (uint64_t h : DirectoryOf(m.map_name, membership).hashes) root ^= h;
  out.Send(from, msg::SyncRoot{m.map_name, m.kind, m.depth, root});
  return out;
}

Effects DigestSync::OnBucketsRequest(const NodeId& from, const msg::SyncBucketsRequest& m,
                                     const Membership& membership) const {
  Effects out;
  if (membership.table().empty()) return out;
  out.Send(from, DirectoryOf(m.map_name, membership));
  return out;
}

}  // namespace seedgrid
