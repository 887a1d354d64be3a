// Packed LWW records: how grid servers (PartitionStore) and grid clients store one record — the
// "R/…" pages of their data directories — and how messages carry lists of them
// (MapRecords.lww_packed, wire version 6).
//
// Until 2026-12-03 a record page was a whole wire message: an Envelope holding a PartitionState
// holding one map's one record. Encoding that per merged record was a twelfth of a grid run's
// instructions, and the records of messages (a FlatBuffers table, a key, a timestamp table, a
// node id and a document table each) another fifth. Both are now packed (little-endian, no
// alignment):
//   page   := 'r' varint(map bytes) map varint(key bytes) key record
//   record := flags millis(8) counter(4) varint(node id bytes) node_id [ttl_ms(8)]
//             [varint(document bytes) document]
//   flags  := one byte: bit 0 a value (not a tombstone), bit 1 a ttl, bit 2 a value with fields
//             (the packed document, packed_doc.h, follows); bit 2 needs bit 0; other bits 0
//   list   := varint(count >= 1) (varint(key bytes) key record)*      (MapRecords.lww_packed)
//   varint := packed_bytes.h (LEB128, minimal, a uint32)
//
// Old pages still decode: a FlatBuffers buffer starts with the offset of its root table, which
// is 4-byte aligned, so its first byte is never 'r' (0x72): readers dispatch on IsPackedRecordPage.
//
// Contract. DecodeRecordPage and UnpackLwwEntries accept exactly what EncodeRecordPage and
// PackLwwEntries write (canonical bytes), and reject everything else with an error naming the byte
// and the fault — in particular every strict prefix of a page, which is what a torn write leaves
// (sim/sim_storage.h): each part's presence and length is announced before it. Node ids are
// validated (ValidateNodeId) before they are interned; map names as the wire decoder checks them.
// UnpackLwwEntries charges the decode budget (decoder.h) before it allocates: the list's bytes
// once, an entry's size per record, and each document as UnpackDocument does (its bytes are
// then charged twice, well within the budget's 8 per wire byte).
#ifndef SEEDGRID_ENGINE_WIRE_PACKED_RECORD_H_
#define SEEDGRID_ENGINE_WIRE_PACKED_RECORD_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "engine/crdt/lww_map.h"
#include "engine/wire/messages.h"

namespace seedgrid {

struct StoredRecord {
  std::string map;
  std::string key;
  LwwRecord record;
};

// The page of `record`, the record of `key` in map `map`. REQUIRES: a valid map name.
std::string EncodeRecordPage(std::string_view map, std::string_view key, const LwwRecord& record);

// True when `bytes` is in the packed form (its first byte is 'r'), not an older page's.
inline bool IsPackedRecordPage(std::string_view bytes) { return !bytes.empty() && bytes[0] == 'r'; }

// Decodes a packed record page (see the contract); InvalidArgument for anything else.
absl::StatusOr<StoredRecord> DecodeRecordPage(std::string_view bytes);

namespace wire_codec {

// Appends the packed list of `entries`. REQUIRES: !entries.empty() (asserted).
void PackLwwEntries(const std::vector<msg::LwwEntry>& entries, std::string& out);
// Decodes a packed list into `out`; InvalidArgument naming the byte for bad bytes,
// ResourceExhausted once `charge` returns false.
absl::Status UnpackLwwEntries(std::string_view bytes, absl::FunctionRef<bool(size_t)> charge,
                              std::vector<msg::LwwEntry>& out);

}  // namespace wire_codec

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_WIRE_PACKED_RECORD_H_
