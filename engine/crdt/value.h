// Document values stored in the CRDT maps.
//
// A Document maps field names to Values; a Value is null, bool, int64, double, string or a list
// of strings. Fields are kept sorted by name (byte-wise), so equality, digests and printing are
// canonical. Field names are interned (field_name.h): documents share them. Equality of doubles is
// bit-equality (NaN equals the same NaN, -0.0 != 0.0) so that equality agrees with the digest and
// merge stays idempotent for every value.
//
// Storage: a Document is one heap block in a flat encoding (document.cc): a header, a table of
// (name, offset) entries sorted by name, one tag byte per field, then the values' bytes; a name is
// the pool slot of an interned FieldName or, for a name the pool does not hold, inline text. An
// 8-field record of short strings takes ~120 bytes instead of a vector of 48-byte
// (name, std::variant) pairs plus heap strings. Reading a field gives a ValueView into the block:
// valid until the Document is changed or destroyed. Set and Erase re-encode the block (O(size));
// build a large document from a vector of fields in one go instead.
//
// Value (an owning std::variant) is what callers build documents from and what outlives them;
// ValueView is a borrowed, cheap-to-copy reading of either a Value or a Document's field. A
// ValueView made from a Value is valid while that Value lives: never bind one to a temporary.
//
// Digest(): a 64-bit XXH3 over a fixed little-endian encoding (type tags, lengths, bytes); equal
// documents have equal digests in every process and build. It does not depend on the block layout.
#ifndef SEEDGRID_ENGINE_CRDT_VALUE_H_
#define SEEDGRID_ENGINE_CRDT_VALUE_H_

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "absl/base/attributes.h"
#include "engine/crdt/field_name.h"

namespace seedgrid {

using StringList = std::vector<std::string>;
using Value = std::variant<std::monostate, bool, int64_t, double, std::string, StringList>;

enum class ValueType : uint8_t {
  kNull = 0,
  kBool = 1,
  kInt = 2,
  kDouble = 3,
  kString = 4,
  kList = 5
};

inline ValueType TypeOf(const Value& v) { return static_cast<ValueType>(v.index()); }

// A borrowed list of strings: a StringList's elements or a Document's encoded list.
class ListView {
 public:
  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;  // Yields string_views by value.
    using value_type = std::string_view;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = std::string_view;

    Iterator() = default;
    std::string_view operator*() const;
    Iterator& operator++();
    Iterator operator++(int) {
      Iterator old = *this;
      ++*this;
      return old;
    }
    friend bool operator==(const Iterator& a, const Iterator& b) {
      return a.strings_ == b.strings_ && a.flat_ == b.flat_;
    }

   private:
    friend class ListView;
    const std::string* strings_ = nullptr;
    const uint8_t* flat_ = nullptr;  // The next element's length prefix.
  };

  ListView() = default;
  explicit ListView(const StringList& list) : strings_(list.data()), size_(list.size()) {}
  // REQUIRES: [first, end) holds exactly `size` strings in Document's encoding (varint length,
  // bytes), and outlives the view.
  static ListView Flat(const uint8_t* first, const uint8_t* end, size_t size);

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  Iterator begin() const;
  Iterator end() const;
  bool Contains(std::string_view s) const;
  StringList ToList() const;

 private:
  const std::string* strings_ = nullptr;
  const uint8_t* flat_ = nullptr;      // Flat form: the first element's length prefix,
  const uint8_t* flat_end_ = nullptr;  // and one past the last element's bytes.
  size_t size_ = 0;
};

// A borrowed Value: null, bool, int64, double, string (a string_view) or a list (a ListView).
// Reading the wrong type is an assertion failure (as std::get would throw).
class ValueView {
 public:
  ValueView() : i_(0) {}  // null
  // NOLINTNEXTLINE(google-explicit-constructor): a view of v, valid while v lives.
  ValueView(const Value& v ABSL_ATTRIBUTE_LIFETIME_BOUND);
  static ValueView Bool(bool b);
  static ValueView Int(int64_t i);
  static ValueView Double(double d);
  static ValueView String(std::string_view s);
  static ValueView List(ListView l);

