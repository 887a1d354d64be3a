// Key hashing and partition ownership, matching TopGun.
//
// Fnv1aUtf16: FNV-1a 32-bit over the key's UTF-16 code units, each code unit XORed in whole
// (not byte by byte), as JavaScript's charCodeAt loop does. Keys are UTF-8, decoded by the WHATWG
// algorithm that a JavaScript TextDecoder uses: each maximal invalid subpart becomes one U+FFFD.
// (A JavaScript string holding a lone surrogate has no UTF-8 form, so such keys cannot arrive.)
// PartitionOf(key) = Fnv1aUtf16(key) % 271.
// Owner of partition p = sorted active members[p % n]; backups = the next backup_count members,
// wrapping around (never the owner twice; at most n - 1 backups).
#ifndef SEEDGRID_ENGINE_CLUSTER_PARTITION_H_
#define SEEDGRID_ENGINE_CLUSTER_PARTITION_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace seedgrid {

inline constexpr uint32_t kPartitionCount = 271;
inline constexpr uint32_t kBackupCountDefault = 1;

// UTF-8 -> UTF-16 code units (surrogate pairs for code points above U+FFFF).
std::u16string Utf8ToUtf16(std::string_view utf8);
uint32_t Fnv1aUtf16(std::string_view key);
uint32_t PartitionOf(std::string_view key);

struct PartitionReplicas {
  std::string owner;
  std::vector<std::string> backups;
};

// Owner and backups of `partition` among `members` (any order; duplicates are an error).
// InvalidArgument for no members, a duplicate member, or partition >= kPartitionCount.
absl::StatusOr<PartitionReplicas> ReplicasOf(uint32_t partition, std::vector<std::string> members,
                                             uint32_t backup_count = kBackupCountDefault);

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_CLUSTER_PARTITION_H_
