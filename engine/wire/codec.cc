// EncodeMessage / DecodeMessage: the envelope, and the dispatch over the message list.
//
// The message list is msg::Body (messages.h). From it come the body names (BodyName), the encode
// dispatch (std::visit to EncodeBody), the decode dispatch (union tag -> DecodeBody, a table
// built over the list) and the round-trip and golden tests (golden_test.cc). Each alternative M
// has EncodeBody/DecodeBody (body_codecs.h), whose return type names its schema table; the list
// must follow the schema's Body union order, checked at compile time below.
#include "engine/wire/codec.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <type_traits>
#include <utility>
#include <variant>

#include "engine/base/assert.h"
#include "engine/base/probe.h"
#include "engine/base/strings.h"
#include "engine/wire/body_codecs.h"

namespace seedgrid {
namespace wire_codec {
namespace {

// ---- The message list.

template <size_t I>
using MessageAt = std::variant_alternative_t<I, msg::Body>;

template <typename OffsetType>
struct OffsetTarget;
template <typename T>
struct OffsetTarget<Offset<T>> {
  using type = T;
};

// The schema table of message M: what its EncodeBody returns.
template <typename M>
using WireTable = typename OffsetTarget<decltype(EncodeBody(std::declval<Encoder&>(),
                                                            std::declval<const M&>()))>::type;

template <typename M>
constexpr fb::Body kUnionTag = fb::BodyTraits<WireTable<M>>::enum_value;

constexpr size_t kMessageCount = std::variant_size_v<msg::Body>;
constexpr auto kMessageIndexes = std::make_index_sequence<kMessageCount>();

template <size_t... I>
constexpr bool ListFollowsSchema(std::index_sequence<I...>) {
  return ((static_cast<size_t>(kUnionTag<MessageAt<I>>) == I + 1) && ...);
}
static_assert(ListFollowsSchema(kMessageIndexes),
              "msg::Body must list the messages in the order of the schema's Body union");
static_assert(kMessageCount == static_cast<size_t>(fb::Body::MAX),
              "every member of the schema's Body union needs its msg::Body alternative");

// ---- Encode dispatch.

std::pair<fb::Body, Offset<void>> EncodeAnyBody(Encoder& e, const msg::Body& body) {
  return std::visit(
      [&e](const auto& m) {
        using M = std::decay_t<decltype(m)>;
        Offset<WireTable<M>> table = EncodeBody(e, m);
        return std::pair<fb::Body, Offset<void>>(kUnionTag<M>, table.Union());
      },
      body);
}

// ---- Decode dispatch: kBodyDecoders[tag - 1] decodes the body with union tag `tag`.

using BodyDecoder = absl::StatusOr<msg::Body> (*)(Decoder&, const fb::Envelope&);

template <size_t I>
absl::StatusOr<msg::Body> DecodeAt(Decoder& d, const fb::Envelope& e) {
  using M = MessageAt<I>;
  const WireTable<M>* in = e.body_as<WireTable<M>>();
  SG_ASSERT(in != nullptr);  // The tag matched and the verifier requires the body.
  M m;
  SG_RETURN_IF_ERROR(DecodeBody(d, *in, m));
  return msg::Body(std::in_place_index<I>, std::move(m));
}

template <size_t... I>
constexpr std::array<BodyDecoder, sizeof...(I)> BodyDecoders(std::index_sequence<I...>) {
  return {&DecodeAt<I>...};
}
constexpr std::array<BodyDecoder, kMessageCount> kBodyDecoders = BodyDecoders(kMessageIndexes);

absl::StatusOr<msg::Body> DecodeAnyBody(Decoder& d, const fb::Envelope& e) {
  const size_t tag = static_cast<size_t>(e.body_type());
  if (tag == 0 || tag > kBodyDecoders.size()) {
    return d.Error("Envelope.body", fmt::format("unknown body type {}", tag));
  }
  return kBodyDecoders[tag - 1](d, e);
}

// ---- The envelope.

// The verified envelope of `bytes`, copied to `aligned_copy` when `bytes` is not aligned.
absl::StatusOr<const fb::Envelope*> VerifiedEnvelope(std::string_view bytes,
                                                     std::string& aligned_copy) {
  if (bytes.size() > kWireMessageBytesMax) {
    return WireError("Envelope", fmt::format("message is {} bytes; at most {}", bytes.size(),
                                             kWireMessageBytesMax));
  }
  // FlatBuffers reads scalars in place, so the buffer must be aligned: copy when it is not.
  const uint8_t* data = reinterpret_cast<const uint8_t*>(bytes.data());
  // sg:address-ok: the address only decides whether to copy; the result never depends on it.
  if (reinterpret_cast<uintptr_t>(data) % alignof(uint64_t) != 0) {
    aligned_copy.assign(bytes);  // std::string storage from operator new is max-aligned.
    data = reinterpret_cast<const uint8_t*>(aligned_copy.data());
  }
  if (bytes.size() < 8 || !fb::EnvelopeBufferHasIdentifier(data)) {
    return WireError("Envelope", fmt::format("not a seedgrid wire message ({} bytes, missing "
                                             "'SGW1' identifier)",
                                             bytes.size()));
  }
  flatbuffers::Verifier::Options options;
  options.max_depth = 64;
  // Every table takes at least 4 bytes, so this bound never rejects a message that fits the size
  // limit; it only caps verifier work on hostile input.
  options.max_tables = kWireMessageBytesMax / 4;
  options.check_alignment = true;
  flatbuffers::Verifier verifier(data, bytes.size(), options);
  if (!fb::VerifyEnvelopeBuffer(verifier)) {
    return WireError("Envelope", fmt::format("FlatBuffers verifier rejected the {}-byte buffer "
                                             "(truncated, corrupt, or a required field is "
                                             "missing)",
                                             bytes.size()));
  }
  const fb::Envelope* e = fb::GetEnvelope(data);
  if (e->protocol_version() < kWireProtocolVersion || e->protocol_version() > kWireVersionMax) {
    return absl::UnimplementedError(fmt::format(
        "Envelope.protocol_version: version {} is not supported (this build speaks {} to {})",
        e->protocol_version(), kWireProtocolVersion, kWireVersionMax));
  }
  return e;
}

}  // namespace
}  // namespace wire_codec

namespace msg {

std::string_view BodyName(const Body& body) {
  // The schema's names, in union order: NONE, then the list.
  return wire::EnumNamesBody()[body.index() + 1];
}

std::string_view WriteConcernName(WriteConcern concern) {
  switch (concern) {
    case WriteConcern::kFireAndForget:
      return "FIRE_AND_FORGET";
    case WriteConcern::kApplied:
      return "APPLIED";
    case WriteConcern::kReplicated:
      return "REPLICATED";
  }
  return "?";
}

uint64_t RecordsDigest(const MapRecords& map) {
  uint64_t d = 0;
  for (const LwwEntry& e : map.lww) d ^= RecordHash(e.key, e.record);
  for (const CounterEntry& c : map.counters) d ^= CounterHash(c.key, c.state);
  for (const OrKeyState& k : map.or_keys) d ^= OrEntryHash(k.key, ToOrEntry(k));
  return d;
}

OrEntry ToOrEntry(const OrKeyState& state) {
  OrEntry entry;
  for (const OrRecord& r : state.items) entry.items[r.tag] = OrItem{r.value, r.ttl_ms, r.origin};
  entry.tombstones.insert(state.tombstones.begin(), state.tombstones.end());
  return entry;
}

OrKeyState FromOrEntry(const std::string& key, const OrEntry& entry) {
  OrKeyState state{key, {}, {entry.tombstones.begin(), entry.tombstones.end()}};
  state.items.reserve(entry.items.size());
  for (const auto& [tag, item] : entry.items) {
    state.items.push_back({tag, item.value, item.ttl_ms, item.origin});
  }
  return state;
}

}  // namespace msg

namespace {

// Whether `body` carries a field that `map_has` finds in one of its maps' contents or `op_has`
// in one of its ops (GridOps, states, live-query rows and both HTTP sync bodies).
template <typename MapHas, typename OpHas>
bool Carries(const msg::Body& body, MapHas map_has, OpHas op_has) {
  const auto maps = [&](const std::vector<msg::MapRecords>& ms) {
    return std::any_of(ms.begin(), ms.end(), map_has);
  };
  const auto states = [&](const std::vector<msg::PartitionState>& ss) {
    return std::any_of(ss.begin(), ss.end(),
                       [&](const msg::PartitionState& s) { return maps(s.maps); });
  };
  const auto ops = [&](const std::vector<msg::GridOp>& os) {
    return std::any_of(os.begin(), os.end(), op_has);
  };
  return std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, msg::GridOps>) return ops(m.ops);
        if constexpr (std::is_same_v<T, msg::PartitionState>) return maps(m.maps);
        if constexpr (std::is_same_v<T, msg::PartitionStates>) return states(m.states);
        if constexpr (std::is_same_v<T, msg::QueryUpdate>) return map_has(m.rows);
        if constexpr (std::is_same_v<T, msg::HttpSyncRequest>) {
          return ops(m.ops) || states(m.repairs);
        }
        if constexpr (std::is_same_v<T, msg::HttpSyncResponse>) return states(m.leaves);
        return false;
      },
      body);
}

}  // namespace