  ValueType type() const { return type_; }
  bool is_null() const { return type_ == ValueType::kNull; }
  bool is_string() const { return type_ == ValueType::kString; }
  bool is_list() const { return type_ == ValueType::kList; }
  bool bool_value() const;
  int64_t int_value() const;
  double double_value() const;
  std::string_view string_value() const;
  ListView list_value() const;
  Value ToValue() const;

 private:
  ValueType type_ = ValueType::kNull;
  union {
    bool b_;
    int64_t i_;
    double d_;
    std::string_view s_;
    ListView l_;
  };
};

inline ValueType TypeOf(ValueView v) { return v.type(); }
bool ValueEquals(ValueView a, ValueView b);
std::string ValueToString(ValueView v);

class Document {
 public:
  using Field = std::pair<FieldName, Value>;
  struct FieldView {
    std::string_view name;
    ValueView value;
  };
  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;  // Yields FieldViews by value.
    using value_type = FieldView;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = FieldView;

    Iterator() = default;
    FieldView operator*() const { return doc_->At(i_); }
    Iterator& operator++() {
      ++i_;
      return *this;
    }
    Iterator operator++(int) {
      Iterator old = *this;
      ++i_;
      return old;
    }
    friend bool operator==(const Iterator& a, const Iterator& b) { return a.i_ == b.i_; }

   private:
    friend class Document;
    Iterator(const Document* doc, size_t i) : doc_(doc), i_(i) {}
    const Document* doc_ = nullptr;
    size_t i_ = 0;
  };

  Document() = default;
  Document(std::initializer_list<Field> fields);
  // Later fields of the same name replace earlier ones.
  explicit Document(std::vector<Field> fields);
  // REQUIRES: `fields` in strictly ascending, unique name order (asserted). The views are copied
  // into the document: they need only live through the call (a decoder reads names and values in
  // place instead of building Values first: engine/wire/packed_doc.cc).
  static Document FromSortedViews(const std::vector<std::pair<FieldName, ValueView>>& fields);
  Document(const Document& other);
  Document(Document&& other) noexcept = default;
  Document& operator=(const Document& other);
  Document& operator=(Document&& other) noexcept = default;
  ~Document() = default;

  // Inserts or replaces a field (re-encodes the document).
  void Set(FieldName name, Value value);
  // nullopt when absent (a missing field reads as null in queries). Valid until the next change.
  std::optional<ValueView> Get(std::string_view name) const;
  // The same for an interned name, found by its pool slot (a name the pool holds is stored by its
  // slot in every document, so comparing slots is exact); other names are searched by text.
  std::optional<ValueView> Get(const FieldName& name) const;
  // Text (not FieldName) lookups for the types that convert to both.
  std::optional<ValueView> Get(const std::string& name) const {
    return Get(std::string_view(name));
  }
  std::optional<ValueView> Get(const char* name) const { return Get(std::string_view(name)); }
  bool Erase(std::string_view name);

  size_t size() const;
  bool empty() const { return size() == 0; }
  Iterator begin() const { return Iterator(this, 0); }
  Iterator end() const { return Iterator(this, size()); }
  // The i-th field in name order. REQUIRES: i < size().
  FieldView At(size_t i) const;
  // Bytes of the encoded block (0 when empty), for memory reports.
  size_t encoded_bytes() const;
  // A hint to bring the block's first cache lines into cache (scans call it a few rows ahead of
  // reading); no other effect.
  void Prefetch() const;

  uint64_t Digest() const;
  // {"name": value, ...} in field order, for logs and reports.
  std::string ToString() const;

  friend bool operator==(const Document& a, const Document& b);

 private:
  struct Built;
  void Encode(const std::vector<Built>& fields);
  uint32_t SlotAt(size_t i) const;  // The i-th name's pool slot, or FieldName::kNoSlot.
  std::string_view NameAt(size_t i) const;
  ValueView ValueAt(size_t i) const;

  std::unique_ptr<uint8_t[]> data_;  // The flat block; null when the document has no fields.
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_CRDT_VALUE_H_
