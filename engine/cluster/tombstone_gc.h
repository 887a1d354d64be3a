// Tombstone GC: when an owner may prune, and how far (the horizon). The horizon is a pure
// function of the clocks the servers reported (GcHorizon, tested by hand); TombstoneGc adds the
// pacing and applies it to the owned, ready partitions.
//
// Rule (docs/architecture.md, "Tombstone GC"): the horizon is
//   min(every known server's HLC as last reported in its heartbeat, this server's) - grace_ms,
// taken only when every server this one knows of (gracefully leaving ones excepted) has been
// alive, and the table unchanged, for grace_ms. A dead server blocks GC until it returns or
// leaves. A round runs at most every grace_ms / 4.
#ifndef SEEDGRID_ENGINE_CLUSTER_TOMBSTONE_GC_H_
#define SEEDGRID_ENGINE_CLUSTER_TOMBSTONE_GC_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "engine/cluster/grid_partition.h"
#include "engine/cluster/membership.h"

namespace seedgrid {

struct GcInputs {
  uint64_t now_ms = 0;
  uint64_t own_hlc_ms = 0;  // this server's HLC (last issued)
  uint64_t grace_ms = 0;
  uint64_t stable_since_ms = 0;                              // live set and table unchanged since
  const absl::btree_map<NodeId, uint64_t>* known = nullptr;  // every known peer (last heard)
  const absl::btree_set<NodeId>* leaving = nullptr;          // gracefully leaving peers
  const absl::btree_set<NodeId>* stable_alive = nullptr;     // the live set
  const absl::btree_map<NodeId, uint64_t>* peer_hlc_ms = nullptr;  // last reported HLCs
};

// True when the cluster has been stable for a whole grace period.
bool GcStable(const GcInputs& in);
// The safe horizon, or nullopt when GC must not run (unstable, a peer not alive or not reported,
// or the horizon would be 0). REQUIRES: every pointer in `in` set.
std::optional<uint64_t> GcHorizon(const GcInputs& in);

class TombstoneGc {
 public:
  explicit TombstoneGc(uint64_t grace_ms) : grace_ms_(grace_ms) {}
  // One round (paced): prunes the owned, ready partitions below the horizon. Returns the
  // partitions whose watermark rose (their backups should learn it), or nullopt when no round was
  // due (unstable or paced).
  std::optional<std::vector<uint32_t>> Run(uint64_t now_ms, uint64_t own_hlc_ms,
                                           const Membership& membership, PartitionSet& partitions);

 private:
  uint64_t grace_ms_;
  uint64_t last_gc_ms_ = 0;
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_CLUSTER_TOMBSTONE_GC_H_
