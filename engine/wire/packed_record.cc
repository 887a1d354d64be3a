#include "engine/wire/packed_record.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>

#include "engine/base/assert.h"
#include "engine/base/strings.h"
#include "engine/wire/codec.h"
#include "engine/wire/decoder.h"
#include "engine/wire/packed_bytes.h"
#include "engine/wire/packed_doc.h"

namespace seedgrid {
namespace {

namespace packed = wire_codec::packed;

constexpr char kRecordPageMagic = 'r';
constexpr uint8_t kHasValue = 1;
constexpr uint8_t kHasTtl = 2;
constexpr uint8_t kHasFields = 4;
constexpr uint8_t kKnownFlags = kHasValue | kHasTtl | kHasFields;
// The smallest packed entry: a key length, flags, millis, counter, a node id length and 1 byte.
constexpr size_t kEntryBytesMin = 1 + 1 + 8 + 4 + 1 + 1;

// `record` := flags millis counter node_id [ttl_ms] [document] (packed_record.h).
void PackRecord(const LwwRecord& record, std::string& out) {
  const bool has_fields = record.value.has_value() && !record.value->empty();
  const uint8_t flags = (record.value ? kHasValue : 0) | (record.ttl_ms ? kHasTtl : 0) |
                        (has_fields ? kHasFields : 0);
  out.push_back(static_cast<char>(flags));
  packed::PutFixed(out, record.ts.millis);
  packed::PutFixed(out, record.ts.counter);
  packed::PutBytes(out, record.ts.node_id.view());
  if (record.ttl_ms) packed::PutFixed(out, *record.ttl_ms);
  if (!has_fields) return;
  // The document's length first (reserved as one byte, widened if needed), so a page torn inside
  // it is known as torn and a list can hold records one after another.
  const size_t length_at = out.size();
  out.push_back('\0');
  wire_codec::PackDocument(*record.value, out);
  const size_t doc_bytes = out.size() - length_at - 1;
  SG_ASSERT(doc_bytes <= UINT32_MAX);  // Documents are far below 4 GiB (the wire limit).
  uint8_t length[5];
  const size_t length_bytes = flat::StoreVarint(length, static_cast<uint32_t>(doc_bytes)) - length;
  out.replace(length_at, 1, reinterpret_cast<const char*>(length), length_bytes);
}

// One record at `in`; `node_cache` is the previous record's node id (records of one writer follow
// each other: it is validated and interned once). Errors name the byte.
absl::Status UnpackRecord(packed::Reader& in, absl::FunctionRef<bool(size_t)> charge,
                          InternedNodeId& node_cache, LwwRecord& r) {
  std::string error;
  const auto invalid = [&] { return absl::InvalidArgumentError(error); };
  uint8_t flags = 0;
  std::string_view node_id;
  if (!in.Byte(flags, "the flags byte", error)) return invalid();
  if ((flags & ~kKnownFlags) != 0 || ((flags & kHasFields) != 0 && (flags & kHasValue) == 0)) {
    return absl::InvalidArgumentError(
        fmt::format("byte {}: bad flags {:#04x}", in.offset() - 1, flags));
  }
  if (!in.Fixed(r.ts.millis, error) || !in.Fixed(r.ts.counter, error) ||
      !in.Bytes(node_id, error)) {
    return invalid();
  }
  if (node_cache.empty() || node_cache.view() != node_id) {
    if (absl::Status s = ValidateNodeId(node_id); !s.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("byte {}: node id: {}", in.offset() - node_id.size(), ToStd(s.message())));
    }
    node_cache = node_id;  // Interned only once valid.
  }
  r.ts.node_id = node_cache;
  r.ttl_ms.reset();
  if ((flags & kHasTtl) != 0) {
    uint64_t ttl = 0;
    if (!in.Fixed(ttl, error)) return invalid();
    r.ttl_ms = ttl;
  }
  r.value.reset();
  if ((flags & kHasValue) != 0) r.value.emplace();
  if ((flags & kHasFields) == 0) return absl::OkStatus();
  std::string_view doc;
  if (!in.Bytes(doc, error)) return invalid();
  const size_t doc_at = in.offset() - doc.size();
  absl::Status s = wire_codec::UnpackDocument(doc, charge, *r.value);
  if (s.ok() || absl::IsResourceExhausted(s)) return s;
  return absl::InvalidArgumentError(
      fmt::format("the document at byte {}: {}", doc_at, ToStd(s.message())));
}

const auto kUncharged = [](size_t) { return true; };

}  // namespace

