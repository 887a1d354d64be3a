#include "engine/cluster/partition.h"

#include <algorithm>

#include <fmt/format.h>

namespace seedgrid {

std::u16string Utf8ToUtf16(std::string_view utf8) {
  std::u16string out;
  out.reserve(utf8.size());
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(utf8[i]); };
  size_t i = 0;
  while (i < utf8.size()) {
    const uint8_t lead = byte(i);
    uint32_t cp = 0;
    size_t len = 0;
    uint32_t min = 0;
    if (lead < 0x80) {
      cp = lead, len = 1, min = 0;
    } else if ((lead & 0xE0) == 0xC0) {
      cp = lead & 0x1F, len = 2, min = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
      cp = lead & 0x0F, len = 3, min = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
      cp = lead & 0x07, len = 4, min = 0x10000;
    } else {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    bool valid = i + len <= utf8.size();
    for (size_t k = 1; valid && k < len; ++k) {
      if ((byte(i + k) & 0xC0) != 0x80) {
        valid = false;
      } else {
        cp = (cp << 6) | (byte(i + k) & 0x3F);
      }
    }
    if (!valid || cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      out.push_back(0xFFFD);
      ++i;  // Replace one byte and resynchronise on the next.
      continue;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out.push_back(static_cast<char16_t>(0xD800 + (cp >> 10)));
      out.push_back(static_cast<char16_t>(0xDC00 + (cp & 0x3FF)));
    } else {
      out.push_back(static_cast<char16_t>(cp));
    }
    i += len;
  }
  return out;
}

uint32_t Fnv1aUtf16(std::string_view key) {
  uint32_t hash = 2166136261u;
  for (char16_t unit : Utf8ToUtf16(key)) {
    hash ^= unit;
    hash *= 16777619u;  // Wraps mod 2^32, as Math.imul does.
  }
  return hash;
}

uint32_t PartitionOf(std::string_view key) { return Fnv1aUtf16(key) % kPartitionCount; }

absl::StatusOr<PartitionReplicas> ReplicasOf(uint32_t partition, std::vector<std::string> members,
                                             uint32_t backup_count) {
  if (partition >= kPartitionCount) {
    return absl::InvalidArgumentError(
        fmt::format("partition {} out of range 0..{}", partition, kPartitionCount - 1));
  }
  if (members.empty()) return absl::InvalidArgumentError("no active members to own partitions");
  std::sort(members.begin(), members.end());
  if (auto dup = std::adjacent_find(members.begin(), members.end()); dup != members.end()) {
    return absl::InvalidArgumentError(fmt::format("member '{}' is listed twice", *dup));
  }
  const size_t n = members.size();
  const size_t owner = partition % n;
  PartitionReplicas replicas{members[owner], {}};
  const size_t backups = std::min<size_t>(backup_count, n - 1);
  for (size_t k = 1; k <= backups; ++k) replicas.backups.push_back(members[(owner + k) % n]);
  return replicas;
}

}  // namespace seedgrid
