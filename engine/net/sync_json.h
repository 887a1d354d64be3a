// The JSON form of HTTP sync (POST /v1/sync): msg::HttpSyncRequest and msg::HttpSyncResponse as
// JSON bodies, for clients that speak neither WebSocket nor FlatBuffers. A user-facing contract:
// curl users write these bodies by hand.
//
// Request:
//   {"client": "phone-7",               // required, a node id
//    "request_id": 12,                  // optional, default 0, echoed
//    "ops": [{"seq": 1,                 // >= 1
//             "map": "users", "key": "k1",
//             "value": {"name": "Ada"},  // a document; null or absent = remove
//             "concern": "applied",      // optional, default "applied"
//             "client_ts": "1700000000000:0:phone-7",  // optional, default "0:0:<client>"
//             "counter": {"positive": 12, "negative": 5},  // optional: a counter op (below)
//             "or": {"kind": "remove", "names": [TS, ...]}}],  // optional: an OR op (below)
//    "marks": [{"map": "users",         // the maps to sync
//               "digests": {"17": "00000000deadbeef"}}],  // optional, default {}: holds nothing
//    "repairs": [{"partition": 3, "map": "users", "records": [RECORD, ...],  // optional
//                 "counters": [COUNTER, ...],                              // optional
//                 "or_keys": [ORENTRY, ...]}],                             // optional
//    "cursor": "users:120"}             // optional: the last response's cursor
// Response (status 200):
//   {"request_id": 12,
//    "acks": [{"seq": 1, "ts": "1700000000123:0:s1", "level": "applied", "duplicate": false}],
//    "changes": [{"map": "users", "partition": 17, "digest": "00000000deadbeef",
//                 "pruned_below_ms": 0, "records": [RECORD, ...],
//                 "counters": [COUNTER, ...],    // only when the map has counters there
//                 "or_keys": [ORENTRY, ...]}],   // only when it has OR entries there
//    "cursor": "users:120"}             // only when more partitions differ: send it back
// Response (any other status, 400 a bad request, 503 retry later):
//   {"request_id": 12, "status": 400, "error": "ops[0].seq: seq must be at least 1"}
// RECORD:
//   {"key": "k1", "value": {"name": "Ada"},  // required: a document, or null for a tombstone
//    "ts": "1700000000000:0:s1",            // required
//    "ttl_ms": 5000}                        // optional
// COUNTER (a PN-Counter; engine/crdt/counter_map.h):
//   {"key": "visits",                        // required
//    "entries": {"phone-7": [12, 5]}}        // required: node id -> [positive, negative] totals
// ORENTRY (an OR-Map entry; engine/crdt/or_map.h):
//   {"key": "tags",                          // required
//    "items": [{"tag": TS, "value": {...},   // required: the owner's tag and the item
//               "ttl_ms": 5000,              // optional
//               "origin": "0:7:phone-7"}],   // optional: the add's origin (client, seq)
//    "tombstones": [TS, ...]}                // optional: removed tags, origins and kills
// A counter op ("counter" in an op, with no "value") carries the client's own totals of counter
// "key" of "map" after its increment — never a delta: the server raises the client's entry to
// them, so resending an op changes nothing. "positive" and "negative" default to 0.
// An OR op: {"kind": "add"} with the item as the op's "value" (its origin is "0:<seq>:<client>",
// so its seq must fit 32 bits); {"kind": "remove", "names": [TS, ...]} with no "value", naming
// the items it removes by their adds' origins (or an item without one by its tag): the owner
// kills those origins (docs/architecture.md, "OR-Maps on the grid"). Not with "counter".
//
// Fields and values:
// - Node ids are what timestamps allow (ValidateNodeId, engine/hlc/timestamp.h); map names are
//   1..kMapNameBytesMax bytes, as on the wire. Timestamps are "millis:counter:node_id".
// - Write concerns ("concern", "level"): "fire_and_forget", "applied" or "replicated" (the
//   lower-case msg::WriteConcernName), nothing else.
// - Digests are 16 hex digits (read in either case, written in lower case). A digest is the XOR of
//   RecordHash(key, record) over one map's records in one partition, of EntryHash over its
//   counters' entries and of OrEntryHash over its OR entries (msg::RecordsDigest; PartitionDigests,
//   the server's per-map digest): a client sends back the digest of each partition it holds as that
//   map's mark, and the server answers with the partitions whose digest differs.
// - "digests" keys are partitions in canonical decimal ("0".."270", no leading zeros).
// - Every record's and counter's key must be in its entry's partition (PartitionOf(key) ==
//   "partition"). Counters, OR entries, their items and tombstones, and OR removes' names count as
//   records for kSyncJsonRecordsMax (one budget per request). An item's "origin" has millis 0.
// - Documents are JSON objects of null, booleans, integers (int64), numbers, strings and arrays of
//   strings (document_json.h). Strings are UTF-8; invalid bytes are written as U+FFFD.
// - Numbers that are counts, ids, sequence numbers or milliseconds are non-negative integers
//   (below 2^64). A field of the wrong type is an error naming the field and the expected type;
//   a field this contract does not name is an error at every level (typos are never ignored)
//   except inside documents. An optional field may be null, meaning absent.
// - At most kSyncJsonOpsMax ops and kSyncJsonRecordsMax repair records (and repair entries) in
//   one request.
//
// One "changes" entry per (leaf, map) of the response's leaves, in order; its "digest" is computed
// from the records the entry carries. A leaf without maps (servers never send one: a client leaf
// always names its map) is one entry without "map" and with no records. The reader makes one
// kClientLeaf leaf per entry and ignores "digest" (checking only that it is 16 hex digits).
// Likewise one "repairs" entry per (repair state, map); a repair state without maps carries
// nothing and is not written. The JSON form carries only what belongs to a client: PartitionState
// ids (gateway-internal pull ids), applied marks and a repair's pruned_below_ms are not written
// and read back as 0 / empty (so a client can never forge applied marks or a watermark).
//
// Round trips:
// - SyncRequestFromJson(SyncRequestToJson(r)) == r for every valid request whose repairs are what
//   clients build (id 0, one map, no applied marks, pruned_below_ms 0), whose marks list their
//   partitions ascending without repeats, and whose strings are valid UTF-8.
// - SyncResponseFromJson(SyncResponseToJson(r)) == r for every valid response whose leaves are what
//   servers send (id 0 once read, at most one map, no applied marks), with valid UTF-8 strings and
//   finite doubles. "status" and "error" are written when status != 200 or the error is set;
//   "acks" and "changes" when status == 200 or they are non-empty.
//
// Errors are InvalidArgument naming the field, e.g.
//   "ops[3].concern: unknown write concern 'x' (expected fire_and_forget, applied or replicated)",
//   "marks[0].digests: key '300' is not a partition 0..270", "body: not JSON: ...".
// Pure functions of their arguments: no clock, no randomness, no state.
#ifndef SEEDGRID_ENGINE_NET_SYNC_JSON_H_
#define SEEDGRID_ENGINE_NET_SYNC_JSON_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "engine/wire/messages.h"

namespace seedgrid::net {

inline constexpr size_t kSyncJsonOpsMax = 100'000;
inline constexpr size_t kSyncJsonRecordsMax = 100'000;

absl::StatusOr<msg::HttpSyncRequest> SyncRequestFromJson(std::string_view body);
// REQUIRES: `r` is valid (what SyncRequestFromJson or the wire decoder accepts); every mark has as
// many digests as partitions (asserted).
std::string SyncRequestToJson(const msg::HttpSyncRequest& r);

absl::StatusOr<msg::HttpSyncResponse> SyncResponseFromJson(std::string_view body);
// REQUIRES: `r` is valid (what SyncResponseFromJson or the wire decoder accepts).
std::string SyncResponseToJson(const msg::HttpSyncResponse& r);

}  // namespace seedgrid::net

#endif  // SEEDGRID_ENGINE_NET_SYNC_JSON_H_
