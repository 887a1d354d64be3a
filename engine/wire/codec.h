// Encoding and decoding of msg::Envelope to and from the FlatBuffers wire form (seedgrid.fbs).
//
// Decode never trusts its input: it checks the size bound and the file identifier, runs the
// FlatBuffers verifier (bounds, alignment, required fields, depth and table-count limits), then
// semantic checks (valid node ids, sorted unique document fields, path digits and lengths, 16
// bucket hashes, known enum and union values, protocol version). Any failure is an
// InvalidArgument naming the field, e.g. "OpBatch.lww[3].ts.node_id: node id must not be empty";
// never a crash. Encode is deterministic: equal envelopes give identical bytes.
#ifndef SEEDGRID_ENGINE_WIRE_CODEC_H_
#define SEEDGRID_ENGINE_WIRE_CODEC_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "engine/wire/messages.h"

namespace seedgrid {

inline constexpr size_t kWireMessageBytesMax = 64u << 20;  // 64 MiB
// Envelope versions. A message that carries PN-Counter fields (a counter op, a map's counters) is
// written as version 2, every other message as version 1: a build from before counters rejects a
// version-2 message with a clear error instead of reading a counter op as a remove (it ignores
// fields it does not know), and speaks version 1 with this build as before. This build reads both.
// Likewise a message that carries OR-Map fields of the grid (an OR op, a map's OR entries) is
// version 3 (a build that knows counters but not grid OR-Maps would read an OR add as a remove),
// and a QuerySubscribe for a page (a cursor) or for OR rows is version 4 (an older build would
// serve the first page, or the records, instead).
inline constexpr uint16_t kWireProtocolVersion = 1;
inline constexpr uint16_t kWireCountersVersion = 2;
inline constexpr uint16_t kWireOrMapsVersion = 3;
inline constexpr uint16_t kWireLiveQueryRowsVersion = 4;
// A message holding a non-empty document is version 5: documents are packed (packed_doc.h), and
// an older build would read them as empty.
inline constexpr uint16_t kWirePackedDocsVersion = 5;
// A message whose MapRecords hold LWW records is version 6: they are packed
// (MapRecords.lww_packed, packed_record.h), and an older build would read a map without them.
// (The replica path's OpBatch and SyncLeaf keep their `lww` tables.)
inline constexpr uint16_t kWirePackedRecordsVersion = 6;
inline constexpr uint16_t kWireVersionMax = kWirePackedRecordsVersion;
// The version EncodeMessage writes for `body`, before packed forms: a message that holds a
// non-empty document is written as max(this, kWirePackedDocsVersion), one whose MapRecords hold
// LWW records as max(this, kWirePackedRecordsVersion) (Encoder::version_floor).
uint16_t WireVersionFor(const msg::Body& body);
inline constexpr uint32_t kWirePartitionCount = 271;  // partitions named in grid messages
inline constexpr size_t kMapNameBytesMax = 1024;      // a map name on the wire
// Whether `name` can name a map or counter on the wire (and so in a page): 1..kMapNameBytesMax.
inline bool IsWireMapName(std::string_view name) {
  return !name.empty() && name.size() <= kMapNameBytesMax;
}

// REQUIRES: the envelope is valid (what Decode would accept); asserted for node ids.
std::string EncodeMessage(const msg::Envelope& envelope);
absl::StatusOr<msg::Envelope> DecodeMessage(std::string_view bytes);

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_WIRE_CODEC_H_
