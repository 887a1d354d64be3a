#include "engine/cluster/partition_table.h"

#include <algorithm>

#include "engine/base/assert.h"

namespace seedgrid {

PartitionTable::PartitionTable(uint64_t version, std::string author,
                               std::vector<std::string> members, uint32_t backup_count)
    : version_(version), author_(std::move(author)), members_(std::move(members)) {
  SG_ASSERT(!members_.empty());
  std::sort(members_.begin(), members_.end());
  replicas_.reserve(kPartitionCount);
  for (uint32_t p = 0; p < kPartitionCount; ++p) {
    absl::StatusOr<PartitionReplicas> r = ReplicasOf(p, members_, backup_count);
    SG_ASSERT(r.ok());
    replicas_.push_back(*std::move(r));
  }
}

bool PartitionTable::Contains(const std::string& node) const {
  return std::binary_search(members_.begin(), members_.end(), node);
}

const PartitionReplicas& PartitionTable::replicas(uint32_t partition) const {
  SG_ASSERT(!replicas_.empty());
  SG_ASSERT(partition < kPartitionCount);
  return replicas_[partition];
}

bool PartitionTable::IsReplica(uint32_t partition, const std::string& node) const {
  const PartitionReplicas& r = replicas(partition);
  return r.owner == node || std::find(r.backups.begin(), r.backups.end(), node) != r.backups.end();
}

bool PartitionTable::NewerThan(const PartitionTable& other) const {
  if (version_ != other.version_) return version_ > other.version_;
  if (author_ != other.author_) return author_ < other.author_;
  return false;
}

}  // namespace seedgrid
