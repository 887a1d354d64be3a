// Replica writes and Merkle sync: OpBatch, Ack, SyncInit, SyncRoot, SyncBucketsRequest,
// SyncBuckets, SyncLeafRequest, SyncLeaf, OrMapDiff, PnCounterState. Each message's encoder is
// followed by its decoder, which reads the same fields in the same order.
#include "engine/base/strings.h"
#include "engine/merkle/merkle_tree.h"
#include "engine/wire/body_codecs.h"

namespace seedgrid::wire_codec {
namespace {

constexpr size_t kPathDigitsMax = MerkleTree::kDepthMax;

absl::Status DecodeKind(Decoder& d, fb::MapKind in, const WirePath& where, msg::MapKind& out) {
  if (in != fb::MapKind::Lww && in != fb::MapKind::Or) {
    return d.Error(where, fmt::format("unknown map kind {}", static_cast<int>(in)));
  }
  out = static_cast<msg::MapKind>(in);
  return absl::OkStatus();
}

absl::Status DecodeDepth(Decoder& d, uint8_t in, const WirePath& where, uint8_t& out) {
  if (in < MerkleTree::kDepthMin || in > MerkleTree::kDepthMax) {
    return d.Error(where, fmt::format("depth {} out of range {}..{}", in, MerkleTree::kDepthMin,
                                      MerkleTree::kDepthMax));
  }
  out = in;
  return absl::OkStatus();
}

// SyncInit and SyncRoot carry the same fields.
template <typename Wire, typename Message>
absl::Status DecodeRoot(Decoder& d, const Wire& in, std::string_view name, Message& m) {
  const WirePath where(name);
  SG_RETURN_IF_ERROR(d.MapName(in.map_name(), where + ".map_name", m.map_name));
  SG_RETURN_IF_ERROR(DecodeKind(d, in.kind(), where + ".kind", m.kind));
  SG_RETURN_IF_ERROR(DecodeDepth(d, in.depth(), where + ".depth", m.depth));
  m.root_hash = in.root_hash();
  return absl::OkStatus();
}

}  // namespace

Offset<fb::OpBatch> EncodeBody(Encoder& e, const msg::OpBatch& m) {
  auto name = e.String(m.map_name);
  auto lww = e.Lww(m.lww);
  auto ors = e.Or(m.or_entries);
  return fb::CreateOpBatch(e.builder(), m.batch_id, name, lww, ors);
}
absl::Status DecodeBody(Decoder& d, const fb::OpBatch& in, msg::OpBatch& m) {
  m.batch_id = in.batch_id();
  SG_RETURN_IF_ERROR(d.MapName(in.map_name(), "OpBatch.map_name", m.map_name));
  SG_RETURN_IF_ERROR(d.Lww(in.lww(), "OpBatch.lww", m.lww));
  return d.Or(in.or_entries(), "OpBatch.or_entries", m.or_entries);
}

Offset<fb::Ack> EncodeBody(Encoder& e, const msg::Ack& m) {
  auto error = e.OptionalString(m.error);
  return fb::CreateAck(e.builder(), m.batch_id, m.accepted, error);
}
absl::Status DecodeBody(Decoder& d, const fb::Ack& in, msg::Ack& m) {
  m.batch_id = in.batch_id();
  m.accepted = in.accepted();
  m.error = d.Str(in.error());
  return absl::OkStatus();
}

Offset<fb::SyncInit> EncodeBody(Encoder& e, const msg::SyncInit& m) {
  auto name = e.String(m.map_name);
  return fb::CreateSyncInit(e.builder(), name, static_cast<fb::MapKind>(m.kind), m.depth,
                            m.root_hash);
}
absl::Status DecodeBody(Decoder& d, const fb::SyncInit& in, msg::SyncInit& m) {
  return DecodeRoot(d, in, "SyncInit", m);
}

Offset<fb::SyncRoot> EncodeBody(Encoder& e, const msg::SyncRoot& m) {
  auto name = e.String(m.map_name);
  return fb::CreateSyncRoot(e.builder(), name, static_cast<fb::MapKind>(m.kind), m.depth,
                            m.root_hash);
}
absl::Status DecodeBody(Decoder& d, const fb::SyncRoot& in, msg::SyncRoot& m) {
  return DecodeRoot(d, in, "SyncRoot", m);
}

Offset<fb::SyncBucketsRequest> EncodeBody(Encoder& e, const msg::SyncBucketsRequest& m) {
  auto name = e.String(m.map_name);
  auto path = e.Scalars(m.path);
  return fb::CreateSyncBucketsRequest(e.builder(), name, path);
}
absl::Status DecodeBody(Decoder& d, const fb::SyncBucketsRequest& in, msg::SyncBucketsRequest& m) {
  SG_RETURN_IF_ERROR(d.MapName(in.map_name(), "SyncBucketsRequest.map_name", m.map_name));
  return d.Path(in.path(), "SyncBucketsRequest.path", 0, kPathDigitsMax - 1, m.path);
}

Offset<fb::SyncBuckets> EncodeBody(Encoder& e, const msg::SyncBuckets& m) {
  auto name = e.String(m.map_name);
  auto path = e.Scalars(m.path);
  auto hashes = e.builder().CreateVector(m.hashes.data(), m.hashes.size());
  return fb::CreateSyncBuckets(e.builder(), name, path, hashes);
}
absl::Status DecodeBody(Decoder& d, const fb::SyncBuckets& in, msg::SyncBuckets& m) {
  SG_RETURN_IF_ERROR(d.MapName(in.map_name(), "SyncBuckets.map_name", m.map_name));
  SG_RETURN_IF_ERROR(d.Path(in.path(), "SyncBuckets.path", 0, kPathDigitsMax - 1, m.path));
  const size_t count = in.hashes() == nullptr ? 0 : in.hashes()->size();
  if (count != m.hashes.size()) {
    return d.Error("SyncBuckets.hashes", fmt::format("expected 16 hashes, got {}", count));
  }
  for (flatbuffers::uoffset_t i = 0; i < m.hashes.size(); ++i) m.hashes[i] = in.hashes()->Get(i);
  return absl::OkStatus();
}

Offset<fb::SyncLeafRequest> EncodeBody(Encoder& e, const msg::SyncLeafRequest& m) {
  auto name = e.String(m.map_name);
  auto path = e.Scalars(m.path);
  return fb::CreateSyncLeafRequest(e.builder(), name, path);
}
absl::Status DecodeBody(Decoder& d, const fb::SyncLeafRequest& in, msg::SyncLeafRequest& m) {
  SG_RETURN_IF_ERROR(d.MapName(in.map_name(), "SyncLeafRequest.map_name", m.map_name));
  return d.Path(in.path(), "SyncLeafRequest.path", 1, kPathDigitsMax, m.path);
}

Offset<fb::SyncLeaf> EncodeBody(Encoder& e, const msg::SyncLeaf& m) {
  auto name = e.String(m.map_name);
  auto path = e.Scalars(m.path);
  auto lww = e.Lww(m.lww);
  auto ors = e.Or(m.or_entries);
  return fb::CreateSyncLeaf(e.builder(), name, path, lww, ors);
}
absl::Status DecodeBody(Decoder& d, const fb::SyncLeaf& in, msg::SyncLeaf& m) {
  SG_RETURN_IF_ERROR(d.MapName(in.map_name(), "SyncLeaf.map_name", m.map_name));
  SG_RETURN_IF_ERROR(d.Path(in.path(), "SyncLeaf.path", 1, kPathDigitsMax, m.path));
  SG_RETURN_IF_ERROR(d.Lww(in.lww(), "SyncLeaf.lww", m.lww));
  return d.Or(in.or_entries(), "SyncLeaf.or_entries", m.or_entries);
}

Offset<fb::OrMapDiff> EncodeBody(Encoder& e, const msg::OrMapDiff& m) {
  auto name = e.String(m.map_name);
  auto ors = e.Or(m.entries);
  return fb::CreateOrMapDiff(e.builder(), name, ors);
}
absl::Status DecodeBody(Decoder& d, const fb::OrMapDiff& in, msg::OrMapDiff& m) {
  SG_RETURN_IF_ERROR(d.MapName(in.map_name(), "OrMapDiff.map_name", m.map_name));
  return d.Or(in.entries(), "OrMapDiff.entries", m.entries);
}

Offset<fb::PnCounterState> EncodeBody(Encoder& e, const msg::PnCounterState& m) {
  auto name = e.String(m.name);
  auto entries = e.Pn(m.entries);
  return fb::CreatePnCounterState(e.builder(), name, entries);
}
absl::Status DecodeBody(Decoder& d, const fb::PnCounterState& in, msg::PnCounterState& m) {
  SG_RETURN_IF_ERROR(d.MapName(in.name(), "PnCounterState.name", m.name));
  return d.Pn(in.entries(), "PnCounterState.entries", m.entries);
}

}  // namespace seedgrid::wire_codec