uint16_t WireVersionFor(const msg::Body& body) {
  if (const auto* sub = std::get_if<msg::QuerySubscribe>(&body);
      sub != nullptr && (!sub->cursor.empty() || sub->or_rows)) {
    return kWireLiveQueryRowsVersion;
  }
  if (Carries(
          body, [](const msg::MapRecords& m) { return !m.or_keys.empty(); },
          [](const msg::GridOp& op) { return op.or_kind != msg::OrOpKind::kNone; })) {
    return kWireOrMapsVersion;
  }
  if (Carries(
          body, [](const msg::MapRecords& m) { return !m.counters.empty(); },
          [](const msg::GridOp& op) { return op.counter.has_value(); })) {
    return kWireCountersVersion;
  }
  return kWireProtocolVersion;
}

std::string EncodeMessage(const msg::Envelope& envelope) {
  wire_codec::Encoder encoder;
  auto sender = encoder.Node(envelope.sender);
  auto [type, body] = wire_codec::EncodeAnyBody(encoder, envelope.body);
  const uint16_t version = std::max(WireVersionFor(envelope.body), encoder.version_floor());
  return encoder.Finish(sender, type, body, version);
}

namespace {

absl::StatusOr<msg::Envelope> DecodeEnvelope(std::string_view bytes) {
  std::string aligned_copy;
  absl::StatusOr<const wire::Envelope*> e = wire_codec::VerifiedEnvelope(bytes, aligned_copy);
  if (!e.ok()) return e.status();
  wire_codec::Decoder decoder(bytes.size());
  msg::Envelope out;
  SG_RETURN_IF_ERROR(decoder.Node((*e)->sender(), "Envelope.sender", out.sender));
  absl::StatusOr<msg::Body> body = wire_codec::DecodeAnyBody(decoder, **e);
  if (!body.ok()) return body.status();
  // Strings past the budget decode as empty; never return such a message.
  if (decoder.exceeded()) return decoder.BudgetError("Envelope");
  out.body = *std::move(body);
  return out;
}

}  // namespace

absl::StatusOr<msg::Envelope> DecodeMessage(std::string_view bytes) {
  absl::StatusOr<msg::Envelope> out = DecodeEnvelope(bytes);
  if (!out.ok()) SG_PROBE("wire.message_rejected");  // Corrupt or torn bytes, never a crash.
  return out;
}

}  // namespace seedgrid
