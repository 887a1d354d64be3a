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

int CompareNumbers(const Value& a, const Value& b) {
  const int64_t* ai = std::get_if<int64_t>(&a);
  const int64_t* bi = std::get_if<int64_t>(&b);
  if (ai != nullptr && bi != nullptr) return Sign(*ai<*bi, *ai> * bi);
  if (ai != nullptr) return CompareIntDouble(*ai, std::get<double>(b));
  if (bi != nullptr) return -CompareIntDouble(*bi, std::get<double>(a));
  return CompareDoubles(std::get<double>(a), std::get<double>(b));
}

}  // namespace

ValueClass ClassOf(const Value& v) {
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

int CompareValues(const Value& a, const Value& b) {
  const ValueClass ca = ClassOf(a);
  const ValueClass cb = ClassOf(b);
  if (ca != cb) return Sign(ca<cb, ca> cb);
  switch (ca) {
    case ValueClass::kNull:
      return 0;
    case ValueClass::kBool: {
      const bool x = std::get<bool>(a);
      const bool y = std::get<bool>(b);
      return Sign(x<y, x> y);
    }
    case ValueClass::kNumber:
      return CompareNumbers(a, b);
    case ValueClass::kString: {
      const int c = std::get<std::string>(a).compare(std::get<std::string>(b));
      return Sign(c<0, c> 0);
    }
    case ValueClass::kList: {
      const StringList& x = std::get<StringList>(a);
      const StringList& y = std::get<StringList>(b);
      const size_t n = std::min(x.size(), y.size());
      for (size_t i = 0; i < n; ++i) {
        const int c = x[i].compare(y[i]);
        if (c != 0) return Sign(c<0, c> 0);
      }
      return Sign(x.size() < y.size(), x.size() > y.size());
    }
  }
  SG_ASSERT(false);
}

Value NormalizeForEq(const Value& v) {
  const double* d = std::get_if<double>(&v);
  if (d == nullptr) return v;
  if (std::isnan(*d)) return std::numeric_limits<double>::quiet_NaN();
  if (*d >= -kTwoPow63 && *d < kTwoPow63 && std::trunc(*d) == *d) {
    return static_cast<int64_t>(*d);
  }
  return v;
}

uint64_t HashNormalized(const Value& v) {
  DigestWriter w;
  w.U8(static_cast<uint8_t>(TypeOf(v)));
  switch (TypeOf(v)) {
    case ValueType::kNull:
      break;
    case ValueType::kBool:
      w.U8(std::get<bool>(v) ? 1 : 0);
      break;
    case ValueType::kInt:
      w.U64(static_cast<uint64_t>(std::get<int64_t>(v)));
      break;
    case ValueType::kDouble: {
      w.U64(std::bit_cast<uint64_t>(std::get<double>(v)));
      break;
    }
    case ValueType::kString:
      w.Str(std::get<std::string>(v));
      break;
    case ValueType::kList:
      for (const std::string& s : std::get<StringList>(v)) w.Str(s);
      break;
  }
  return w.Finish();
}

}  // namespace seedgrid
