#include "engine/wire/encoder.h"

#include <algorithm>

#include "engine/base/assert.h"
#include "engine/wire/codec.h"
#include "engine/wire/packed_doc.h"
#include "engine/wire/packed_record.h"

namespace seedgrid::wire_codec {

Offset<flatbuffers::String> Encoder::OptionalString(std::string_view s) {
  if (s.empty()) return 0;
  return b_.CreateString(s);
}

Offset<flatbuffers::String> Encoder::Node(std::string_view node_id) {
  SG_ASSERT(ValidateNodeId(node_id).ok());
  return b_.CreateString(node_id);
}

Offset<flatbuffers::Vector<Offset<flatbuffers::String>>> Encoder::Strings(
    const std::vector<std::string>& strings) {
  return b_.CreateVectorOfStrings(strings);
}

Offset<flatbuffers::Vector<Offset<flatbuffers::String>>> Encoder::Strings(ListView strings) {
  std::vector<Offset<flatbuffers::String>> offsets;
  offsets.reserve(strings.size());
  for (std::string_view s : strings) offsets.push_back(b_.CreateString(s.data(), s.size()));
  return b_.CreateVector(offsets);
}

Offset<fb::Timestamp> Encoder::Ts(const Timestamp& ts) {
  auto node_id = Node(ts.node_id);
  return fb::CreateTimestamp(b_, ts.millis, ts.counter, node_id);
}

std::pair<fb::Value, Offset<void>> Encoder::Val(ValueView value) {
  switch (TypeOf(value)) {
    case ValueType::kNull:
      return {fb::Value::NullValue, fb::CreateNullValue(b_).Union()};
    case ValueType::kBool:
      return {fb::Value::BoolValue, fb::CreateBoolValue(b_, value.bool_value()).Union()};
    case ValueType::kInt:
      return {fb::Value::IntValue, fb::CreateIntValue(b_, value.int_value()).Union()};
    case ValueType::kDouble: {
      // FlatBuffers omits scalars equal to their default, and -0.0 == 0.0: force the write so
      // the sign of zero survives (values are compared bit-exactly). Found by the fuzzer.
      b_.ForceDefaults(true);
      auto v = fb::CreateDoubleValue(b_, value.double_value()).Union();
      b_.ForceDefaults(false);
      return {fb::Value::DoubleValue, v};
    }
    case ValueType::kString: {
      auto str = b_.CreateString(value.string_value().data(), value.string_value().size());
      return {fb::Value::StringValue, fb::CreateStringValue(b_, str).Union()};
    }
    case ValueType::kList: {
      auto list = Strings(value.list_value());
      return {fb::Value::StringListValue, fb::CreateStringListValue(b_, list).Union()};
    }
  }
  SG_ASSERT(false);
}

Offset<fb::Document> Encoder::Doc(const Document& doc) {
  if (doc.empty()) return fb::CreateDocument(b_);  // neither form: the bytes of version 1
  packed_scratch_.clear();
  PackDocument(doc, packed_scratch_);
  version_floor_ = std::max(version_floor_, kWirePackedDocsVersion);
  auto packed = b_.CreateVector(reinterpret_cast<const uint8_t*>(packed_scratch_.data()),
                                packed_scratch_.size());
  return fb::CreateDocument(b_, /*fields=*/0, packed);
}

Offset<fb::Document> Encoder::OptionalDoc(const std::optional<Document>& doc) {
  if (!doc) return 0;
  return Doc(*doc);
}

flatbuffers::Optional<uint64_t> Encoder::Ttl(const std::optional<uint64_t>& ttl) {
  return ttl ? flatbuffers::Optional<uint64_t>(*ttl) : flatbuffers::nullopt;
}

OffsetVector<fb::LwwRecord> Encoder::Lww(const std::vector<msg::LwwEntry>& entries) {
  return Vector(entries, [this](const msg::LwwEntry& e) {
    auto key = b_.CreateString(e.key);
    auto ts = Ts(e.record.ts);
    auto value = OptionalDoc(e.record.value);
    return fb::CreateLwwRecord(b_, key, ts, value, Ttl(e.record.ttl_ms));
  });
}

OffsetVector<fb::OrKeyState> Encoder::Or(const std::vector<msg::OrKeyState>& entries) {
  return Vector(entries, [this](const msg::OrKeyState& e) {
    auto key = b_.CreateString(e.key);
    auto items = Offsets(e.items, [this](const OrRecord& r) {
      auto tag = Ts(r.tag);
      auto doc = Doc(r.value);
      auto origin = r.origin ? Ts(*r.origin) : 0;  // absent: the replica path's bytes as before
      return fb::CreateOrRecord(b_, tag, doc, Ttl(r.ttl_ms), origin);
    });
    auto tombstones = Offsets(e.tombstones, [this](const Timestamp& t) { return Ts(t); });
    // Both vectors are written after all their elements (the historical byte order).
    auto items_offset = b_.CreateVector(items);
    auto tombstones_offset = b_.CreateVector(tombstones);
    return fb::CreateOrKeyState(b_, key, items_offset, tombstones_offset);
  });
}

OffsetVector<fb::PnEntry> Encoder::Pn(const PnState& state) {
  return Vector(state, [this](const auto& entry) {
    const auto& [node, totals] = entry;
    auto node_id = Node(node);
    return fb::CreatePnEntry(b_, node_id, totals.positive, totals.negative);
  });
}

OffsetVector<fb::CounterState> Encoder::Counters(const std::vector<msg::CounterEntry>& counters) {
  if (counters.empty()) return 0;
  return Vector(counters, [this](const msg::CounterEntry& c) {
    auto key = b_.CreateString(c.key);
    auto entries = Pn(c.state);
    return fb::CreateCounterState(b_, key, entries);
  });
}

Offset<fb::MapRecords> Encoder::Map(const msg::MapRecords& map) {
  auto name = b_.CreateString(map.map_name);
  // Records travel packed (one vector instead of five objects each); without records the map
  // keeps its bytes of before (an empty `lww`).
  OffsetVector<fb::LwwRecord> lww = 0;
  Offset<flatbuffers::Vector<uint8_t>> lww_packed = 0;
  if (map.lww.empty()) {
    lww = Lww(map.lww);
  } else {
    packed_scratch_.clear();
    PackLwwEntries(map.lww, packed_scratch_);
    version_floor_ = std::max(version_floor_, kWirePackedRecordsVersion);
    lww_packed = b_.CreateVector(reinterpret_cast<const uint8_t*>(packed_scratch_.data()),
                                 packed_scratch_.size());
  }
  auto counters = Counters(map.counters);
  auto or_keys = map.or_keys.empty() ? 0 : Or(map.or_keys);
  return fb::CreateMapRecords(b_, name, lww, counters, or_keys, lww_packed);
}

OffsetVector<fb::MapRecords> Encoder::Maps(const std::vector<msg::MapRecords>& maps) {
  return Vector(maps, [this](const msg::MapRecords& m) { return Map(m); });
}

std::string Encoder::Finish(Offset<flatbuffers::String> sender, fb::Body type, Offset<void> body,
                            uint16_t version) {
  auto envelope = fb::CreateEnvelope(b_, version, sender, type, body);
  b_.Finish(envelope, fb::EnvelopeIdentifier());
  return std::string(reinterpret_cast<const char*>(b_.GetBufferPointer()), b_.GetSize());
}

}  // namespace seedgrid::wire_codec
