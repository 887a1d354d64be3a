#include "engine/cluster/digest_sync.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <iterator>

#include "engine/base/probe.h"

namespace seedgrid {

msg::PartitionState DigestSync::StateOf(uint32_t p, msg::StatePurpose purpose, uint64_t id,
                                        const Membership& membership,
                                        const std::string& only_map) const {
  return partitions_.StateOf(p, purpose, id, membership.ready(p), only_map);
}

void DigestSync::OnGossip(const NodeId& from, const std::vector<msg::PartitionDigest>& digests) {
  const uint64_t generation = ++gossip_generation_;
  auto& dir = directory_[from];
  // Entries this gossip names are refilled in place (their vectors keep their capacity: a server
  // gossips the same maps every time); the others are dropped below.
  for (const msg::PartitionDigest& d : digests) {
    Gossiped& g = dir[d.map_name];
    if (g.generation != generation) {
      g.generation = generation;
      g.digests.clear();
    }
    const size_t n = std::min(d.partitions.size(), d.hashes.size());
    for (size_t i = 0; i < n; ++i) g.digests.emplace_back(d.partitions[i], d.hashes[i]);
  }
  for (auto it = dir.begin(); it != dir.end();) {
    it = it->second.generation == generation ? std::next(it) : dir.erase(it);
  }
}

Effects DigestSync::AntiEntropy(const Membership& membership) const {
  const PartitionTable& table = membership.table();
  absl::btree_map<NodeId, msg::PartitionDigest> digests;
  for (uint32_t p = 0; p < kPartitionCount; ++p) {
    const PartitionReplicas& r = table.replicas(p);
    if (r.owner != membership.self() || !membership.ready(p)) continue;
    const GridPartition* part = partitions_.get(p);
    const uint64_t h = part ? part->Digest() : 0;
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
    // Anti-entropy from an owner: answer every partition whose digest differs, batched.
    std::vector<msg::PartitionState> replies;
    for (size_t i = 0; i < m.partitions.size() && i < m.hashes.size(); ++i) {
      const uint32_t p = m.partitions[i];
      const GridPartition* part = partitions_.get(p);
      const uint64_t ours = part ? part->Digest() : 0;
      if (ours != m.hashes[i]) {
        SG_PROBE("cluster.backup_digest_differs");
        replies.push_back(StateOf(p, msg::StatePurpose::kSyncReply, 0, membership));
      }
    }
    out.SendStates(from, std::move(replies));
    return out;
  }
  if (m.requester.empty()) {
    // A new owner's readiness pull: every partition it asks for, batched.
    std::vector<msg::PartitionState> states;
    for (uint32_t p : m.partitions) {
      states.push_back(StateOf(p, msg::StatePurpose::kHandoff, 0, membership));
    }
    out.SendStates(from, std::move(states));
    return out;
  }
  if (m.map_name.empty()) {
    protocol_error = "client pull without a map name";
    return out;
  }
  if (m.requester == from) return FanOutPull(from, m, membership);
  // Forwarded client pull: answer the client directly, its leaves batched.
  std::vector<msg::PartitionState> leaves;
  for (uint32_t p : m.partitions) {
    leaves.push_back(StateOf(p, msg::StatePurpose::kClientLeaf, m.id, membership, m.map_name));
  }
  out.SendStates(m.requester, std::move(leaves));
  return out;
}

Effects DigestSync::FanOutPull(const NodeId& from, const msg::PartitionDigest& m,
                               const Membership& membership) const {
  // A client's pull at its gateway: fan out to the owners.
  Effects out;
  const PartitionTable& table = membership.table();
  if (table.empty()) return out;
  absl::btree_map<NodeId, msg::PartitionDigest> forward;
  std::vector<msg::PartitionState> own;  // leaves of this server's partitions, batched
  for (size_t i = 0; i < m.partitions.size() && i < m.hashes.size(); ++i) {
    const uint32_t p = m.partitions[i];
    const NodeId& owner = table.owner(p);
    if (owner == membership.self()) {
      own.push_back(StateOf(p, msg::StatePurpose::kClientLeaf, m.id, membership, m.map_name));
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
  out.SendStates(from, std::move(own));
  for (auto& [owner, f] : forward) out.Send(owner, std::move(f));
  return out;
}

namespace {
constexpr size_t kDirectoryCacheMapsMax = 1024;  // ~2.2 MB of cached digests at most
}  // namespace

const DigestSync::DirectoryCache& DigestSync::Cache(const Membership& membership) const {
  const PartitionTable& table = membership.table();
  if (cache_.gossip_generation == gossip_generation_ && cache_.table.SameAs(table)) return cache_;
  cache_.table = table;
  cache_.gossip_generation = gossip_generation_;
  cache_.owned.clear();
  cache_.gossiped.clear();
  for (uint32_t p = 0; p < kPartitionCount; ++p) {
    if (table.owner(p) == membership.self()) cache_.owned.push_back(p);
  }
  return cache_;
}

msg::PartitionDigest DigestSync::DirectoryOf(const std::string& map,
                                             const Membership& membership) const {
  // Each partition's digest from its current owner: this server's own live digests, the others'
  // as last gossiped (one pass over the directory per map until the next gossip or table).
  const DirectoryCache& cache = Cache(membership);
  // Bounded: map names come from clients, and a lone server hears no gossip that would clear it.
  if (cache_.gossiped.size() >= kDirectoryCacheMapsMax && !cache_.gossiped.contains(map)) {
    cache_.gossiped.clear();
  }
  auto [gossiped, fresh] = cache_.gossiped.try_emplace(map);
  std::array<uint64_t, kPartitionCount>& from_owners = gossiped->second;
  if (fresh) {
    from_owners.fill(0);
    const PartitionTable& table = membership.table();
    for (const auto& [owner, maps] : directory_) {
      auto it = maps.find(map);
      if (it == maps.end()) continue;
      for (const auto& [p, h] : it->second.digests) {
        if (p < kPartitionCount && table.owner(p) == owner) from_owners[p] = h;
      }
    }
  }
  std::array<uint64_t, kPartitionCount> slots = from_owners;
  for (uint32_t p : cache.owned) {
    const GridPartition* part = partitions_.get(p);
    if (part != nullptr) slots[p] = part->MapDigest(map);
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

namespace {

struct CursorAt {
  size_t map = 0;
  uint32_t partition = 0;
};

absl::StatusOr<CursorAt> ParseCursor(std::string_view cursor,
                                     const std::vector<msg::MapMarks>& marks) {
  if (cursor.empty()) return CursorAt{};
  const auto bad = [cursor](std::string_view why) {
    return absl::InvalidArgumentError(fmt::format("cursor '{}': {}", cursor, why));
  };
  const size_t colon = cursor.rfind(':');
  if (colon == std::string_view::npos) return bad("not a cursor (expected MAP:PARTITION)");
  const std::string_view map = cursor.substr(0, colon);
  const std::string_view digits = cursor.substr(colon + 1);
  uint32_t p = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), p);
  if (ec != std::errc() || end != digits.data() + digits.size() || p >= kPartitionCount) {
    return bad(fmt::format("partition '{}' is not 0..{}", digits, kPartitionCount - 1));
  }
  for (size_t i = 0; i < marks.size(); ++i) {
    if (marks[i].map_name == map) return CursorAt{i, p};
  }
  return bad(fmt::format("map '{}' is not one this request syncs", map));
}

}  // namespace

absl::StatusOr<HttpPull> DigestSync::PullForHttp(const std::vector<msg::MapMarks>& marks,
                                                 std::string_view cursor, size_t partitions_max,
                                                 const std::function<uint64_t()>& next_id,
                                                 const Membership& membership) const {
  absl::StatusOr<CursorAt> at = ParseCursor(cursor, marks);
  if (!at.ok()) return at.status();
  HttpPull out;
  const PartitionTable& table = membership.table();
  if (table.empty()) return out;
  size_t taken = 0;
  for (size_t m = at->map; m < marks.size(); ++m) {
    const msg::MapMarks& mark = marks[m];
    std::array<uint64_t, kPartitionCount> theirs{};
    for (size_t i = 0; i < mark.partitions.size() && i < mark.digests.size(); ++i) {
      theirs[mark.partitions[i]] = mark.digests[i];
    }
    const msg::PartitionDigest dir = DirectoryOf(mark.map_name, membership);
    std::array<uint64_t, kPartitionCount> ours{};
    for (size_t i = 0; i < dir.partitions.size(); ++i) ours[dir.partitions[i]] = dir.hashes[i];
    absl::btree_map<NodeId, msg::PartitionDigest> pulls;
    const uint64_t id = next_id();
    for (uint32_t p = m == at->map ? at->partition : 0; p < kPartitionCount; ++p) {
      if (ours[p] == theirs[p]) continue;
      if (taken == partitions_max) {
        out.cursor = fmt::format("{}:{}", mark.map_name, p);
        break;
      }
      ++taken;
      const NodeId& owner = table.owner(p);
      if (owner == membership.self()) {
        out.leaves.push_back(
            StateOf(p, msg::StatePurpose::kClientLeaf, id, membership, mark.map_name));
        continue;
      }
      msg::PartitionDigest& pull = pulls[owner];
      pull.id = id;
      pull.map_name = mark.map_name;
      pull.pull = true;
      pull.requester = membership.self();
      pull.partitions.push_back(p);
      pull.hashes.push_back(theirs[p]);
      out.awaited.push_back({{id, p}, theirs[p]});
    }
    for (auto& [owner, pull] : pulls) out.requests.Send(owner, std::move(pull));
    if (!out.cursor.empty()) break;
  }
  return out;
}

}  // namespace seedgrid
