// Document values stored in the CRDT maps.
//
// A Document maps field names to Values; a Value is null, bool, int64, double, string or a list
// of strings. Fields are kept sorted by name (byte-wise), so equality, digests and printing are
// canonical. Field names are interned (field_name.h): documents share them. Equality of doubles is
// bit-equality (NaN equals the same NaN, -0.0 != 0.0) so that equality agrees with the digest and
// merge stays idempotent for every value.
//
// Digest(): a 64-bit XXH3 over a fixed little-endian encoding (type tags, lengths, bytes); equal
// documents have equal digests in every process and build.
#ifndef SEEDGRID_ENGINE_CRDT_VALUE_H_
#define SEEDGRID_ENGINE_CRDT_VALUE_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

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
bool ValueEquals(const Value& a, const Value& b);
std::string ValueToString(const Value& v);

class Document {
 public:
  using Field = std::pair<FieldName, Value>;

  Document() = default;
  Document(std::initializer_list<Field> fields);

  // Inserts or replaces a field.
  void Set(FieldName name, Value value);
  // Returns nullptr when absent (a missing field reads as null in queries).
  const Value* Get(std::string_view name) const;
  bool Erase(std::string_view name);

  size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }
  auto begin() const { return fields_.begin(); }
  auto end() const { return fields_.end(); }

  uint64_t Digest() const;
  // {"name": value, ...} in field order, for logs and reports.
  std::string ToString() const;

  friend bool operator==(const Document& a, const Document& b);

 private:
  std::vector<Field> fields_;  // Sorted by name, names unique.
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_CRDT_VALUE_H_
