// The query engine's value order and equality.
//
// Total order over Values (used for sorting, navigable indexes and cursors):
//   null < false < true < numbers < strings < lists
// Numbers: int64 and double are compared by exact mathematical value (1 == 1.0, and 2^53 + 1 as an
// int is greater than 2^53 as a double); -0.0 == 0.0; NaN sorts after +inf and equals every NaN.
// Strings: byte-wise (so UTF-8 strings sort by code point). Lists: element by element, then the
// shorter list first.
//
// Query equality is "compares equal" under this order (not bit-equality as in Document ==), so
// eq(x, 1) matches 1 and 1.0. NormalizeForEq maps every equal-comparing value to one canonical
// value, so hash indexes can key on it; ValueHash is consistent with that equality and
// deterministic across processes (XXH3, not absl::Hash).
#ifndef SEEDGRID_ENGINE_QUERY_VALUE_ORDER_H_
#define SEEDGRID_ENGINE_QUERY_VALUE_ORDER_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/crdt/value.h"

namespace seedgrid {

// Range predicates compare only within a class (MongoDB-style type bracketing): gt(x, 5) never
// matches a string or a null. Sorting uses the total order across classes.
enum class ValueClass : uint8_t { kNull = 0, kBool = 1, kNumber = 2, kString = 3, kList = 4 };
ValueClass ClassOf(ValueView v);
std::string_view ValueClassName(ValueClass c);

// <0, 0, >0.
int CompareValues(ValueView a, ValueView b);
inline bool QueryEquals(ValueView a, ValueView b) { return CompareValues(a, b) == 0; }

// The canonical representative of v's equality class: integral doubles within int64 range become
// int64 (-0.0 becomes 0), every NaN becomes the same quiet NaN; other values are unchanged.
Value NormalizeForEq(ValueView v);

// Hash of a *normalized* value (REQUIRES: v == NormalizeForEq(v)).
uint64_t HashNormalized(ValueView v);

// The view of NormalizeForEq(v), borrowing v's bytes instead of copying them: a lookup key for
// hash containers keyed by normalised Values (the functors below accept it, and no other view,
// so a lookup cannot skip normalising).
class NormalizedView {
 public:
  explicit NormalizedView(ValueView v);
  ValueView view() const { return v_; }

 private:
  ValueView v_;
};

// Hash and equality of normalised Values (keys must be NormalizeForEq's results).
struct NormalizedValueHash {
  using is_transparent = void;
  size_t operator()(const Value& v) const { return static_cast<size_t>(HashNormalized(v)); }
  size_t operator()(NormalizedView v) const {
    return static_cast<size_t>(HashNormalized(v.view()));
  }
};
struct NormalizedValueEq {
  using is_transparent = void;
  bool operator()(const Value& a, const Value& b) const { return ValueEquals(a, b); }
  bool operator()(const Value& a, NormalizedView b) const { return ValueEquals(a, b.view()); }
  bool operator()(NormalizedView a, const Value& b) const { return ValueEquals(a.view(), b); }
};
struct ValueLess {
  using is_transparent = void;
  bool operator()(ValueView a, ValueView b) const { return CompareValues(a, b) < 0; }
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_QUERY_VALUE_ORDER_H_
