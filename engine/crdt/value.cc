#include "engine/crdt/value.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include "engine/base/assert.h"
#include "engine/crdt/flat_bytes.h"

namespace seedgrid {

namespace {

uint64_t DoubleBits(double d) { return std::bit_cast<uint64_t>(d); }

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

// --- ListView ----------------------------------------------------------------------------------

std::string_view ListView::Iterator::operator*() const {
  if (strings_ != nullptr) return *strings_;
  const uint8_t* p = flat_;
  return flat::LoadStr(p);
}

ListView::Iterator& ListView::Iterator::operator++() {
  if (strings_ != nullptr) {
    ++strings_;
  } else {
    flat::LoadStr(flat_);  // Advances past the element.
  }
  return *this;
}

ListView ListView::Flat(const uint8_t* first, const uint8_t* end, size_t size) {
  ListView l;
  l.flat_ = first;
  l.flat_end_ = end;
  l.size_ = size;
  return l;
}

ListView::Iterator ListView::begin() const {
  Iterator it;
  it.strings_ = strings_;
  it.flat_ = flat_;
  return it;
}

ListView::Iterator ListView::end() const {
  Iterator it;
  it.strings_ = strings_ == nullptr ? nullptr : strings_ + size_;
  it.flat_ = flat_end_;
  return it;
}

bool ListView::Contains(std::string_view s) const { return std::find(begin(), end(), s) != end(); }

StringList ListView::ToList() const {
  StringList out;
  out.reserve(size_);
  for (std::string_view s : *this) out.emplace_back(s);
  return out;
}

// --- ValueView ---------------------------------------------------------------------------------

ValueView::ValueView(const Value& v) : type_(TypeOf(v)) {
  switch (type_) {
    case ValueType::kNull:
      break;
    case ValueType::kBool:
      b_ = std::get<bool>(v);
      break;
    case ValueType::kInt:
      i_ = std::get<int64_t>(v);
      break;
    case ValueType::kDouble:
      d_ = std::get<double>(v);
      break;
    case ValueType::kString:
      s_ = std::get<std::string>(v);
      break;
    case ValueType::kList:
      l_ = ListView(std::get<StringList>(v));
      break;
  }
}

ValueView ValueView::Bool(bool b) {
  ValueView v;
  v.type_ = ValueType::kBool;
  v.b_ = b;
  return v;
}

ValueView ValueView::Int(int64_t i) {
  ValueView v;
  v.type_ = ValueType::kInt;
  v.i_ = i;
  return v;
}

ValueView ValueView::Double(double d) {
  ValueView v;
  v.type_ = ValueType::kDouble;
  v.d_ = d;
  return v;
}

ValueView ValueView::String(std::string_view s) {
  ValueView v;
  v.type_ = ValueType::kString;
  v.s_ = s;
  return v;
}

ValueView ValueView::List(ListView l) {
  ValueView v;
  v.type_ = ValueType::kList;
  v.l_ = l;
  return v;
}

bool ValueView::bool_value() const {
  SG_ASSERT(type_ == ValueType::kBool);
  return b_;
}

int64_t ValueView::int_value() const {
  SG_ASSERT(type_ == ValueType::kInt);
  return i_;
}

double ValueView::double_value() const {
  SG_ASSERT(type_ == ValueType::kDouble);
  return d_;
}

std::string_view ValueView::string_value() const {
  SG_ASSERT(type_ == ValueType::kString);
  return s_;
}

ListView ValueView::list_value() const {
  SG_ASSERT(type_ == ValueType::kList);
  return l_;
}

Value ValueView::ToValue() const {
  switch (type_) {
    case ValueType::kNull:
      return std::monostate{};
    case ValueType::kBool:
      return b_;
    case ValueType::kInt:
      return i_;
    case ValueType::kDouble:
      return d_;
    case ValueType::kString:
      return std::string(s_);
    case ValueType::kList:
      return l_.ToList();
  }
  SG_ASSERT(false);
}

bool ValueEquals(ValueView a, ValueView b) {
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case ValueType::kNull:
      return true;
    case ValueType::kBool:
      return a.bool_value() == b.bool_value();
    case ValueType::kInt:
      return a.int_value() == b.int_value();
    case ValueType::kDouble:
      return DoubleBits(a.double_value()) == DoubleBits(b.double_value());
    case ValueType::kString:
      return a.string_value() == b.string_value();
    case ValueType::kList: {
      const ListView x = a.list_value();
      const ListView y = b.list_value();
      return x.size() == y.size() && std::equal(x.begin(), x.end(), y.begin());
    }
  }
  SG_ASSERT(false);
}

std::string ValueToString(ValueView v) {
  switch (v.type()) {
    case ValueType::kNull:
      return "null";
    case ValueType::kBool:
      return v.bool_value() ? "true" : "false";
    case ValueType::kInt:
      return fmt::format("{}", v.int_value());
    case ValueType::kDouble:
      return fmt::format("{}", v.double_value());
    case ValueType::kString:
      return Quote(v.string_value());
    case ValueType::kList: {
      std::string out = "[";
      for (std::string_view s : v.list_value()) {
        if (out.size() > 1) out += ", ";
        out += Quote(s);
      }
      return out + "]";
    }
  }
  SG_ASSERT(false);
}

}  // namespace seedgrid
