// GridPartition and PartitionSet: the partitions one grid server holds, and the rules that change
// them (merge, watermark, marks). No network, no timers; pages go to the PartitionStore.
//
// Contract.
// - A held partition has one LWW map per map name, its PN-Counters (a CounterMap per map name
//   that has counters) and its OR-Map entries (an OrMap per map name that has any; such names
//   always have their LWW map too, maybe empty), the applied marks
//   (client -> highest op-log seq applied) and the tombstone GC watermark `pruned_below_ms`. Every
//   change passes through the map listeners: digests, the ChangeHook (live queries) and the
//   PartitionStore (pages).
// - GC invariant: a replica whose watermark is W holds every live record stamped before W. So
//   MergeState refuses a record (an OR item) older than W that it lacks, and a full state with
//   watermark W makes the receiver forget what it holds before W that the state lacks
//   (docs/architecture.md). OR tombstones older than W are pruned here, so merged ones are too.
// - While restoring (set_restoring) nothing is written to the store and watermarks are not
//   enforced (pages come in any order).
// Determinism: btree containers; states are built in key order.
#ifndef SEEDGRID_ENGINE_CLUSTER_GRID_PARTITION_H_
#define SEEDGRID_ENGINE_CLUSTER_GRID_PARTITION_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "engine/cluster/partition_table.h"
#include "engine/cluster/record_digest.h"
#include "engine/crdt/counter_map.h"
#include "engine/crdt/lww_map.h"
#include "engine/crdt/or_map.h"
#include "engine/events/node_events.h"
#include "engine/hlc/hlc.h"
#include "engine/wire/messages.h"

namespace seedgrid {

class PartitionStore;

// A partition's applied marks (client -> highest op-log seq applied) and the XOR of their hashes,
// kept as they change: a partition's digest covers its marks, and with hundreds of clients
// rehashing every mark on each change was most of an anti-entropy round.
class AppliedMarks {
 public:
  // The client's mark. A client not seen before gets mark 0, which is held (and digested) like
  // any other: replicas that exchanged states hold the same zero marks.
  uint64_t Of(const std::string& client);
  // Raises the client's mark to seq (inserting it); true when it moved.
  bool Raise(const std::string& client, uint64_t seq);
  uint64_t at(const std::string& client) const { return marks_.at(client); }
  auto begin() const { return marks_.begin(); }
  auto end() const { return marks_.end(); }
  size_t size() const { return marks_.size(); }
  bool empty() const { return marks_.empty(); }
  uint64_t digest() const { return digest_; }

 private:
  absl::btree_map<std::string, uint64_t> marks_;
  uint64_t digest_ = 0;  // XOR of MarkHash(client, seq) over marks_
};

// One held partition: a map per name, counters, applied marks, digests.
struct GridPartition {
  absl::btree_map<std::string, std::unique_ptr<LwwMap>> maps;
  absl::btree_map<std::string, std::unique_ptr<CounterMap>> counters;  // only maps that have any
  const CounterMap* CountersOf(const std::string& map) const {
    auto it = counters.find(map);
    return it == counters.end() ? nullptr : it->second.get();
  }
  absl::btree_map<std::string, std::unique_ptr<OrMap>> or_maps;  // only maps that have any
  const OrMap* OrMapOf(const std::string& map) const {
    auto it = or_maps.find(map);
    return it == or_maps.end() ? nullptr : it->second.get();
  }
  // Per map, this partition's digest of it: records, counters, OR entries (record_digest.h).
  // std::map: listeners hold pointers to the values, and btree maps move their values on insert.
  std::map<std::string, uint64_t> digests;
  AppliedMarks applied;
  uint64_t pruned_below_ms = 0;  // tombstone GC watermark
  // Maps and marks combined; cached until Touch() (every change calls it).
  uint64_t Digest() const;
  uint64_t MapDigest(const std::string& map) const;
  void Touch() { digest_stale = true; }
  mutable bool digest_stale = true;
  mutable uint64_t digest_cached = 0;
};

// kPartitionCount slots, null when the partition is not held.
using PartitionSlots = std::vector<std::unique_ptr<GridPartition>>;

// Full states carry the sender's whole partition, so their watermark proves what they lack dead.
bool IsFullState(msg::StatePurpose purpose);
// The digest the sender of `state` has for it (GridPartition::Digest of the same contents).
uint64_t StateDigest(const msg::PartitionState& state);

struct PartitionStats {
  uint64_t tombstones_pruned = 0;
  uint64_t counters_raised = 0;    // counter entries raised by merged states
  uint64_t or_entries_merged = 0;  // OR entries changed by merged states
  uint64_t records_refused = 0;    // older than the watermark, for a key the partition lacks
  uint64_t records_forgotten = 0;  // older than a full state's watermark and absent from it
  uint64_t protocol_errors = 0;
  std::string last_error;
};

class PartitionSet {
 public:
  // Called for every change of a record (`lww`) or an OR entry (`or_change`): one is null.
  using ChangeHook = std::function<void(uint32_t p, const std::string& map, const LwwChange* lww,
                                        const OrChange* or_change)>;
  // `store` is null when the server does not persist. Both outlive the set.
  PartitionSet(Hlc& hlc, PartitionStore* store, ChangeHook on_change, events::EventSink events);
  PartitionSet(const PartitionSet&) = delete;
  PartitionSet& operator=(const PartitionSet&) = delete;

