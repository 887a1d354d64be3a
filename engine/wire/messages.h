// The engine's messages as plain C++ values. engine/wire/seedgrid.fbs is their wire form;
// codec.h converts between the two.
//
// msg::Body below is the message list: body names, the codec's encode and decode dispatch and
// the round-trip and golden tests all come from it. To add a message M:
//   1. its struct here, and M appended to msg::Body;
//   2. table M in seedgrid.fbs, appended to its Body union (same order as msg::Body; checked at
//      compile time);
//   3. EncodeBody/DecodeBody for M: declared in body_codecs.h, defined in the family's
//      *_messages.cc;
//   4. Samples<msg::M> and its golden hashes in golden_test.cc (the test does not build
//      without the samples).
#ifndef SEEDGRID_ENGINE_WIRE_MESSAGES_H_
#define SEEDGRID_ENGINE_WIRE_MESSAGES_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "engine/crdt/counter_map.h"
#include "engine/crdt/lww_map.h"
#include "engine/crdt/or_map.h"
#include "engine/crdt/pn_counter.h"
#include "engine/hlc/timestamp.h"
#include "engine/query/query.h"

namespace seedgrid::msg {

enum class MapKind : uint8_t { kLww = 0, kOr = 1 };

struct LwwEntry {
  std::string key;
  LwwRecord record;
  friend bool operator==(const LwwEntry&, const LwwEntry&) = default;
};

struct OrKeyState {
  std::string key;
  std::vector<OrRecord> items;
  std::vector<Timestamp> tombstones;
  friend bool operator==(const OrKeyState&, const OrKeyState&) = default;
};

// Client writes go up as OP_BATCH; a peer may push one too.
struct OpBatch {
  uint64_t batch_id = 0;
  std::string map_name;
  std::vector<LwwEntry> lww;
  std::vector<OrKeyState> or_entries;
  friend bool operator==(const OpBatch&, const OpBatch&) = default;
};

struct Ack {
  uint64_t batch_id = 0;
  uint32_t accepted = 0;
  std::string error;  // Empty: success.
  friend bool operator==(const Ack&, const Ack&) = default;
};

struct SyncInit {
  std::string map_name;
  MapKind kind = MapKind::kLww;
  uint8_t depth = 3;
  uint64_t root_hash = 0;  // The initiator's root.
  friend bool operator==(const SyncInit&, const SyncInit&) = default;
};

struct SyncRoot {
  std::string map_name;
  MapKind kind = MapKind::kLww;
  uint8_t depth = 3;
  uint64_t root_hash = 0;
  friend bool operator==(const SyncRoot&, const SyncRoot&) = default;
};

struct SyncBucketsRequest {
  std::string map_name;
  std::vector<uint8_t> path;
  friend bool operator==(const SyncBucketsRequest&, const SyncBucketsRequest&) = default;
};

struct SyncBuckets {
  std::string map_name;
  std::vector<uint8_t> path;
  std::array<uint64_t, 16> hashes{};
  friend bool operator==(const SyncBuckets&, const SyncBuckets&) = default;
};

struct SyncLeafRequest {
  std::string map_name;
  std::vector<uint8_t> path;
  friend bool operator==(const SyncLeafRequest&, const SyncLeafRequest&) = default;
};

struct SyncLeaf {
  std::string map_name;
  std::vector<uint8_t> path;
  std::vector<LwwEntry> lww;
  std::vector<OrKeyState> or_entries;
  friend bool operator==(const SyncLeaf&, const SyncLeaf&) = default;
};

struct OrMapDiff {
  std::string map_name;
  std::vector<OrKeyState> entries;
  friend bool operator==(const OrMapDiff&, const OrMapDiff&) = default;
};

struct PnCounterState {
  std::string name;
  PnState entries;
  friend bool operator==(const PnCounterState&, const PnCounterState&) = default;
};

struct QueryMark {
  std::string server;
  uint64_t epoch = 0;
  uint64_t seq = 0;
  friend bool operator==(const QueryMark&, const QueryMark&) = default;
};

struct QuerySubscribe {
  uint64_t subscription_id = 0;
  std::string map_name;
  Query query;
  std::string requester;         // grid: the client, when a gateway forwards its subscription
  std::vector<QueryMark> known;  // grid: the client's view of each server's stream
  bool cancel = false;
  std::string cursor;    // grid: a live page after this cursor (validated against `query`)
  bool or_rows = false;  // grid: rows are the map's OR items (key, tag), not its LWW records
  friend bool operator==(const QuerySubscribe&, const QuerySubscribe&) = default;
};

// ---- The grid.

enum class WriteConcern : uint8_t { kFireAndForget = 0, kApplied = 1, kReplicated = 2 };
std::string_view WriteConcernName(WriteConcern concern);

// A grid op on an OR-Map (GridOp.or_kind).
enum class OrOpKind : uint8_t { kNone = 0, kAdd = 1, kRemove = 2 };

struct GridOp {
  uint64_t seq = 0;
  WriteConcern concern = WriteConcern::kApplied;
  std::string map_name;
  std::string key;
  std::optional<Document> value;  // nullopt: remove (or a counter op)
  Timestamp client_ts;
  // A PN-Counter increment: the client's totals of counter `key` after it (value is then nullopt).
  std::optional<PnTotals> counter;
  // An OR-Map op: kAdd adds `value` to `key` (the owner tags it; its origin is OrOrigin(client,
  // seq)); kRemove tombstones `or_tags`, the tags and origins of the items the client observed.
  OrOpKind or_kind = OrOpKind::kNone;
  std::vector<Timestamp> or_tags;
  friend bool operator==(const GridOp&, const GridOp&) = default;
};

struct GridOps {
  std::string client;
  std::string gateway;  // empty from a client
  uint8_t hops = 0;
  std::vector<GridOp> ops;
  std::string reply_to;  // empty: acks go to the client; else to this server (HTTP sync gateway)
  friend bool operator==(const GridOps&, const GridOps&) = default;
};

struct GridOpAck {
  uint64_t seq = 0;
  Timestamp ts;
  WriteConcern level = WriteConcern::kApplied;
  bool duplicate = false;  // ts is then the key's current stamp, not this entry's (millis 0:
                           // the key's record was garbage-collected)
  friend bool operator==(const GridOpAck&, const GridOpAck&) = default;
};

struct GridAck {
  std::vector<GridOpAck> acks;
  std::string client;  // set when sent to an HTTP sync gateway on the client's behalf
  friend bool operator==(const GridAck&, const GridAck&) = default;
};

// One grid PN-Counter: every writer's totals (engine/cluster/counters.h).
struct CounterEntry {
  std::string key;
  PnState state;
  friend bool operator==(const CounterEntry&, const CounterEntry&) = default;
};

struct MapRecords {
  std::string map_name;
  std::vector<LwwEntry> lww;
  std::vector<CounterEntry> counters;  // by key, ascending
  std::vector<OrKeyState> or_keys;     // OR-Map entries, by key, ascending
  friend bool operator==(const MapRecords&, const MapRecords&) = default;
};
// The XOR of RecordHash over the records, CounterHash over the counters and OrEntryHash over the
// OR entries (each key once): the grid's per-(map, partition) digest of these contents
// (engine/cluster/record_digest.h).
uint64_t RecordsDigest(const MapRecords& map);
// An OR key's wire state and the engine's entry, both ways.
OrEntry ToOrEntry(const OrKeyState& state);
OrKeyState FromOrEntry(const std::string& key, const OrEntry& entry);

struct ClientMark {
  std::string client;
  uint64_t seq = 0;
  uint64_t prev = 0;  // Replicate only: the owner's mark before the batch
  friend bool operator==(const ClientMark&, const ClientMark&) = default;
};

enum class StatePurpose : uint8_t {
  kReplicate = 0,
  kHandoff = 1,
  kSyncReply = 2,
  kSyncPush = 3,
  kClientLeaf = 4,
  kClientRepair = 5
};

struct PartitionState {
  uint64_t id = 0;
  uint32_t partition = 0;
  StatePurpose purpose = StatePurpose::kReplicate;
  std::vector<MapRecords> maps;
  std::vector<ClientMark> applied;
  uint64_t pruned_below_ms = 0;  // tombstone GC watermark of the partition
  friend bool operator==(const PartitionState&, const PartitionState&) = default;
};

// Several states, each handled as if it had come alone (at least one).
struct PartitionStates {
  std::vector<PartitionState> states;
  friend bool operator==(const PartitionStates&, const PartitionStates&) = default;
};

struct PartitionDigest {
  uint64_t id = 0;
  std::string map_name;  // empty: all maps combined
  std::vector<uint32_t> partitions;
  std::vector<uint64_t> hashes;  // same length as partitions
  bool pull = false;
  std::string requester;  // empty: the sender
  friend bool operator==(const PartitionDigest&, const PartitionDigest&) = default;
};

struct Heartbeat {
  uint64_t table_version = 0;
  std::string table_author;
  std::vector<std::string> members;
  bool leaving = false;
  std::vector<PartitionDigest> digests;
  bool has_digests = false;  // false: the receiver keeps the sender's last digests
  uint64_t hlc_ms = 0;       // the sender's HLC millis (tombstone GC horizon)
  friend bool operator==(const Heartbeat&, const Heartbeat&) = default;
};

// Server -> client: one server's part of a grid live query (seedgrid.fbs, QueryUpdate).
struct QueryUpdate {
  uint64_t subscription_id = 0;
  uint64_t epoch = 0;
  uint64_t seq = 0;  // 0: a snapshot
  uint64_t table_version = 0;
  std::vector<uint32_t> partitions;  // snapshot only
  MapRecords rows;                   // tombstone records: rows that left
  friend bool operator==(const QueryUpdate&, const QueryUpdate&) = default;
};

// ---- HTTP sync (seedgrid.fbs): one request, one response, no server-side session.

struct MapMarks {
  std::string map_name;
  std::vector<uint32_t> partitions;  // the client's non-zero partition digests of the map
  std::vector<uint64_t> digests;     // same length as partitions
  friend bool operator==(const MapMarks&, const MapMarks&) = default;
};

struct HttpSyncRequest {
  std::string client;
  uint64_t request_id = 0;
  std::vector<GridOp> ops;              // the oldest op-log entries, by seq
  std::vector<MapMarks> marks;          // the maps to sync
  std::vector<PartitionState> repairs;  // kClientRepair
  std::string cursor;                   // from the last response
  friend bool operator==(const HttpSyncRequest&, const HttpSyncRequest&) = default;
};

struct HttpSyncResponse {
  uint64_t request_id = 0;
  uint16_t status = 200;  // 200; 400 a bad request; 503 not ready or busy (retry later)
  std::string error;
  std::vector<GridOpAck> acks;
  std::vector<PartitionState> leaves;  // kClientLeaf
  std::string cursor;                  // non-empty: more partitions differ; send it back
  friend bool operator==(const HttpSyncResponse&, const HttpSyncResponse&) = default;
};

// The message list (see the top of this file). Append only, in the schema's union order.
using Body = std::variant<OpBatch, Ack, SyncInit, SyncRoot, SyncBucketsRequest, SyncBuckets,
                          SyncLeafRequest, SyncLeaf, OrMapDiff, PnCounterState, QuerySubscribe,
                          GridOps, GridAck, PartitionState, PartitionDigest, Heartbeat, QueryUpdate,
                          HttpSyncRequest, HttpSyncResponse, PartitionStates>;

struct Envelope {
  std::string sender;
  Body body;
  friend bool operator==(const Envelope&, const Envelope&) = default;
};

// "OpBatch", "SyncRoot", ...: the schema's name of the body type.
std::string_view BodyName(const Body& body);

}  // namespace seedgrid::msg

#endif  // SEEDGRID_ENGINE_WIRE_MESSAGES_H_
