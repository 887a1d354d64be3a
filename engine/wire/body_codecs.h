// The encode and decode functions of every message of the list (msg::Body, messages.h). Internal
// to engine/wire; codec.cc dispatches to them.
//
// Contract, for each message M with schema table fb::M:
//   Offset<fb::M> EncodeBody(Encoder&, const msg::M&);
//   absl::Status DecodeBody(Decoder&, const fb::M&, msg::M&);
// - EncodeBody's return type names the schema table, and so the Body union member (codec.cc
//   derives the union tag from it; the list and the union must be in the same order).
// - DecodeBody reads what EncodeBody wrote, in the same order, and applies the message's
//   semantic rules; errors name the path from the message's name ("OpBatch.lww[3]...").
// - REQUIRES (decode): the buffer passed the FlatBuffers verifier.
#ifndef SEEDGRID_ENGINE_WIRE_BODY_CODECS_H_
#define SEEDGRID_ENGINE_WIRE_BODY_CODECS_H_

#include "absl/status/status.h"
#include "engine/wire/decoder.h"
#include "engine/wire/encoder.h"
#include "engine/wire/messages.h"

namespace seedgrid::wire_codec {

// ---- replica_messages.cc: replica writes and Merkle sync.
Offset<fb::OpBatch> EncodeBody(Encoder& e, const msg::OpBatch& m);
absl::Status DecodeBody(Decoder& d, const fb::OpBatch& in, msg::OpBatch& m);
Offset<fb::Ack> EncodeBody(Encoder& e, const msg::Ack& m);
absl::Status DecodeBody(Decoder& d, const fb::Ack& in, msg::Ack& m);
Offset<fb::SyncInit> EncodeBody(Encoder& e, const msg::SyncInit& m);
absl::Status DecodeBody(Decoder& d, const fb::SyncInit& in, msg::SyncInit& m);
Offset<fb::SyncRoot> EncodeBody(Encoder& e, const msg::SyncRoot& m);
absl::Status DecodeBody(Decoder& d, const fb::SyncRoot& in, msg::SyncRoot& m);
Offset<fb::SyncBucketsRequest> EncodeBody(Encoder& e, const msg::SyncBucketsRequest& m);
absl::Status DecodeBody(Decoder& d, const fb::SyncBucketsRequest& in, msg::SyncBucketsRequest& m);
Offset<fb::SyncBuckets> EncodeBody(Encoder& e, const msg::SyncBuckets& m);
absl::Status DecodeBody(Decoder& d, const fb::SyncBuckets& in, msg::SyncBuckets& m);
Offset<fb::SyncLeafRequest> EncodeBody(Encoder& e, const msg::SyncLeafRequest& m);
absl::Status DecodeBody(Decoder& d, const fb::SyncLeafRequest& in, msg::SyncLeafRequest& m);
Offset<fb::SyncLeaf> EncodeBody(Encoder& e, const msg::SyncLeaf& m);
absl::Status DecodeBody(Decoder& d, const fb::SyncLeaf& in, msg::SyncLeaf& m);
Offset<fb::OrMapDiff> EncodeBody(Encoder& e, const msg::OrMapDiff& m);
absl::Status DecodeBody(Decoder& d, const fb::OrMapDiff& in, msg::OrMapDiff& m);
Offset<fb::PnCounterState> EncodeBody(Encoder& e, const msg::PnCounterState& m);
absl::Status DecodeBody(Decoder& d, const fb::PnCounterState& in, msg::PnCounterState& m);

// ---- query_messages.cc: live queries.
Offset<fb::QuerySubscribe> EncodeBody(Encoder& e, const msg::QuerySubscribe& m);
absl::Status DecodeBody(Decoder& d, const fb::QuerySubscribe& in, msg::QuerySubscribe& m);
Offset<fb::QueryUpdate> EncodeBody(Encoder& e, const msg::QueryUpdate& m);
absl::Status DecodeBody(Decoder& d, const fb::QueryUpdate& in, msg::QueryUpdate& m);

// ---- grid_messages.cc: the grid (engine/cluster, engine/client).
Offset<fb::GridOps> EncodeBody(Encoder& e, const msg::GridOps& m);
absl::Status DecodeBody(Decoder& d, const fb::GridOps& in, msg::GridOps& m);
Offset<fb::GridAck> EncodeBody(Encoder& e, const msg::GridAck& m);
absl::Status DecodeBody(Decoder& d, const fb::GridAck& in, msg::GridAck& m);
Offset<fb::PartitionState> EncodeBody(Encoder& e, const msg::PartitionState& m);
absl::Status DecodeBody(Decoder& d, const fb::PartitionState& in, msg::PartitionState& m);
Offset<fb::PartitionStates> EncodeBody(Encoder& e, const msg::PartitionStates& m);
absl::Status DecodeBody(Decoder& d, const fb::PartitionStates& in, msg::PartitionStates& m);
Offset<fb::PartitionDigest> EncodeBody(Encoder& e, const msg::PartitionDigest& m);
absl::Status DecodeBody(Decoder& d, const fb::PartitionDigest& in, msg::PartitionDigest& m);
Offset<fb::Heartbeat> EncodeBody(Encoder& e, const msg::Heartbeat& m);
absl::Status DecodeBody(Decoder& d, const fb::Heartbeat& in, msg::Heartbeat& m);
// Parts the HTTP sync messages share (errors name `at`/`where`).
Offset<fb::GridOp> EncodeGridOp(Encoder& e, const msg::GridOp& op);
absl::Status DecodeGridOp(Decoder& d, const fb::GridOp& op, const WirePath& at, msg::GridOp& o);
Offset<fb::GridOpAck> EncodeOpAck(Encoder& e, const msg::GridOpAck& a);
absl::Status DecodeOpAck(Decoder& d, const fb::GridOpAck& a, const WirePath& at,
                         msg::GridOpAck& ack);
absl::Status DecodeState(Decoder& d, const fb::PartitionState& in, const WirePath& where,
                         msg::PartitionState& m);

// ---- http_sync_messages.cc: HTTP sync.
Offset<fb::HttpSyncRequest> EncodeBody(Encoder& e, const msg::HttpSyncRequest& m);
absl::Status DecodeBody(Decoder& d, const fb::HttpSyncRequest& in, msg::HttpSyncRequest& m);
Offset<fb::HttpSyncResponse> EncodeBody(Encoder& e, const msg::HttpSyncResponse& m);
absl::Status DecodeBody(Decoder& d, const fb::HttpSyncResponse& in, msg::HttpSyncResponse& m);

}  // namespace seedgrid::wire_codec

#endif  // SEEDGRID_ENGINE_WIRE_BODY_CODECS_H_
