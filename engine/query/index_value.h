// IndexValue: an owned Value in 16 bytes, for index entries (one per row in a navigable index).
//
// Null, bools and numbers are held inline; a string or a list is one heap block in the encoding a
// Document uses for its values (a varint length or count, then the bytes). Reading gives a
// ValueView, valid while the IndexValue lives and is not assigned to. A std::variant Value takes
// 40 bytes plus its strings' heap copies; an index of a million numbers saves ~24 MB.
#ifndef SEEDGRID_ENGINE_QUERY_INDEX_VALUE_H_
#define SEEDGRID_ENGINE_QUERY_INDEX_VALUE_H_

#include <cstddef>
#include <cstdint>

#include "engine/crdt/value.h"

namespace seedgrid {

class IndexValue {
 public:
  IndexValue() : i_(0) {}  // null
  explicit IndexValue(ValueView v);
  IndexValue(const IndexValue& other);
  IndexValue(IndexValue&& other) noexcept;
  IndexValue& operator=(const IndexValue& other);
  IndexValue& operator=(IndexValue&& other) noexcept;
  ~IndexValue();

  // Valid while this IndexValue lives and is not assigned to or moved from.
  ValueView view() const ABSL_ATTRIBUTE_LIFETIME_BOUND;
  // Heap bytes beyond sizeof(IndexValue) (for memory reports).
  size_t heap_bytes() const;

 private:
  bool on_heap() const { return type_ == ValueType::kString || type_ == ValueType::kList; }
  void Release();

  ValueType type_ = ValueType::kNull;
  union {
    bool b_;
    int64_t i_;
    double d_;
    uint8_t* heap_;  // Owned: kString, kList.
  };
};

static_assert(sizeof(IndexValue) == 16);

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_QUERY_INDEX_VALUE_H_