std::string EncodeRecordPage(std::string_view map, std::string_view key, const LwwRecord& record) {
  SG_ASSERT(IsWireMapName(map));
  std::string out;
  out.reserve(32 + map.size() + key.size() + record.ts.node_id.size());
  out.push_back(kRecordPageMagic);
  packed::PutBytes(out, map);
  packed::PutBytes(out, key);
  PackRecord(record, out);
  return out;
}

absl::StatusOr<StoredRecord> DecodeRecordPage(std::string_view bytes) {
  const auto invalid = [](std::string_view error) {
    return absl::InvalidArgumentError(fmt::format("record page: {}", error));
  };
  if (!IsPackedRecordPage(bytes)) return invalid("byte 0: not a packed record page");
  packed::Reader in(bytes);
  std::string error;
  StoredRecord out;
  std::string_view map, key;
  uint8_t magic = 0;
  if (!in.Byte(magic, "the magic byte", error) || !in.Bytes(map, error)) return invalid(error);
  if (!IsWireMapName(map)) {
    return invalid(fmt::format("byte 1: the map name is {} bytes; 1..{} allowed", map.size(),
                               kMapNameBytesMax));
  }
  if (!in.Bytes(key, error)) return invalid(error);
  InternedNodeId node;
  if (absl::Status s = UnpackRecord(in, kUncharged, node, out.record); !s.ok()) {
    return invalid(ToStd(s.message()));
  }
  if (in.left() != 0) {
    return invalid(fmt::format("byte {}: {} trailing bytes", in.offset(), in.left()));
  }
  out.map = map;
  out.key = key;
  return out;
}

namespace wire_codec {

void PackLwwEntries(const std::vector<msg::LwwEntry>& entries, std::string& out) {
  SG_ASSERT(!entries.empty());  // An empty list has no packed form.
  packed::PutVarint(out, entries.size());
  for (const msg::LwwEntry& e : entries) {
    packed::PutBytes(out, e.key);
    PackRecord(e.record, out);
  }
}

absl::Status UnpackLwwEntries(std::string_view bytes, absl::FunctionRef<bool(size_t)> charge,
                              std::vector<msg::LwwEntry>& out) {
  out.clear();
  const auto over_budget = [] { return absl::ResourceExhaustedError("decode budget exceeded"); };
  if (!charge(bytes.size())) return over_budget();
  packed::Reader in(bytes);
  std::string error;
  uint32_t count = 0;
  if (!in.Varint(count, error)) return absl::InvalidArgumentError(error);
  if (count == 0) return absl::InvalidArgumentError("byte 0: a packed record list is not empty");
  // A count beyond what the bytes can hold is a lie, and must not size an allocation.
  if (count > in.left() / kEntryBytesMin) {
    return absl::InvalidArgumentError(
        fmt::format("byte 0: {} records announced, but {} bytes can hold at most {}", count,
                    in.left(), in.left() / kEntryBytesMin));
  }
  // What the entries take before their strings and documents (which charge their own).
  if (!charge(size_t{count} * std::max(kDecodeElementCharge, sizeof(msg::LwwEntry)))) {
    return over_budget();
  }
  out.resize(count);
  InternedNodeId node;
  for (msg::LwwEntry& e : out) {
    std::string_view key;
    if (!in.Bytes(key, error)) return absl::InvalidArgumentError(error);
    e.key = key;
    SG_RETURN_IF_ERROR(UnpackRecord(in, charge, node, e.record));
  }
  if (in.left() != 0) {
    return absl::InvalidArgumentError(
        fmt::format("byte {}: {} trailing bytes after {} records", in.offset(), in.left(), count));
  }
  return absl::OkStatus();
}

}  // namespace wire_codec
}  // namespace seedgrid