  const PartitionSlots& slots() const { return slots_; }
  const GridPartition* get(uint32_t p) const { return slots_[p].get(); }
  bool held(uint32_t p) const { return slots_[p] != nullptr; }
  bool empty() const;
  GridPartition& Hold(uint32_t p);
  // Forgets the partition and erases its pages (the caller syncs) — except its applied marks,
  // kept in memory and on disk and given back when the partition is held again: a server that
  // dropped a partition and becomes its owner again must not apply an entry it applied before,
  // even when no server that held the partition since is alive to tell it.
  void Drop(uint32_t p);
  LwwMap& MapOf(uint32_t p, const std::string& name);
  CounterMap& CountersOf(uint32_t p, const std::string& name);
  OrMap& OrMapOf(uint32_t p, const std::string& name);

  // Merges records, counters, OR entries and marks (and a full state's watermark); returns how
  // many records, counters and OR entries changed.
  size_t MergeState(const msg::PartitionState& state);
  // The partition's state; `with_watermark` false while the partition is still pulling (the
  // watermark claims "I hold every live record before it").
  msg::PartitionState StateOf(uint32_t p, msg::StatePurpose purpose, uint64_t id,
                              bool with_watermark, const std::string& only_map = "") const;
  // Raises a client's applied mark (persisted); returns true when it moved.
  bool RaiseMark(uint32_t p, const std::string& client, uint64_t seq);
  // Raises p's watermark to w (no-op unless higher); the HLC moves past it.
  void SetWatermark(uint32_t p, uint64_t w);
  // Restore only: a stored watermark, taken as is.
  void RestoreWatermark(uint32_t p, uint64_t w);
  // Prunes p's tombstones older than horizon_ms; raises the watermark when any was pruned.
  // Returns how many were pruned.
  size_t Prune(uint32_t p, uint64_t horizon_ms);

  // The digests of the partitions `self` owns under `table`, per map (heartbeat gossip).
  std::vector<msg::PartitionDigest> OwnedDigests(const PartitionTable& table,
                                                 const NodeId& self) const;

  void set_restoring(bool restoring) { restoring_ = restoring; }
  const PartitionStats& stats() const { return stats_; }

 private:
  void AdoptWatermark(const msg::PartitionState& full);
  void MergeMarks(const msg::PartitionState& state);
  size_t MergeRecords(uint32_t p, const msg::MapRecords& m);
  size_t MergeCounters(uint32_t p, const msg::MapRecords& m);
  size_t MergeOr(uint32_t p, const msg::MapRecords& m);
  // AdoptWatermark's part for OR-Maps: the items before w that `full` lacks are forgotten, and
  // tombstones before w pruned.
  void AdoptOrWatermark(GridPartition& part, const msg::PartitionState& full, uint64_t w);
  void Fail(std::string error);

  Hlc& hlc_;
  PartitionStore* store_;
  ChangeHook on_change_;
  events::EventSink events_;
  PartitionSlots slots_;
  // The applied marks of dropped partitions (client -> seq), until they are held again.
  absl::btree_map<uint32_t, AppliedMarks> kept_marks_;
  bool restoring_ = false;
  PartitionStats stats_;
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_CLUSTER_GRID_PARTITION_H_
