// The packed form of a document on the wire (fb::Document.packed, wire version 5).
//
// Encoding a document as FlatBuffers tables costs three tables and a string per field, and their
// verification and decoding as much again: in grid runs that was a seventh of all instructions.
// The packed form is one byte vector: FlatBuffers verifies it in constant time, and it is written
// and read in one pass.
//
// Format (portable: little-endian, no alignment, no process-local data such as pool slots):
//   document := varint(field count) field*
//   field    := varint(name bytes) name type value
//   type     := one byte: 0 null, 1 false, 2 true, 3 int, 4 double, 5 string, 6 string list
//   value    := (nothing for types 0..2) | 8 bytes int64 (3) | 8 bytes IEEE-754 bits (4)
//             | varint(bytes) bytes (5) | varint(item count) (varint(bytes) bytes)* (6)
//   varint   := LEB128, 7 bits a byte, low bits first, at most 5 bytes (a uint32)
// Names are in strictly ascending byte-wise order (unique), as in fb::Document.fields. The vector
// is exactly one document with at least one field (an empty document is written in neither form):
// trailing bytes are an error.
//
// Contract. PackDocument appends the packed form of any non-empty Document. UnpackDocument accepts
// exactly what PackDocument writes for some document (so the bytes are canonical) and rejects
// everything else with an error naming the byte offset and what is wrong; it reads strings and
// list items in place, and calls `charge(bytes)` (the decoder's budget, decoder.h) for the vector
// and for the field list before it builds anything; a false return stops it with
// ResourceExhausted.
#ifndef SEEDGRID_ENGINE_WIRE_PACKED_DOC_H_
#define SEEDGRID_ENGINE_WIRE_PACKED_DOC_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "engine/crdt/value.h"

namespace seedgrid::wire_codec {

// Appends the packed form of `doc` to `out`. REQUIRES: !doc.empty() (asserted).
void PackDocument(const Document& doc, std::string& out);

// Decodes `bytes` into `out` (see the contract). `charge(bytes)` returns false when the decode
// budget is spent; UnpackDocument then returns ResourceExhausted. Bad bytes are InvalidArgument
// with messages such as "byte 17: field name 'b' is not after 'c' (fields must be sorted and
// unique)".
absl::Status UnpackDocument(std::string_view bytes, absl::FunctionRef<bool(size_t)> charge,
                            Document& out);

}  // namespace seedgrid::wire_codec

#endif  // SEEDGRID_ENGINE_WIRE_PACKED_DOC_H_
