// DigestSync: everything that compares partition digests — owner-to-backup anti-entropy, the
// gossiped digest directory, client sync (SyncInit / SyncBucketsRequest / pulls) and readiness
// pulls answered. Reads the partitions; never writes them (merges go through the GridServer).
//
// Contract.
// - Anti-entropy: an owner sends each backup the digests of their shared, ready partitions; a
//   backup whose digest differs answers with its full state (kSyncReply).
// - Client sync: SyncRoot is the XOR of the owners' digests of the map as last gossiped (own
//   partitions: live); buckets are those digests per partition; a client's pull at its gateway is
//   fanned out to the owners, which answer the client with ClientLeaf states.
// - HTTP sync pulls (PullForHttp): the partitions of each requested map whose directory digest
//   differs from the client's mark, at most partitions_max per request, continued by a cursor
//   "MAP:PARTITION" (the next map and partition to compare). Own partitions answer at once; the
//   others are pulled from their owners with this server as the requester.
// Determinism: btree containers; messages built in partition order.
#ifndef SEEDGRID_ENGINE_CLUSTER_DIGEST_SYNC_H_
#define SEEDGRID_ENGINE_CLUSTER_DIGEST_SYNC_H_

#include <array>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/status/statusor.h"
#include "engine/cluster/effects.h"
#include "engine/cluster/grid_partition.h"
#include "engine/cluster/membership.h"

namespace seedgrid {

struct HttpPull {
  std::vector<msg::PartitionState> leaves;  // own partitions: answered now
  Effects requests;                         // pulls to the other partitions' owners
  // (pull id, partition) of every leaf the requests ask for, with the client's digest of it.
  std::vector<std::pair<std::pair<uint64_t, uint32_t>, uint64_t>> awaited;
  std::string cursor;  // empty: every differing partition is covered
};

class DigestSync {
 public:
  explicit DigestSync(const PartitionSet& partitions) : partitions_(partitions) {}

  // The owned digests a heartbeat carried (replaces what `from` gossiped before).
  void OnGossip(const NodeId& from, const std::vector<msg::PartitionDigest>& digests);
  // Owner -> backups: the digests of every owned, ready partition.
  Effects AntiEntropy(const Membership& membership) const;
  // Anti-entropy digests, readiness pulls and client pulls. `protocol_error` names bad input.
  Effects OnDigest(const NodeId& from, const msg::PartitionDigest& m, const Membership& membership,
                   std::string& protocol_error) const;
  Effects OnSyncInit(const NodeId& from, const msg::SyncInit& m,
                     const Membership& membership) const;
  Effects OnBucketsRequest(const NodeId& from, const msg::SyncBucketsRequest& m,
                           const Membership& membership) const;
  // An HTTP sync request's pulls (see the contract). `next_id` gives each pull request's id.
  // InvalidArgument naming the cursor when it is not one of this request's.
  absl::StatusOr<HttpPull> PullForHttp(const std::vector<msg::MapMarks>& marks,
                                       std::string_view cursor, size_t partitions_max,
                                       const std::function<uint64_t()>& next_id,
                                       const Membership& membership) const;

 private:
  // Every partition's digest of `map` from its owner as last gossiped (own partitions: live).
  msg::PartitionDigest DirectoryOf(const std::string& map, const Membership& membership) const;
  Effects FanOutPull(const NodeId& from, const msg::PartitionDigest& m,
                     const Membership& membership) const;
  msg::PartitionState StateOf(uint32_t p, msg::StatePurpose purpose, uint64_t id,
                              const Membership& membership, const std::string& only_map = "") const;

  // DirectoryOf's parts that change only with a gossip or a table (a client's SyncInit and
  // SyncBucketsRequest each ask for it; gossip arrives a few times a second): this server's owned
  // partitions, and per map the digests gossiped by each partition's owner.
  struct DirectoryCache {
    PartitionTable table;
    uint64_t gossip_generation = 0;
    std::vector<uint32_t> owned;
    absl::btree_map<std::string, std::array<uint64_t, kPartitionCount>> gossiped;
  };
  const DirectoryCache& Cache(const Membership& membership) const;

  const PartitionSet& partitions_;
  // One map's digests from one owner's last heartbeat: (partition, digest) in the order sent (a
  // later pair for the same partition wins, as readers apply them in order). A vector, not a
  // tree: 50 maps x 50 partitions arrive per heartbeat, and were 4 % of a grid run as btree
  // inserts.
  struct Gossiped {
    uint64_t generation = 0;  // the gossip that last wrote it
    std::vector<std::pair<uint32_t, uint64_t>> digests;
  };
  // Gossiped digests: owner -> map -> its digests (from its last heartbeat).
  absl::btree_map<NodeId, absl::btree_map<std::string, Gossiped>> directory_;
  uint64_t gossip_generation_ = 1;
  mutable DirectoryCache cache_;
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_CLUSTER_DIGEST_SYNC_H_
