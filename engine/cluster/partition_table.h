// PartitionTable: which servers own and back up each of the 271 partitions, at one version.
//
// A table is (version, author, members). Members are the sorted active servers; the owner and
// backups of partition p follow ReplicasOf (partition.h). Tables are totally ordered by
// NewerThan: the higher version wins, and at equal versions the smaller author (so two
// coordinators that published concurrently during a split brain resolve the same way everywhere).
#ifndef SEEDGRID_ENGINE_CLUSTER_PARTITION_TABLE_H_
#define SEEDGRID_ENGINE_CLUSTER_PARTITION_TABLE_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/cluster/partition.h"

namespace seedgrid {

class PartitionTable {
 public:
  PartitionTable() = default;
  // REQUIRES: members non-empty, unique node ids.
  PartitionTable(uint64_t version, std::string author, std::vector<std::string> members,
                 uint32_t backup_count);

  uint64_t version() const { return version_; }
  const std::string& author() const { return author_; }
  const std::vector<std::string>& members() const { return members_; }
  bool empty() const { return members_.empty(); }
  bool Contains(const std::string& node) const;

  // REQUIRES: !empty(), partition < kPartitionCount.
  const PartitionReplicas& replicas(uint32_t partition) const;
  const std::string& owner(uint32_t partition) const { return replicas(partition).owner; }
  bool IsReplica(uint32_t partition, const std::string& node) const;

  bool NewerThan(const PartitionTable& other) const;
  bool SameAs(const PartitionTable& other) const {
    return version_ == other.version_ && author_ == other.author_ && members_ == other.members_;
  }

 private:
  uint64_t version_ = 0;
  std::string author_;
  std::vector<std::string> members_;
  std::vector<PartitionReplicas> replicas_;  // kPartitionCount entries once built
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_CLUSTER_PARTITION_TABLE_H_
