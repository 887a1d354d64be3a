#include "engine/wire/packed_record.h"

#include <fmt/format.h>

#include <cstdint>

#include "engine/base/assert.h"
#include "engine/base/strings.h"
#include "engine/wire/codec.h"
#include "engine/wire/packed_bytes.h"
#include "engine/wire/packed_doc.h"

namespace seedgrid {
namespace {

constexpr char kRecordPageMagic = 'r';
constexpr uint8_t kHasValue = 1;
constexpr uint8_t kHasTtl = 2;
constexpr uint8_t kHasFields = 4;
constexpr uint8_t kKnownFlags = kHasValue | kHasTtl | kHasFields;

absl::Status Invalid(std::string error) {
  return absl::InvalidArgumentError(fmt::format("record page: {}", error));
}

}  // namespace

std::string EncodeRecordPage(std::string_view map, std::string_view key, const LwwRecord& record) {
  SG_ASSERT(!map.empty() && map.size() <= kMapNameBytesMax);
  const bool has_fields = record.value.has_value() && !record.value->empty();
  std::string out;
  out.reserve(32 + map.size() + key.size() + record.ts.node_id.size());
  out.push_back(kRecordPageMagic);
  wire_codec::packed::PutBytes(out, map);
  wire_codec::packed::PutBytes(out, key);
  const uint8_t flags = (record.value ? kHasValue : 0) | (record.ttl_ms ? kHasTtl : 0) |
                        (has_fields ? kHasFields : 0);
  out.push_back(static_cast<char>(flags));
  wire_codec::packed::PutFixed(out, record.ts.millis);
  wire_codec::packed::PutFixed(out, record.ts.counter);
  wire_codec::packed::PutBytes(out, record.ts.node_id.view());
  if (record.ttl_ms) wire_codec::packed::PutFixed(out, *record.ttl_ms);
  if (has_fields) {
    // The document's length first, so a page torn inside it is known as torn.
    std::string doc;
    wire_codec::PackDocument(*record.value, doc);
    wire_codec::packed::PutBytes(out, doc);
  }
  return out;
}

absl::StatusOr<StoredRecord> DecodeRecordPage(std::string_view bytes) {
  if (!IsPackedRecordPage(bytes)) return Invalid("byte 0: not a packed record page");
  wire_codec::packed::Reader in(bytes);
  std::string error;
  StoredRecord out;
  std::string_view map, key, node_id;
  uint8_t magic = 0, flags = 0;
  if (!in.Byte(magic, "the magic byte", error) || !in.Bytes(map, error)) return Invalid(error);
  if (map.empty() || map.size() > kMapNameBytesMax) {
    return Invalid(
        fmt::format("the map name is {} bytes; 1..{} allowed", map.size(), kMapNameBytesMax));
  }
  if (!in.Bytes(key, error) || !in.Byte(flags, "the flags byte", error)) return Invalid(error);
  if ((flags & ~kKnownFlags) != 0 || ((flags & kHasFields) != 0 && (flags & kHasValue) == 0)) {
    return Invalid(fmt::format("byte {}: bad flags {:#04x}", in.offset(), flags));
  }
  LwwRecord& r = out.record;
  if (!in.Fixed(r.ts.millis, error) || !in.Fixed(r.ts.counter, error) ||
      !in.Bytes(node_id, error)) {
    return Invalid(error);
  }
  if (absl::Status s = ValidateNodeId(node_id); !s.ok()) {
    return Invalid(fmt::format("node id: {}", ToStd(s.message())));
  }
  r.ts.node_id = node_id;  // Interned only once valid.
  if ((flags & kHasTtl) != 0) {
    uint64_t ttl = 0;
    if (!in.Fixed(ttl, error)) return Invalid(error);
    r.ttl_ms = ttl;
  }
  if ((flags & kHasValue) != 0) r.value.emplace();
  if ((flags & kHasFields) != 0) {
    std::string_view doc;
    if (!in.Bytes(doc, error)) return Invalid(error);
    const size_t doc_at = in.offset() - doc.size();
    absl::Status s = wire_codec::UnpackDocument(
        doc, [](size_t) { return true; }, *r.value);
    if (!s.ok()) {
      return Invalid(fmt::format("the document at byte {}: {}", doc_at, ToStd(s.message())));
    }
  }
  if (in.left() != 0) {
    return Invalid(fmt::format("byte {}: {} trailing bytes", in.offset(), in.left()));
  }
  out.map = map;
  out.key = key;
  return out;
}

}  // namespace seedgrid
