#include "engine/query/index_value.h"

#include <cstring>
#include <utility>

#include "engine/base/assert.h"
#include "engine/crdt/flat_bytes.h"

namespace seedgrid {

namespace {

size_t HeapBytesOf(ValueView v) {
  return v.is_string() ? flat::StrBytes(v.string_value()) : flat::ListBytes(v.list_value());
}

}  // namespace

IndexValue::IndexValue(ValueView v) : type_(v.type()) {
  switch (type_) {
    case ValueType::kNull:
      i_ = 0;
      return;
    case ValueType::kBool:
      i_ = 0;  // Moves copy the whole word.
      b_ = v.bool_value();
      return;
    case ValueType::kInt:
      i_ = v.int_value();
      return;
    case ValueType::kDouble:
      d_ = v.double_value();
      return;
    case ValueType::kString:
    case ValueType::kList:
      break;
  }
  heap_ = new uint8_t[HeapBytesOf(v)];
  if (v.is_string()) {
    flat::StoreStr(heap_, v.string_value());
    return;
  }
  flat::StoreList(heap_, v.list_value());
}

IndexValue::IndexValue(const IndexValue& other) : IndexValue(other.view()) {}

IndexValue::IndexValue(IndexValue&& other) noexcept : type_(other.type_), i_(other.i_) {
  static_assert(sizeof(i_) == sizeof(heap_));  // Moving i_ moves whichever member is set.
  other.type_ = ValueType::kNull;
  other.i_ = 0;
}

IndexValue& IndexValue::operator=(const IndexValue& other) {
  if (this != &other) *this = IndexValue(other);
  return *this;
}

IndexValue& IndexValue::operator=(IndexValue&& other) noexcept {
  if (this == &other) return *this;
  Release();
  type_ = std::exchange(other.type_, ValueType::kNull);
  i_ = std::exchange(other.i_, 0);
  return *this;
}

IndexValue::~IndexValue() { Release(); }

void IndexValue::Release() {
  if (on_heap()) delete[] heap_;
  type_ = ValueType::kNull;
  i_ = 0;
}

ValueView IndexValue::view() const {
  switch (type_) {
    case ValueType::kNull:
      return ValueView();
    case ValueType::kBool:
      return ValueView::Bool(b_);
    case ValueType::kInt:
      return ValueView::Int(i_);
    case ValueType::kDouble:
      return ValueView::Double(d_);
    case ValueType::kString: {
      const uint8_t* p = heap_;
      return ValueView::String(flat::LoadStr(p));
    }
    case ValueType::kList:
      return ValueView::List(flat::LoadList(heap_));
  }
  SG_ASSERT(false);
}

size_t IndexValue::heap_bytes() const { return on_heap() ? HeapBytesOf(view()) : 0; }

}  // namespace seedgrid
