// Document: the flat block encoding (value.h declares the class).
//
// The block (integers unaligned in the machine's byte order, read with memcpy; never leaves the
// process; lengths are varints):
//   u8 format (kNarrow or kWide)
//   total bytes and field count n: u16 each (narrow) or u32 each (wide)
//   n entries (name, value offset), sorted by name text: u16 each (narrow) or u32 each (wide)
//   n tag bytes: the value's Tag in the low bits, kInlineNameBit when the name is inline
//   payload: inline names and the values' bytes
// A name is a FieldName pool slot (below 2^16), or the offset of its inline text (kInlineNameBit).
// Values: null, false and true are their tag alone (offset 0); int64 and double 8 bytes; a string
// its length and bytes; a list its count, then each element as a string. A block is narrow when
// it fits 64 KiB: an 8-field record of short strings takes ~120 bytes.
#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include "engine/base/assert.h"
#include "engine/crdt/digest.h"
#include "engine/crdt/flat_bytes.h"
#include "engine/crdt/value.h"

namespace seedgrid {

namespace {

constexpr uint8_t kNarrow = 0;
constexpr uint8_t kWide = 1;
constexpr uint8_t kTagMask = 0x07;
constexpr uint8_t kInlineNameBit = 0x80;
constexpr size_t kBlockBytesMax = UINT32_MAX;
static_assert(FieldName::kPoolNamesMax * 2 <= 65536, "pool slots must fit a narrow entry");

enum class Tag : uint8_t { kNull, kFalse, kTrue, kInt, kDouble, kString, kList };

// Where the parts of a block are.
struct Layout {
  bool wide;
  size_t count;
  size_t entries;  // Offset of the entry table.
  size_t entry_bytes;
  size_t tags;  // Offset of the tag bytes.

  static Layout Of(const uint8_t* base) {
    const bool wide = base[0] == kWide;
    const size_t count = wide ? flat::Load<uint32_t>(base + 5) : flat::Load<uint16_t>(base + 3);
    return Make(wide, count);
  }
  static Layout Make(bool wide, size_t count) {
    const size_t entries = wide ? 9 : 5;
    const size_t entry_bytes = wide ? 8 : 4;
    return {wide, count, entries, entry_bytes, entries + count * entry_bytes};
  }
  size_t payload() const { return tags + count; }
  uint32_t Name(const uint8_t* base, size_t i) const {
    const uint8_t* e = base + entries + i * entry_bytes;
    return wide ? flat::Load<uint32_t>(e) : flat::Load<uint16_t>(e);
  }
  uint32_t Offset(const uint8_t* base, size_t i) const {
    const uint8_t* e = base + entries + i * entry_bytes + entry_bytes / 2;
    return wide ? flat::Load<uint32_t>(e) : flat::Load<uint16_t>(e);
  }
  void SetEntry(uint8_t* base, size_t i, uint32_t name, uint32_t offset) const {
    uint8_t* e = base + entries + i * entry_bytes;
    if (wide) {
      flat::Store<uint32_t>(e, name);
      flat::Store<uint32_t>(e + 4, offset);
    } else {
      flat::Store<uint16_t>(e, static_cast<uint16_t>(name));
      flat::Store<uint16_t>(e + 2, static_cast<uint16_t>(offset));
    }
  }
};

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
      return flat::StrBytes(v.string_value());
    case ValueType::kList:
      return flat::ListBytes(v.list_value());
  }
  SG_ASSERT(false);
}

