#include "engine/crdt/value.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include "engine/base/assert.h"
#include "engine/crdt/digest.h"

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

uint32_t LoadU32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

void StoreU32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, sizeof v); }

// A length-prefixed string at p.
std::string_view LoadStr(const uint8_t* p) {
  return {reinterpret_cast<const char*>(p + 4), LoadU32(p)};
}

}  // namespace

// --- ListView ----------------------------------------------------------------------------------

std::string_view ListView::Iterator::operator*() const {
  return strings_ != nullptr ? std::string_view(*strings_) : LoadStr(flat_);
}

ListView::Iterator& ListView::Iterator::operator++() {
  if (strings_ != nullptr) {
    ++strings_;
  } else {
    flat_ += 4 + LoadU32(flat_);
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

// --- Document ----------------------------------------------------------------------------------
//
// The block (all integers little-endian, unaligned, read with memcpy):
//   u32 total bytes | u32 field count n
//   n entries of (u32 name, u32 value offset), sorted by name text
//   n type tags (u8, Tag below)
//   payload: inline names and the values' bytes
// A name is a FieldName pool slot, or kInlineName | the offset of its length-prefixed text.
// Values: null, false and true are their tag alone (offset 0); int64 and double 8 bytes; a string
// u32 length + bytes; a list u32 count + each element as a string.

namespace {

constexpr size_t kHeaderBytes = 8;
constexpr size_t kEntryBytes = 8;
constexpr uint32_t kInlineName = 0x80000000u;
constexpr size_t kBlockBytesMax = kInlineName - 1;  // Offsets must stay below the inline bit.

enum class Tag : uint8_t { kNull, kFalse, kTrue, kInt, kDouble, kString, kList };

Tag TagOf(ValueView v) {
  switch (v.type()) {
    case ValueType::kNull:
      return Tag::kNull;
    case ValueType::kBool:
      return v.bool_value() ? Tag::kTrue : Tag::kFalse;
    case ValueType::kInt:
      return Tag::kInt;
    case ValueType::kDouble:
      return Tag::kDouble;
    case ValueType::kString:
      return Tag::kString;
    case ValueType::kList:
      return Tag::kList;
  }
  SG_ASSERT(false);
}

size_t PayloadBytes(ValueView v) {
  switch (v.type()) {
    case ValueType::kNull:
    case ValueType::kBool:
      return 0;
    case ValueType::kInt:
    case ValueType::kDouble:
      return 8;
    case ValueType::kString:
      return 4 + v.string_value().size();
    case ValueType::kList: {
      size_t n = 4;
      for (std::string_view s : v.list_value()) n += 4 + s.size();
      return n;
    }
  }
  SG_ASSERT(false);
}

// Appends bytes at a cursor inside a block sized in advance.
struct BlockWriter {
  uint8_t* at;
  void U32(uint32_t v) {
    StoreU32(at, v);
    at += 4;
  }
  void Bytes(const void* p, size_t n) {
    if (n > 0) std::memcpy(at, p, n);
    at += n;
  }
  void Str(std::string_view s) {
    U32(static_cast<uint32_t>(s.size()));
    Bytes(s.data(), s.size());
  }
};

void WritePayload(BlockWriter& w, ValueView v) {
  switch (v.type()) {
    case ValueType::kNull:
    case ValueType::kBool:
      return;
    case ValueType::kInt: {
      const int64_t i = v.int_value();
      w.Bytes(&i, 8);
      return;
    }
    case ValueType::kDouble: {
      const double d = v.double_value();
      w.Bytes(&d, 8);
      return;
    }
    case ValueType::kString:
      w.Str(v.string_value());
      return;
    case ValueType::kList:
      w.U32(static_cast<uint32_t>(v.list_value().size()));
      for (std::string_view s : v.list_value()) w.Str(s);
      return;
  }
}

}  // namespace

// One field to encode: its name's text and pool slot (kNoSlot: inline), and its value.
struct Document::Built {
  std::string_view name;
  uint32_t slot;
  ValueView value;
};

Document::Document(std::initializer_list<Field> fields)
    : Document(std::vector<Field>(fields.begin(), fields.end())) {}

Document::Document(std::vector<Field> fields) {
  // Stable, so that of equal names the last given is last: that one is kept.
  std::stable_sort(fields.begin(), fields.end(),
                   [](const Field& a, const Field& b) { return a.first.view() < b.first.view(); });
  std::vector<Built> unique;
  unique.reserve(fields.size());
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i + 1 < fields.size() && fields[i + 1].first == fields[i].first) continue;
    unique.push_back({fields[i].first.view(), fields[i].first.pool_slot(), fields[i].second});
  }
  Encode(unique);
}

