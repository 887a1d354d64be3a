#include "engine/wire/packed_doc.h"

#include <fmt/format.h>

#include <bit>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "engine/base/assert.h"
#include "engine/crdt/flat_bytes.h"
#include "engine/wire/packed_bytes.h"

namespace seedgrid::wire_codec {
namespace {

using packed::PutBytes;
using packed::PutFixed;
using packed::PutVarint;
using packed::Reader;

static_assert(std::endian::native == std::endian::little,
              "the packed form is little-endian; a big-endian build must swap here");

// What decoding charges the message's decode budget (decoder.h): the whole vector once per
// decode (several Document tables may name one vector, so aliasing costs what it decodes), and a
// fixed 16 a field for its entry in the field list (about 40 bytes, freed once the document is
// built; 16 keeps a document of 3-byte fields within the budget's 8 per wire byte). Strings and
// list items are read in place and copied once, into the document: they cost only their bytes.
constexpr size_t kFieldCharge = 16;

enum PackedType : uint8_t {
  kPackedNull = 0,
  kPackedFalse = 1,
  kPackedTrue = 2,
  kPackedInt = 3,
  kPackedDouble = 4,
  kPackedString = 5,
  kPackedList = 6,
};

}  // namespace

void PackDocument(const Document& doc, std::string& out) {
  SG_ASSERT(!doc.empty());  // An empty document has no packed form.
  PutVarint(out, doc.size());
  for (const Document::FieldView f : doc) {
    PutBytes(out, f.name);
    switch (TypeOf(f.value)) {
      case ValueType::kNull:
        out.push_back(static_cast<char>(kPackedNull));
        break;
      case ValueType::kBool:
        out.push_back(static_cast<char>(f.value.bool_value() ? kPackedTrue : kPackedFalse));
        break;
      case ValueType::kInt:
        out.push_back(static_cast<char>(kPackedInt));
        PutFixed(out, f.value.int_value());
        break;
      case ValueType::kDouble:  // Bit-exact: the sign of zero and NaN payloads survive.
        out.push_back(static_cast<char>(kPackedDouble));
        PutFixed(out, std::bit_cast<uint64_t>(f.value.double_value()));
        break;
      case ValueType::kString:
        out.push_back(static_cast<char>(kPackedString));
        PutBytes(out, f.value.string_value());
        break;
      case ValueType::kList: {
        out.push_back(static_cast<char>(kPackedList));
        const ListView list = f.value.list_value();
        PutVarint(out, list.size());
        for (std::string_view item : list) PutBytes(out, item);
        break;
      }
    }
  }
}

namespace {

// A string list's items in place (the packed form's items are Document's flat list encoding);
// every length is checked.
bool ReadList(Reader& in, ValueView& value, std::string& error) {
  uint32_t items = 0;
  if (!in.Varint(items, error)) return false;
  if (items > in.left()) {  // Every item takes at least its length byte.
    error = fmt::format("byte {}: {} list items announced, {} bytes left", in.offset(), items,
                        in.left());
    return false;
  }
  const size_t first = in.offset();
  for (uint32_t j = 0; j < items; ++j) {
    std::string_view item;
    if (!in.Bytes(item, error)) return false;
  }
  const auto* base = reinterpret_cast<const uint8_t*>(in.data());
  value = ValueView::List(ListView::Flat(base + first, base + in.offset(), items));
  return true;
}

// One value of type `type`, in place. False with `error` set for bad bytes.
bool ReadValue(Reader& in, uint8_t type, std::string_view name, ValueView& value,
               std::string& error) {
  switch (type) {
    case kPackedNull:
      value = ValueView();
      return true;
    case kPackedFalse:
    case kPackedTrue:
      value = ValueView::Bool(type == kPackedTrue);
      return true;
    case kPackedInt: {
      int64_t v = 0;
      if (!in.Fixed(v, error)) return false;
      value = ValueView::Int(v);
      return true;
    }
    case kPackedDouble: {
      uint64_t bits = 0;
      if (!in.Fixed(bits, error)) return false;
      value = ValueView::Double(std::bit_cast<double>(bits));
      return true;
    }
    case kPackedString: {
      std::string_view s;
      if (!in.Bytes(s, error)) return false;
      value = ValueView::String(s);
      return true;
    }
    case kPackedList:
      return ReadList(in, value, error);
    default:
      error =
          fmt::format("byte {}: unknown value type {} of field '{}'", in.offset() - 1, type, name);
      return false;
  }
}

}  // namespace

absl::Status UnpackDocument(std::string_view bytes, absl::FunctionRef<bool(size_t)> charge,
                            Document& out) {
  out = Document();
  const auto over_budget = [] { return absl::ResourceExhaustedError("decode budget exceeded"); };
  if (!charge(bytes.size())) return over_budget();
  Reader in(bytes);
  std::string error;
  const auto invalid = [&] { return absl::InvalidArgumentError(error); };
  uint32_t count = 0;
  if (!in.Varint(count, error)) return invalid();
  // An empty document has no packed form (the encoder writes neither form): one encoding each.
  if (count == 0) return absl::InvalidArgumentError("byte 0: a packed document has no fields");
  // Every field takes at least 2 bytes (an empty name's length and a type): a count beyond that
  // is a lie, and must not size an allocation.
  if (count > in.left() / 2) {
    return absl::InvalidArgumentError(
        fmt::format("byte 0: {} fields announced, but {} bytes can hold at most {}", count,
                    in.left(), in.left() / 2));
  }
  if (!charge(size_t{count} * kFieldCharge)) return over_budget();
  std::vector<std::pair<FieldName, ValueView>> fields;
  fields.reserve(count);
  std::string_view previous;
  for (uint32_t i = 0; i < count; ++i) {
    const size_t field_at = in.offset();
    std::string_view name;
    if (!in.Bytes(name, error)) return invalid();
    if (i > 0 && !(previous < name)) {
      return absl::InvalidArgumentError(
          fmt::format("byte {}: field name '{}' is not after '{}' (fields must be sorted and "
                      "unique)",
                      field_at, name, previous));
    }
    previous = name;
    uint8_t type = 0;
    ValueView value;
    if (!in.Byte(type, "a value type", error) || !ReadValue(in, type, name, value, error))
      return invalid();
    fields.emplace_back(FieldName(name), value);
  }
  if (in.left() != 0) {
    return absl::InvalidArgumentError(
        fmt::format("byte {}: {} trailing bytes after the document's {} fields", in.offset(),
                    in.left(), count));
  }
  out = Document::FromSortedViews(fields);
  return absl::OkStatus();
}

}  // namespace seedgrid::wire_codec
