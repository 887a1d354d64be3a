#include "engine/cluster/partition.h"

#include <fmt/format.h>

#include <algorithm>

namespace seedgrid {

// The WHATWG Encoding Standard's UTF-8 decoder (what JavaScript's TextDecoder does): each
// maximal invalid subpart becomes one U+FFFD, and the offending byte is then decoded afresh.
std::u16string Utf8ToUtf16(std::string_view utf8) {
  std::u16string out;
  out.reserve(utf8.size());
  uint32_t code_point = 0;
  int bytes_needed = 0;
  int bytes_seen = 0;
  uint8_t lower = 0x80;
  uint8_t upper = 0xBF;
  const auto emit = [&out](uint32_t cp) {
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out.push_back(static_cast<char16_t>(0xD800 + (cp >> 10)));
      out.push_back(static_cast<char16_t>(0xDC00 + (cp & 0x3FF)));
    } else {
      out.push_back(static_cast<char16_t>(cp));
    }
  };
  for (size_t i = 0; i < utf8.size();) {
    const uint8_t byte = static_cast<uint8_t>(utf8[i]);
    if (bytes_needed == 0) {
      ++i;
      if (byte <= 0x7F) {
        emit(byte);
      } else if (byte >= 0xC2 && byte <= 0xDF) {
        bytes_needed = 1;
        code_point = byte & 0x1F;
      } else if (byte >= 0xE0 && byte <= 0xEF) {
        if (byte == 0xE0) lower = 0xA0;
        if (byte == 0xED) upper = 0x9F;
        bytes_needed = 2;
        code_point = byte & 0x0F;
      } else if (byte >= 0xF0 && byte <= 0xF4) {
        if (byte == 0xF0) lower = 0x90;
        if (byte == 0xF4) upper = 0x8F;
        bytes_needed = 3;
        code_point = byte & 0x07;
      } else {
        emit(0xFFFD);
      }
      continue;
    }
    if (byte < lower || byte > upper) {
      // Invalid continuation: one U+FFFD for the subpart so far; reprocess this byte (no ++i).
      code_point = 0;
      bytes_needed = bytes_seen = 0;
      lower = 0x80;
      upper = 0xBF;
      emit(0xFFFD);
      continue;
    }
    ++i;
    lower = 0x80;
    upper = 0xBF;
    code_point = (code_point << 6) | (byte & 0x3F);
    if (++bytes_seen == bytes_needed) {
      emit(code_point);
      code_point = 0;
      bytes_needed = bytes_seen = 0;
    }
  }
  if (bytes_needed != 0) emit(0xFFFD);  // Truncated at the end.
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
