// Per-partition digests of grid maps, shared by grid servers and clients.
//
// The digest of (map, partition) is the XOR of RecordHash(key, record) over the map's records
// whose key falls in the partition, of EntryHash over its counters' entries
// (engine/crdt/counter_map.h) and of OrEntryHash over its OR-Map entries (msg::RecordsDigest of
// the same contents): order-independent, O(1) to
// update on every change, and equal on two replicas exactly when (up to 64-bit collisions) they
// hold the same records. Servers gossip their owned partitions' digests; a client compares its own
// against them to pull only the partitions that differ (the grid's Merkle levels are root ->
// partitions -> records).
#ifndef SEEDGRID_ENGINE_CLUSTER_RECORD_DIGEST_H_
#define SEEDGRID_ENGINE_CLUSTER_RECORD_DIGEST_H_

#include <array>
#include <cstdint>

#include "engine/cluster/partition.h"
#include "engine/crdt/counter_map.h"
#include "engine/crdt/lww_map.h"
#include "engine/crdt/or_map.h"

namespace seedgrid {

// Folds one change into one partition's digest: XOR out the old record, XOR in the new one.
inline void FoldChange(uint64_t& digest, const LwwChange& change) {
  if (change.old_record != nullptr) digest ^= RecordHash(change.key, *change.old_record);
  if (change.new_record != nullptr) digest ^= RecordHash(change.key, *change.new_record);
}

// Folds one counter entry's change into one partition's digest.
inline void FoldChange(uint64_t& digest, const CounterChange& change) {
  if (change.old_totals != nullptr) {
    digest ^= EntryHash(change.key, change.writer, *change.old_totals);
  }
  digest ^= EntryHash(change.key, change.writer, change.new_totals);
}

// Folds one OR-Map entry's change into one partition's digest.
inline void FoldChange(uint64_t& digest, const OrChange& change) {
  if (change.old_entry != nullptr) digest ^= OrEntryHash(change.key, *change.old_entry);
  if (change.new_entry != nullptr) digest ^= OrEntryHash(change.key, *change.new_entry);
}

// Every partition's digest of one map (a client's view of a map).
class PartitionDigests {
 public:
  void Apply(const CounterChange& change) { FoldChange(digests_[PartitionOf(change.key)], change); }
  void Apply(const OrChange& change) { FoldChange(digests_[PartitionOf(change.key)], change); }
  void Apply(const LwwChange& change, uint32_t partition) {
    FoldChange(digests_[partition], change);
  }
  void Apply(const LwwChange& change) { Apply(change, PartitionOf(change.key)); }
  uint64_t of(uint32_t partition) const { return digests_[partition]; }
  // XOR of every partition's digest.
  uint64_t Root() const {
    uint64_t r = 0;
    for (uint64_t d : digests_) r ^= d;
    return r;
  }

 private:
  std::array<uint64_t, kPartitionCount> digests_{};
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_CLUSTER_RECORD_DIGEST_H_
