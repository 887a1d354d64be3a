#include "engine/cluster/partition.h"

#include <fmt/format.h>

#include <algorithm>

namespace seedgrid {

namespace {

// The WHATWG Encoding Standard's UTF-8 decoder (what JavaScript's TextDecoder does): each
// maximal invalid subpart becomes one U+FFFD, and the offending byte is then decoded afresh.
// `unit` gets the UTF-16 code units in order (a code point past U+FFFF as its surrogate pair).
template <typename Unit>
void DecodeUtf8(std::string_view utf8, Unit&& unit) {
  uint32_t code_point = 0;
  int bytes_needed = 0;
  int bytes_seen = 0;
  uint8_t lower = 0x80;
  uint8_t upper = 0xBF;
  const auto emit = [&unit](uint32_t cp) {
    if (cp >= 0x10000) {
      cp -= 0x10000;
      unit(static_cast<char16_t>(0xD800 + (cp >> 10)));
      unit(static_cast<char16_t>(0xDC00 + (cp & 0x3FF)));
    } else {
      unit(static_cast<char16_t>(cp));
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
}

constexpr uint32_t kFnvOffset = 2166136261u;
constexpr uint32_t kFnvPrime = 16777619u;  // Products wrap mod 2^32, as Math.imul does.

}  // namespace

std::u16string Utf8ToUtf16(std::string_view utf8) {
  std::u16string out;
  out.reserve(utf8.size());
  DecodeUtf8(utf8, [&out](char16_t unit) { out.push_back(unit); });
  return out;
}

// Hashes the code units as they are decoded, without building the UTF-16 string (every key's
// partition is computed on every write and merge); an ASCII key's bytes are its code units.
uint32_t Fnv1aUtf16(std::string_view key) {
  uint32_t hash = kFnvOffset;
  size_t i = 0;
  while (i < key.size() && static_cast<uint8_t>(key[i]) <= 0x7F) {
    hash = (hash ^ static_cast<uint8_t>(key[i++])) * kFnvPrime;
  }
  if (i == key.size()) return hash;
  DecodeUtf8(key.substr(i), [&hash](char16_t unit) { hash = (hash ^ unit) * kFnvPrime; });
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