uint8_t* StorePayload(uint8_t* p, ValueView v) {
  switch (v.type()) {
    case ValueType::kNull:
    case ValueType::kBool:
      return p;
    case ValueType::kInt:
      flat::Store<int64_t>(p, v.int_value());
      return p + 8;
    case ValueType::kDouble:
      flat::Store<double>(p, v.double_value());
      return p + 8;
    case ValueType::kString:
      return flat::StoreStr(p, v.string_value());
    case ValueType::kList:
      return flat::StoreList(p, v.list_value());
  }
  SG_ASSERT(false);
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

Document Document::FromSortedViews(const std::vector<std::pair<FieldName, ValueView>>& fields) {
  std::vector<Built> built;
  built.reserve(fields.size());
  for (size_t i = 0; i < fields.size(); ++i) {
    SG_ASSERT(i == 0 || fields[i - 1].first.view() < fields[i].first.view());
    built.push_back({fields[i].first.view(), fields[i].first.pool_slot(), fields[i].second});
  }
  Document doc;
  doc.Encode(built);
  return doc;
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

size_t Document::size() const { return data_ == nullptr ? 0 : Layout::Of(data_.get()).count; }

size_t Document::encoded_bytes() const {
  if (data_ == nullptr) return 0;
  const uint8_t* base = data_.get();
  return base[0] == kWide ? flat::Load<uint32_t>(base + 1) : flat::Load<uint16_t>(base + 1);
}

void Document::Encode(const std::vector<Built>& fields) {
  if (fields.empty()) {
    data_.reset();
    return;
  }
  const size_t n = fields.size();
  size_t variable = 0;  // Inline names and payloads: the same in both layouts.
  for (const Built& f : fields) {
    if (f.slot == FieldName::kNoSlot) variable += flat::StrBytes(f.name);
    variable += PayloadBytes(f.value);
  }
  const size_t narrow_total = Layout::Make(false, n).payload() + variable;
  const Layout layout = Layout::Make(narrow_total > UINT16_MAX, n);
  const size_t total = layout.payload() + variable;
  SG_ASSERT(total <= kBlockBytesMax);
  std::unique_ptr<uint8_t[]> block(new uint8_t[total]);
  uint8_t* const base = block.get();
  base[0] = layout.wide ? kWide : kNarrow;
  if (layout.wide) {
    flat::Store<uint32_t>(base + 1, static_cast<uint32_t>(total));
    flat::Store<uint32_t>(base + 5, static_cast<uint32_t>(n));
  } else {
    flat::Store<uint16_t>(base + 1, static_cast<uint16_t>(total));
    flat::Store<uint16_t>(base + 3, static_cast<uint16_t>(n));
  }
  uint8_t* at = base + layout.payload();
  for (size_t i = 0; i < n; ++i) {
    const Built& f = fields[i];
    SG_ASSERT(i == 0 || fields[i - 1].name < f.name);  // Sorted, unique.
    uint8_t tag = static_cast<uint8_t>(TagOf(f.value));
    uint32_t name_ref = f.slot;
    if (name_ref == FieldName::kNoSlot) {
      name_ref = static_cast<uint32_t>(at - base);
      tag |= kInlineNameBit;
      at = flat::StoreStr(at, f.name);
    }
    const size_t payload = PayloadBytes(f.value);
    layout.SetEntry(base, i, name_ref, payload > 0 ? static_cast<uint32_t>(at - base) : 0);
    base[layout.tags + i] = tag;
    at = StorePayload(at, f.value);
  }
  SG_ASSERT(at == base + total);
  data_ = std::move(block);
}

namespace {

// Field i's name and value, given its block's layout (computed once by a caller that walks every
// field, such as Digest).
[[gnu::always_inline]] inline std::string_view NameIn(const uint8_t* base, const Layout& layout,
                                                      size_t i) {
  const uint32_t name_ref = layout.Name(base, i);
  if ((base[layout.tags + i] & kInlineNameBit) == 0) return FieldName::PoolText(name_ref);
  const uint8_t* p = base + name_ref;
  return flat::LoadStr(p);
}

[[gnu::always_inline]] inline ValueView ValueIn(const uint8_t* base, const Layout& layout,
                                                size_t i) {
  const uint8_t* p = base + layout.Offset(base, i);
  switch (static_cast<Tag>(base[layout.tags + i] & kTagMask)) {
    case Tag::kNull:
      return ValueView();
    case Tag::kFalse:
      return ValueView::Bool(false);
    case Tag::kTrue:
      return ValueView::Bool(true);
    case Tag::kInt:
      return ValueView::Int(flat::Load<int64_t>(p));
    case Tag::kDouble:
      return ValueView::Double(flat::Load<double>(p));
    case Tag::kString:
      return ValueView::String(flat::LoadStr(p));
    case Tag::kList:
      return ValueView::List(flat::LoadList(p));
  }
  SG_ASSERT(false);
}

}  // namespace

std::string_view Document::NameAt(size_t i) const {
  const uint8_t* const base = data_.get();
  return NameIn(base, Layout::Of(base), i);
}

ValueView Document::ValueAt(size_t i) const {
  const uint8_t* const base = data_.get();
  return ValueIn(base, Layout::Of(base), i);
}

Document::FieldView Document::At(size_t i) const {
  SG_ASSERT(i < size());
  return {NameAt(i), ValueAt(i)};
}

uint32_t Document::SlotAt(size_t i) const {
  const uint8_t* const base = data_.get();
  const Layout layout = Layout::Of(base);
  return (base[layout.tags + i] & kInlineNameBit) != 0 ? FieldName::kNoSlot : layout.Name(base, i);
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

void Document::Prefetch() const {
  // Up to three lines: an 8-field record of short strings takes ~120 bytes, which at malloc's
  // 16-byte alignment spans three lines three times in four (two lines cost the scan ~1.7x). A
  // prefetch never faults, so an address may lie past a shorter block (computed as an integer,
  // not a pointer).
  if (data_ == nullptr) return;
  // The address only names lines to fetch; it never reaches a result or a trace.
  const auto base = reinterpret_cast<uintptr_t>(data_.get());  // sg:address-ok
  __builtin_prefetch(reinterpret_cast<const void*>(base));
  __builtin_prefetch(reinterpret_cast<const void*>(base + 64));
  __builtin_prefetch(reinterpret_cast<const void*>(base + 127));
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

std::optional<ValueView> Document::Get(const FieldName& name) const {
  constexpr size_t kScanFieldsMax = 32;  // Beyond, a search by text does fewer probes.
  const uint32_t slot = name.pool_slot();
  const size_t n = size();
  if (n == 0) return std::nullopt;
  if (slot == FieldName::kNoSlot || n > kScanFieldsMax) return Get(name.view());
  const uint8_t* const base = data_.get();
  const Layout layout = Layout::Of(base);
  for (size_t i = 0; i < n; ++i) {
    if ((base[layout.tags + i] & kInlineNameBit) == 0 && layout.Name(base, i) == slot) {
      return ValueAt(i);
    }
  }
  return std::nullopt;
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
  const size_t n = size();
  w.U32(static_cast<uint32_t>(n));
  const uint8_t* const base = data_.get();
  const Layout layout = n == 0 ? Layout{} : Layout::Of(base);  // an empty document has no block
  for (size_t i = 0; i < n; ++i) {
    const ValueView value = ValueIn(base, layout, i);
    w.Str(NameIn(base, layout, i));
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
        w.U64(std::bit_cast<uint64_t>(value.double_value()));
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
    out += ValueToString(ValueView::String(name)) + ": " + ValueToString(value);
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
