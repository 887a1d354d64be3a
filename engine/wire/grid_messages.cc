// The grid (engine/cluster, engine/client): GridOps, GridAck, PartitionState(s), PartitionDigest,
// Heartbeat. Each encoder is followed by its decoder, which reads the same fields in the same
// order.
#include "engine/wire/body_codecs.h"

namespace seedgrid::wire_codec {
namespace {

absl::Status DecodeConcern(Decoder& d, fb::WriteConcern in, const WirePath& where,
                           msg::WriteConcern& out) {
  if (static_cast<uint8_t>(in) > static_cast<uint8_t>(fb::WriteConcern::Replicated)) {
    return d.Error(where, fmt::format("unknown write concern {}", static_cast<int>(in)));
  }
  out = static_cast<msg::WriteConcern>(in);
  return absl::OkStatus();
}

Offset<fb::PartitionDigest> EncodeDigest(Encoder& e, const msg::PartitionDigest& m) {
  auto name = e.OptionalString(m.map_name);
  auto partitions = e.Scalars(m.partitions);
  auto hashes = e.Scalars(m.hashes);
  auto requester = e.OptionalString(m.requester);
  return fb::CreatePartitionDigest(e.builder(), m.id, name, partitions, hashes, m.pull, requester);
}
absl::Status DecodeDigest(Decoder& d, const fb::PartitionDigest& in, const WirePath& where,
                          msg::PartitionDigest& m) {
  m.id = in.id();
  if (in.map_name() != nullptr) {
    SG_RETURN_IF_ERROR(d.MapName(in.map_name(), where + ".map_name", m.map_name));
  }
  const size_t partitions = in.partitions() == nullptr ? 0 : in.partitions()->size();
  const size_t hashes = in.hashes() == nullptr ? 0 : in.hashes()->size();
  if (partitions != hashes) {
    return d.Error(where, fmt::format("{} partitions but {} hashes", partitions, hashes));
  }
  if (!d.Charge(kDecodeElementCharge + 12 * partitions)) return d.BudgetError(where);
  SG_RETURN_IF_ERROR(d.Partitions(in.partitions(), where + ".partitions", m.partitions));
  if (in.hashes() != nullptr) m.hashes.assign(in.hashes()->begin(), in.hashes()->end());
  m.pull = in.pull();
  return d.OptionalNode(in.requester(), where + ".requester", m.requester);
}

}  // namespace

namespace {

// GridOp.or_kind and or_tags: which fields each kind needs (see seedgrid.fbs).
absl::Status DecodeOrOp(Decoder& d, const fb::GridOp& op, const WirePath& at, msg::GridOp& o) {
  if (op.or_kind() > static_cast<uint8_t>(msg::OrOpKind::kRemove)) {
    return d.Error(at + ".or_kind", fmt::format("unknown OR op kind {}", op.or_kind()));
  }
  o.or_kind = static_cast<msg::OrOpKind>(op.or_kind());
  const bool tags = op.or_tags() != nullptr && op.or_tags()->size() > 0;
  switch (o.or_kind) {
    case msg::OrOpKind::kNone:
      if (tags) return d.Error(at + ".or_tags", "only an OR remove carries tags");
      return absl::OkStatus();
    case msg::OrOpKind::kAdd:
      if (!o.value) return d.Error(at + ".value", "an OR add carries a value");
      if (o.counter) return d.Error(at + ".counter", "an OR add is not a counter op");
      if (tags) return d.Error(at + ".or_tags", "only an OR remove carries tags");
      if (o.seq > UINT32_MAX) return d.Error(at + ".seq", "an OR add's seq must fit 32 bits");
      return absl::OkStatus();
    case msg::OrOpKind::kRemove:
      if (o.value) return d.Error(at + ".value", "an OR remove carries no value");
      if (o.counter) return d.Error(at + ".counter", "an OR remove is not a counter op");
      if (!tags) return d.Error(at + ".or_tags", "an OR remove names at least one tag");
      return d.Vector(op.or_tags(), at + ".or_tags", kDecodeElementCharge, o.or_tags,
                      [&d](const fb::Timestamp* t, const WirePath& p, Timestamp& ts) {
                        return d.Ts(t, p, ts);
                      });
  }
  return absl::OkStatus();
}

}  // namespace

Offset<fb::GridOp> EncodeGridOp(Encoder& e, const msg::GridOp& op) {
  auto name = e.String(op.map_name);
  auto key = e.String(op.key);
  auto value = e.OptionalDoc(op.value);
  auto ts = e.Ts(op.client_ts);
  const fb::PnTotals counter =
      op.counter ? fb::PnTotals(op.counter->positive, op.counter->negative) : fb::PnTotals();
  // Absent for every other op, whose bytes stay as they were.
  OffsetVector<fb::Timestamp> or_tags = 0;
  if (!op.or_tags.empty())
    or_tags = e.Vector(op.or_tags, [&e](const Timestamp& t) { return e.Ts(t); });
  return fb::CreateGridOp(e.builder(), op.seq, static_cast<fb::WriteConcern>(op.concern), name, key,
                          value, ts, op.counter ? &counter : nullptr,
                          static_cast<uint8_t>(op.or_kind), or_tags);
}
absl::Status DecodeGridOp(Decoder& d, const fb::GridOp& op, const WirePath& at, msg::GridOp& o) {
  o.seq = op.seq();
  if (o.seq == 0) return d.Error(at + ".seq", "seq must be at least 1");
  SG_RETURN_IF_ERROR(DecodeConcern(d, op.concern(), at + ".concern", o.concern));
  SG_RETURN_IF_ERROR(d.MapName(op.map_name(), at + ".map_name", o.map_name));
  o.key = d.Str(op.key());
  SG_RETURN_IF_ERROR(d.OptionalDoc(op.value(), at + ".value", o.value));
  if (const fb::PnTotals* c = op.counter()) {
    if (o.value) return d.Error(at + ".value", "a counter op carries no value");
    o.counter = PnTotals{c->positive(), c->negative()};
  }
  SG_RETURN_IF_ERROR(DecodeOrOp(d, op, at, o));
  return d.Ts(op.client_ts(), at + ".client_ts", o.client_ts);
}

Offset<fb::GridOpAck> EncodeOpAck(Encoder& e, const msg::GridOpAck& a) {
  auto ts = e.Ts(a.ts);
  return fb::CreateGridOpAck(e.builder(), a.seq, ts, static_cast<fb::WriteConcern>(a.level),
                             a.duplicate);
}
absl::Status DecodeOpAck(Decoder& d, const fb::GridOpAck& a, const WirePath& at,
                         msg::GridOpAck& ack) {
  ack.seq = a.seq();
  SG_RETURN_IF_ERROR(d.Ts(a.ts(), at + ".ts", ack.ts));
  SG_RETURN_IF_ERROR(DecodeConcern(d, a.level(), at + ".level", ack.level));
  ack.duplicate = a.duplicate();
  return absl::OkStatus();
}

Offset<fb::GridOps> EncodeBody(Encoder& e, const msg::GridOps& m) {
  auto client = e.Node(m.client);
  auto gateway = e.OptionalString(m.gateway);
  auto ops = e.Vector(m.ops, [&e](const msg::GridOp& op) { return EncodeGridOp(e, op); });
  auto reply_to = e.OptionalString(m.reply_to);
  return fb::CreateGridOps(e.builder(), client, gateway, m.hops, ops, reply_to);
}
absl::Status DecodeBody(Decoder& d, const fb::GridOps& in, msg::GridOps& m) {
  SG_RETURN_IF_ERROR(d.Node(in.client(), "GridOps.client", m.client));
  SG_RETURN_IF_ERROR(d.OptionalNode(in.gateway(), "GridOps.gateway", m.gateway));
  m.hops = in.hops();
  SG_RETURN_IF_ERROR(d.Vector(in.ops(), "GridOps.ops", kDecodeElementCharge, m.ops,
                              [&d](const fb::GridOp* op, const WirePath& at, msg::GridOp& o) {
                                return DecodeGridOp(d, *op, at, o);
                              }));
  return d.OptionalNode(in.reply_to(), "GridOps.reply_to", m.reply_to);
}

Offset<fb::GridAck> EncodeBody(Encoder& e, const msg::GridAck& m) {
  auto acks = e.Vector(m.acks, [&e](const msg::GridOpAck& a) { return EncodeOpAck(e, a); });
  auto client = e.OptionalString(m.client);
  return fb::CreateGridAck(e.builder(), acks, client);
}
absl::Status DecodeBody(Decoder& d, const fb::GridAck& in, msg::GridAck& m) {
  SG_RETURN_IF_ERROR(d.Vector(in.acks(), "GridAck.acks", kDecodeElementCharge, m.acks,
                              [&d](const fb::GridOpAck* a, const WirePath& at,
                                   msg::GridOpAck& ack) { return DecodeOpAck(d, *a, at, ack); }));
  return d.OptionalNode(in.client(), "GridAck.client", m.client);
}

Offset<fb::PartitionState> EncodeBody(Encoder& e, const msg::PartitionState& m) {
  auto maps = e.Maps(m.maps);
  auto marks = e.Vector(m.applied, [&e](const msg::ClientMark& c) {
    auto client = e.Node(c.client);
    return fb::CreateClientMark(e.builder(), client, c.seq, c.prev);
  });
  return fb::CreatePartitionState(e.builder(), m.id, m.partition,
                                  static_cast<fb::StatePurpose>(m.purpose), maps, marks,
                                  m.pruned_below_ms);
}
absl::Status DecodeState(Decoder& d, const fb::PartitionState& in, const WirePath& where,
                         msg::PartitionState& m) {
  m.id = in.id();
  SG_RETURN_IF_ERROR(d.Partition(in.partition(), where + ".partition", m.partition));
  if (static_cast<uint8_t>(in.purpose()) > static_cast<uint8_t>(fb::StatePurpose::ClientRepair)) {
    return d.Error(where + ".purpose",
                   fmt::format("unknown purpose {}", static_cast<int>(in.purpose())));
  }
  m.purpose = static_cast<msg::StatePurpose>(in.purpose());
  SG_RETURN_IF_ERROR(d.Maps(in.maps(), where + ".maps", m.maps));
  SG_RETURN_IF_ERROR(
      d.Vector(in.applied(), where + ".applied", kDecodeElementCharge, m.applied,
               [&d](const fb::ClientMark* c, const WirePath& at, msg::ClientMark& mark) {
                 SG_RETURN_IF_ERROR(d.Node(c->client(), at + ".client", mark.client));
                 mark.seq = c->seq();
                 mark.prev = c->prev();
                 return absl::OkStatus();
               }));
  m.pruned_below_ms = in.pruned_below_ms();
  return absl::OkStatus();
}
absl::Status DecodeBody(Decoder& d, const fb::PartitionState& in, msg::PartitionState& m) {
  return DecodeState(d, in, "PartitionState", m);
}

Offset<fb::PartitionStates> EncodeBody(Encoder& e, const msg::PartitionStates& m) {
  auto states = e.Vector(m.states, [&e](const msg::PartitionState& s) { return EncodeBody(e, s); });
  return fb::CreatePartitionStates(e.builder(), states);
}
absl::Status DecodeBody(Decoder& d, const fb::PartitionStates& in, msg::PartitionStates& m) {
  if (in.states() == nullptr || in.states()->size() == 0) {
    return d.Error("PartitionStates.states", "no states (a batch carries at least one)");
  }
  return d.Vector(in.states(), "PartitionStates.states", kDecodeElementCharge, m.states,
                  [&d](const fb::PartitionState* s, const WirePath& at,
                       msg::PartitionState& state) { return DecodeState(d, *s, at, state); });
}

Offset<fb::PartitionDigest> EncodeBody(Encoder& e, const msg::PartitionDigest& m) {
  return EncodeDigest(e, m);
}
absl::Status DecodeBody(Decoder& d, const fb::PartitionDigest& in, msg::PartitionDigest& m) {
  return DecodeDigest(d, in, "PartitionDigest", m);
}

Offset<fb::Heartbeat> EncodeBody(Encoder& e, const msg::Heartbeat& m) {
  auto author = e.OptionalString(m.table_author);
  auto members = e.Strings(m.members);
  auto digests =
      e.Vector(m.digests, [&e](const msg::PartitionDigest& d) { return EncodeDigest(e, d); });
  return fb::CreateHeartbeat(e.builder(), m.table_version, author, members, m.leaving, digests,
                             m.has_digests, m.hlc_ms);
}
absl::Status DecodeBody(Decoder& d, const fb::Heartbeat& in, msg::Heartbeat& m) {
  m.table_version = in.table_version();
  SG_RETURN_IF_ERROR(d.OptionalNode(in.table_author(), "Heartbeat.table_author", m.table_author));
  SG_RETURN_IF_ERROR(d.Vector(in.members(), "Heartbeat.members", kNoCharge, m.members,
                              [&d](const flatbuffers::String* s, const WirePath& at,
                                   std::string& member) { return d.Node(s, at, member); }));
  m.leaving = in.leaving();
  m.has_digests = in.has_digests();
  m.hlc_ms = in.hlc_ms();
  return d.Vector(in.digests(), "Heartbeat.digests", kNoCharge, m.digests,
                  [&d](const fb::PartitionDigest* p, const WirePath& at,
                       msg::PartitionDigest& digest) { return DecodeDigest(d, *p, at, digest); });
}

}  // namespace seedgrid::wire_codec