Document::Document(const Document& other) {
  if (other.data_ == nullptr) return;
  const size_t n = other.encoded_bytes();
  data_.reset(new uint8_t[n]);
  std::memcpy(data_.get(), other.data_.get(), n);
}

Document& Document::operator=(const Document& other) {
  if (this != &other) *this = Document(other);
  return *this;
}

size_t Document::size() const { return data_ == nullptr ? 0 : LoadU32(data_.get() + 4); }

size_t Document::encoded_bytes() const { return data_ == nullptr ? 0 : LoadU32(data_.get()); }

void Document::Encode(const std::vector<Built>& fields) {
  if (fields.empty()) {
    data_.reset();
    return;
  }
  const size_t n = fields.size();
  size_t total = kHeaderBytes + n * (kEntryBytes + 1);
  for (const Built& f : fields) {
    if (f.slot == FieldName::kNoSlot) total += 4 + f.name.size();
    total += PayloadBytes(f.value);
  }
  SG_ASSERT(total <= kBlockBytesMax);
  std::unique_ptr<uint8_t[]> block(new uint8_t[total]);
  uint8_t* const base = block.get();
  StoreU32(base, static_cast<uint32_t>(total));
  StoreU32(base + 4, static_cast<uint32_t>(n));
  uint8_t* const entries = base + kHeaderBytes;
  uint8_t* const tags = entries + n * kEntryBytes;
  BlockWriter w{tags + n};
  for (size_t i = 0; i < n; ++i) {
    const Built& f = fields[i];
    SG_ASSERT(i == 0 || fields[i - 1].name < f.name);  // Sorted, unique.
    uint32_t name_ref = f.slot;
    if (name_ref == FieldName::kNoSlot) {
      name_ref = kInlineName | static_cast<uint32_t>(w.at - base);
      w.Str(f.name);
    }
    const Tag tag = TagOf(f.value);
    const bool has_payload = tag != Tag::kNull && tag != Tag::kFalse && tag != Tag::kTrue;
    StoreU32(entries + i * kEntryBytes, name_ref);
    StoreU32(entries + i * kEntryBytes + 4, has_payload ? static_cast<uint32_t>(w.at - base) : 0);
    tags[i] = static_cast<uint8_t>(tag);
    WritePayload(w, f.value);
  }
  SG_ASSERT(w.at == base + total);
  data_ = std::move(block);
}

std::string_view Document::NameAt(size_t i) const {
  const uint8_t* const base = data_.get();
  const uint32_t name_ref = LoadU32(base + kHeaderBytes + i * kEntryBytes);
  return (name_ref & kInlineName) != 0 ? LoadStr(base + (name_ref & ~kInlineName))
                                       : FieldName::PoolText(name_ref);
}

ValueView Document::ValueAt(size_t i) const {
  const uint8_t* const base = data_.get();
  const uint8_t* const p = base + LoadU32(base + kHeaderBytes + i * kEntryBytes + 4);
  switch (static_cast<Tag>(base[kHeaderBytes + size() * kEntryBytes + i])) {
    case Tag::kNull:
      return ValueView();
    case Tag::kFalse:
      return ValueView::Bool(false);
    case Tag::kTrue:
      return ValueView::Bool(true);
    case Tag::kInt: {
      int64_t v;
      std::memcpy(&v, p, 8);
      return ValueView::Int(v);
    }
    case Tag::kDouble: {
      double v;
      std::memcpy(&v, p, 8);
      return ValueView::Double(v);
    }
    case Tag::kString:
      return ValueView::String(LoadStr(p));
    case Tag::kList: {
      const uint32_t count = LoadU32(p);
      const uint8_t* const first = p + 4;
      const uint8_t* end = first;
      for (uint32_t k = 0; k < count; ++k) end += 4 + LoadU32(end);
      return ValueView::List(ListView::Flat(first, end, count));
    }
  }
  SG_ASSERT(false);
}

