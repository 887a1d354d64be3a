#include "engine/query/value_order.h"

#include <bit>
#include <cmath>
#include <limits>

#include "engine/base/assert.h"
#include "engine/crdt/digest.h"

namespace seedgrid {

namespace {

constexpr double kTwoPow63 = 9223372036854775808.0;

int Sign(bool less, bool greater) { return less ? -1 : (greater ? 1 : 0); }

int CompareDoubles(double a, double b) {
  const bool a_nan = std::isnan(a);
  const bool b_nan = std::isnan(b);
  if (a_nan || b_nan) return Sign(!a_nan, !b_nan);  // NaN after every number; NaN == NaN.
  return Sign(a<b, a> b);                           // -0.0 == 0.0.
}

// Exact comparison of an int64 with a double, without rounding the int64 to a double.
int CompareIntDouble(int64_t i, double d) {
  if (std::isnan(d)) return -1;
  if (d >= kTwoPow63) return -1;
  if (d < -kTwoPow63) return 1;
  const double whole = std::trunc(d);
  const int64_t t = static_cast<int64_t>(whole);  // In range: -2^63 <= whole < 2^63.
  if (i != t) return Sign(i<t, i> t);
  const double fraction = d - whole;
  return Sign(fraction > 0, fraction < 0);
}

int CompareNumbers(ValueView a, ValueView b) {
  const bool a_int = a.type() == ValueType::kInt;
  const bool b_int = b.type() == ValueType::kInt;
  if (a_int && b_int) {
    const int64_t x = a.int_value();
    const int64_t y = b.int_value();
    return Sign(x<y, x> y);
  }
  if (a_int) return CompareIntDouble(a.int_value(), b.double_value());
  if (b_int) return -CompareIntDouble(b.int_value(), a.double_value());
  return CompareDoubles(a.double_value(), b.double_value());
}

}  // namespace

ValueClass ClassOf(ValueView v) {
  switch (TypeOf(v)) {
    case ValueType::kNull:
      return ValueClass::kNull;
    case ValueType::kBool:
      return ValueClass::kBool;
    case ValueType::kInt:
    case ValueType::kDouble:
      return ValueClass::kNumber;
    case ValueType::kString:
      return ValueClass::kString;
    case ValueType::kList:
      return ValueClass::kList;
  }
  SG_ASSERT(false);
}

std::string_view ValueClassName(ValueClass c) {
  switch (c) {
    case ValueClass::kNull:
      return "null";
    case ValueClass::kBool:
      return "bool";
    case ValueClass::kNumber:
      return "number";
    case ValueClass::kString:
      return "string";
    case ValueClass::kList:
      return "list";
  }
  SG_ASSERT(false);
}

int CompareValues(ValueView a, ValueView b) {
  const ValueClass ca = ClassOf(a);
  const ValueClass cb = ClassOf(b);
  if (ca != cb) return Sign(ca<cb, ca> cb);
  switch (ca) {
    case ValueClass::kNull:
      return 0;
    case ValueClass::kBool: {
      const bool x = a.bool_value();
      const bool y = b.bool_value();
      return Sign(x<y, x> y);
    }
    case ValueClass::kNumber:
      return CompareNumbers(a, b);
    case ValueClass::kString: {
      const int c = a.string_value().compare(b.string_value());
      return Sign(c<0, c> 0);
    }
    case ValueClass::kList: {
      const ListView x = a.list_value();
      const ListView y = b.list_value();
      auto xi = x.begin();
      auto yi = y.begin();
      for (; xi != x.end() && yi != y.end(); ++xi, ++yi) {
        const int c = (*xi).compare(*yi);
        if (c != 0) return Sign(c<0, c> 0);
      }
      return Sign(x.size() < y.size(), x.size() > y.size());
    }
  }
  SG_ASSERT(false);
}

Value NormalizeForEq(ValueView v) { return NormalizedView(v).view().ToValue(); }

NormalizedView::NormalizedView(ValueView v) : v_(v) {
  if (v.type() != ValueType::kDouble) return;  // Only doubles have other representatives.
  const double d = v.double_value();
  if (std::isnan(d)) {
    v_ = ValueView::Double(std::numeric_limits<double>::quiet_NaN());
  } else if (d >= -kTwoPow63 && d < kTwoPow63 && std::trunc(d) == d) {
    v_ = ValueView::Int(static_cast<int64_t>(d));
  }
}

uint64_t HashNormalized(ValueView v) {
  DigestWriter w;
  w.U8(static_cast<uint8_t>(TypeOf(v)));
  switch (TypeOf(v)) {
    case ValueType::kNull:
      break;
    case ValueType::kBool:
      w.U8(v.bool_value() ? 1 : 0);
      break;
    case ValueType::kInt:
      w.U64(static_cast<uint64_t>(v.int_value()));
      break;
    case ValueType::kDouble: {
      w.U64(std::bit_cast<uint64_t>(v.double_value()));
      break;
    }
    case ValueType::kString:
      w.Str(v.string_value());
      break;
    case ValueType::kList:
      for (std::string_view s : v.list_value()) w.Str(s);
      break;
  }
  return w.Finish();
}

}  // namespace seedgrid
