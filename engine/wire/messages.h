// The engine's messages as plain C++ values. engine/wire/seedgrid.fbs is their wire form;
// codec.h converts between the two. Add a message here, in the schema's Body union (append
// only), and in codec.cc together.
#ifndef SEEDGRID_ENGINE_WIRE_MESSAGES_H_
#define SEEDGRID_ENGINE_WIRE_MESSAGES_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

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

struct QuerySubscribe {
  uint64_t subscription_id = 0;
  std::string map_name;
  Query query;
  friend bool operator==(const QuerySubscribe&, const QuerySubscribe&) = default;
};

using Body = std::variant<OpBatch, Ack, SyncInit, SyncRoot, SyncBucketsRequest, SyncBuckets,
                          SyncLeafRequest, SyncLeaf, OrMapDiff, PnCounterState, QuerySubscribe>;

struct Envelope {
  std::string sender;
  Body body;
  friend bool operator==(const Envelope&, const Envelope&) = default;
};

// "OpBatch", "SyncRoot", ...: the schema's name of the body type.
std::string_view BodyName(const Body& body);

}  // namespace seedgrid::msg

#endif  // SEEDGRID_ENGINE_WIRE_MESSAGES_H_