Document::FieldView Document::At(size_t i) const {
  SG_ASSERT(i < size());
  return {NameAt(i), ValueAt(i)};
}

uint32_t Document::SlotAt(size_t i) const {
  const uint32_t name_ref = LoadU32(data_.get() + kHeaderBytes + i * kEntryBytes);
  return (name_ref & kInlineName) != 0 ? FieldName::kNoSlot : name_ref;
}

void Document::Set(FieldName name, Value value) {
  const Built set{name.view(), name.pool_slot(), value};
  std::vector<Built> fields;
  fields.reserve(size() + 1);
  bool placed = false;
  for (size_t i = 0; i < size(); ++i) {
    const FieldView f = At(i);
    if (!placed && set.name <= f.name) {
      fields.push_back(set);
      placed = true;
      if (set.name == f.name) continue;  // Replaced.
    }
    fields.push_back({f.name, SlotAt(i), f.value});
  }
  if (!placed) fields.push_back(set);
  Encode(fields);  // The views into the old block stay valid until it is replaced.
}

std::optional<ValueView> Document::Get(std::string_view name) const {
  size_t lo = 0;
  size_t hi = size();
  while (lo < hi) {  // The first field whose name is not below `name`.
    const size_t mid = lo + (hi - lo) / 2;
    if (NameAt(mid) < name) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo == size() || NameAt(lo) != name) return std::nullopt;
  return ValueAt(lo);
}

bool Document::Erase(std::string_view name) {
  if (!Get(name).has_value()) return false;
  std::vector<Built> fields;
  fields.reserve(size());
  for (size_t i = 0; i < size(); ++i) {
    const FieldView f = At(i);
    if (f.name != name) fields.push_back({f.name, SlotAt(i), f.value});
  }
  Encode(fields);
  return true;
}

uint64_t Document::Digest() const {
  DigestWriter w;
  w.U32(static_cast<uint32_t>(size()));
  for (const auto [name, value] : *this) {
    w.Str(name);
    w.U8(static_cast<uint8_t>(value.type()));
    switch (value.type()) {
      case ValueType::kNull:
        break;
      case ValueType::kBool:
        w.U8(value.bool_value() ? 1 : 0);
        break;
      case ValueType::kInt:
        w.U64(static_cast<uint64_t>(value.int_value()));
        break;
      case ValueType::kDouble:
        w.U64(DoubleBits(value.double_value()));
        break;
      case ValueType::kString:
        w.Str(value.string_value());
        break;
      case ValueType::kList: {
        const ListView list = value.list_value();
        w.U32(static_cast<uint32_t>(list.size()));
        for (std::string_view s : list) w.Str(s);
        break;
      }
    }
  }
  return w.Finish();
}

std::string Document::ToString() const {
  std::string out = "{";
  for (const auto [name, value] : *this) {
    if (out.size() > 1) out += ", ";
    out += Quote(name) + ": " + ValueToString(value);
  }
  return out + "}";
}

bool operator==(const Document& a, const Document& b) {
  const size_t n = a.size();
  if (n != b.size()) return false;
  if (n == 0) return true;
  if (a.encoded_bytes() == b.encoded_bytes() &&
      std::memcmp(a.data_.get(), b.data_.get(), a.encoded_bytes()) == 0) {
    return true;  // Same bytes, same fields; different bytes may still be equal fields.
  }
  for (size_t i = 0; i < n; ++i) {
    const Document::FieldView x = a.At(i);
    const Document::FieldView y = b.At(i);
    if (x.name != y.name || !ValueEquals(x.value, y.value)) return false;
  }
  return true;
}

}  // namespace seedgrid
