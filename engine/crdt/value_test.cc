#include "engine/crdt/value.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace seedgrid {
namespace {

TEST(Document, FieldsAreSortedAndReplaced) {
  Document d{{"b", int64_t{1}}, {"a", std::string("x")}};
  d.Set("b", 2.5);
  d.Set("c", StringList{"p", "q"});
  EXPECT_EQ(d.ToString(), R"({"a": "x", "b": 2.5, "c": ["p", "q"]})");
  ASSERT_NE(d.Get("b"), nullptr);
  EXPECT_EQ(std::get<double>(*d.Get("b")), 2.5);
  EXPECT_EQ(d.Get("zz"), nullptr);
  EXPECT_TRUE(d.Erase("a"));
  EXPECT_FALSE(d.Erase("a"));
  EXPECT_EQ(d.size(), 2u);
}

TEST(Document, EqualityAndDigestIgnoreInsertionOrder) {
  Document a{{"x", int64_t{1}}, {"y", true}};
  Document b{{"y", true}, {"x", int64_t{1}}};
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.Digest(), b.Digest());
}

TEST(Document, DigestSeparatesTypesAndValues) {
  // int 1, double 1.0, bool true, string "1", null, list ["1"] all differ.
  std::vector<Value> values{
      int64_t{1},      1.0,          true,           std::string("1"), std::monostate{},
      StringList{"1"}, StringList{}, std::string("")};
  for (size_t i = 0; i < values.size(); ++i) {
    for (size_t j = 0; j < values.size(); ++j) {
      Document a{{"f", values[i]}}, b{{"f", values[j]}};
      EXPECT_EQ(a == b, i == j) << i << " " << j;
      EXPECT_EQ(a.Digest() == b.Digest(), i == j) << i << " " << j;
    }
  }
  // Field boundaries are length-prefixed: {"ab": "c"} != {"a": "bc"}.
  EXPECT_NE((Document{{"ab", std::string("c")}}).Digest(),
            (Document{{"a", std::string("bc")}}).Digest());
}

TEST(Document, DoublesCompareByBits) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ((Document{{"f", nan}}), (Document{{"f", nan}}));
  EXPECT_NE((Document{{"f", 0.0}}), (Document{{"f", -0.0}}));
  EXPECT_NE((Document{{"f", 0.0}}).Digest(), (Document{{"f", -0.0}}).Digest());
}

TEST(Document, DigestIsStableAcrossBuilds) {
  // Pinned: a change here changes every Merkle root and breaks saved repro files.
  const Document d{{"name", std::string("café")}, {"n", int64_t{-7}}, {"tags", StringList{"a"}}};
  EXPECT_EQ(d.Digest(), 0xc09aece2ccd9b2caULL) << std::hex << d.Digest();
}

}  // namespace
}  // namespace seedgrid
