// HTTP sync (docs/architecture.md, "HTTP sync"): HttpSyncRequest and HttpSyncResponse. Each encoder
// is followed by its decoder, which reads the same fields in the same order.
#include "engine/wire/body_codecs.h"

namespace seedgrid::wire_codec {
namespace {

absl::Status DecodeMarks(Decoder& d, const fb::MapMarks& in, const WirePath& where,
                         msg::MapMarks& m) {
  SG_RETURN_IF_ERROR(d.MapName(in.map_name(), where + ".map_name", m.map_name));
  const size_t partitions = in.partitions() == nullptr ? 0 : in.partitions()->size();
  const size_t digests = in.digests() == nullptr ? 0 : in.digests()->size();
  if (partitions != digests) {
    return d.Error(where, fmt::format("{} partitions but {} digests", partitions, digests));
  }
  if (!d.Charge(12 * partitions)) return d.BudgetError(where);
  SG_RETURN_IF_ERROR(d.Partitions(in.partitions(), where + ".partitions", m.partitions));
  if (in.digests() != nullptr) m.digests.assign(in.digests()->begin(), in.digests()->end());
  return absl::OkStatus();
}

// States of one purpose only (a request's repairs, a response's leaves).
absl::Status DecodeStates(Decoder& d, const FbTables<fb::PartitionState>* in, const WirePath& where,
                          msg::StatePurpose purpose, std::vector<msg::PartitionState>& out) {
  return d.Vector(
      in, where, kDecodeElementCharge, out,
      [&d, purpose](const fb::PartitionState* s, const WirePath& at, msg::PartitionState& state) {
        SG_RETURN_IF_ERROR(DecodeState(d, *s, at, state));
        if (state.purpose != purpose) {
          return d.Error(at + ".purpose",
                         fmt::format("purpose {} where only {} belongs",
                                     static_cast<int>(state.purpose), static_cast<int>(purpose)));
        }
        return absl::OkStatus();
      });
}

}  // namespace

Offset<fb::HttpSyncRequest> EncodeBody(Encoder& e, const msg::HttpSyncRequest& m) {
  auto client = e.Node(m.client);
  auto ops = e.Vector(m.ops, [&e](const msg::GridOp& op) { return EncodeGridOp(e, op); });
  auto marks = e.Vector(m.marks, [&e](const msg::MapMarks& mm) {
    auto name = e.String(mm.map_name);
    auto partitions = e.Scalars(mm.partitions);
    auto digests = e.Scalars(mm.digests);
    return fb::CreateMapMarks(e.builder(), name, partitions, digests);
  });
  auto repairs =
      e.Vector(m.repairs, [&e](const msg::PartitionState& s) { return EncodeBody(e, s); });
  auto cursor = e.OptionalString(m.cursor);
  return fb::CreateHttpSyncRequest(e.builder(), client, m.request_id, ops, marks, repairs, cursor);
}
absl::Status DecodeBody(Decoder& d, const fb::HttpSyncRequest& in, msg::HttpSyncRequest& m) {
  SG_RETURN_IF_ERROR(d.Node(in.client(), "HttpSyncRequest.client", m.client));
  m.request_id = in.request_id();
  SG_RETURN_IF_ERROR(d.Vector(in.ops(), "HttpSyncRequest.ops", kDecodeElementCharge, m.ops,
                              [&d](const fb::GridOp* op, const WirePath& at, msg::GridOp& o) {
                                return DecodeGridOp(d, *op, at, o);
                              }));
  SG_RETURN_IF_ERROR(d.Vector(in.marks(), "HttpSyncRequest.marks", kDecodeElementCharge, m.marks,
                              [&d](const fb::MapMarks* mm, const WirePath& at, msg::MapMarks& out) {
                                return DecodeMarks(d, *mm, at, out);
                              }));
  SG_RETURN_IF_ERROR(DecodeStates(d, in.repairs(), "HttpSyncRequest.repairs",
                                  msg::StatePurpose::kClientRepair, m.repairs));
  m.cursor = d.Str(in.cursor());
  return absl::OkStatus();
}

Offset<fb::HttpSyncResponse> EncodeBody(Encoder& e, const msg::HttpSyncResponse& m) {
  auto error = e.OptionalString(m.error);
  auto acks = e.Vector(m.acks, [&e](const msg::GridOpAck& a) { return EncodeOpAck(e, a); });
  auto leaves = e.Vector(m.leaves, [&e](const msg::PartitionState& s) { return EncodeBody(e, s); });
  auto cursor = e.OptionalString(m.cursor);
  return fb::CreateHttpSyncResponse(e.builder(), m.request_id, m.status, error, acks, leaves,
                                    cursor);
}
absl::Status DecodeBody(Decoder& d, const fb::HttpSyncResponse& in, msg::HttpSyncResponse& m) {
  m.request_id = in.request_id();
  m.status = in.status();
  m.error = d.Str(in.error());
  SG_RETURN_IF_ERROR(d.Vector(in.acks(), "HttpSyncResponse.acks", kDecodeElementCharge, m.acks,
                              [&d](const fb::GridOpAck* a, const WirePath& at,
                                   msg::GridOpAck& ack) { return DecodeOpAck(d, *a, at, ack); }));
  SG_RETURN_IF_ERROR(DecodeStates(d, in.leaves(), "HttpSyncResponse.leaves",
                                  msg::StatePurpose::kClientLeaf, m.leaves));
  m.cursor = d.Str(in.cursor());
  return absl::OkStatus();
}

}  // namespace seedgrid::wire_codec
