// FieldName: the name of a document field, interned so that a million documents with the same
// eight fields hold eight strings, not eight million (8 bytes per field instead of 32).
//
// A FieldName behaves as its text (engine/base/interned.h): equality, ordering (byte-wise) and
// hashing see only the bytes. Its pool holds at most kPoolNamesMax names of at most
// kPoolNameBytesMax bytes (a table of 512 KiB, made on first use); any other name is owned by its
// FieldName, so a client inventing field names cannot grow the pool without bound. Documents store
// a pooled name as its 2-byte pool slot (engine/crdt/document.cc).
#ifndef SEEDGRID_ENGINE_CRDT_FIELD_NAME_H_
#define SEEDGRID_ENGINE_CRDT_FIELD_NAME_H_

#include <cstddef>

#include "engine/base/interned.h"

namespace seedgrid {

struct FieldNameTraits {
  static constexpr size_t kNamesMax = 1 << 15;
  static constexpr size_t kNameBytesMax = 128;
};
using FieldName = Interned<FieldNameTraits>;

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_CRDT_FIELD_NAME_H_
