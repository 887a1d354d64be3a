#include "engine/crdt/field_name.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <vector>

#include "engine/crdt/value.h"

namespace seedgrid {
namespace {

TEST(FieldName, BehavesAsItsText) {
  const FieldName a("city");
  const FieldName b(std::string("city"));
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, "city");
  EXPECT_EQ(a.view(), "city");
  EXPECT_LT(FieldName("age"), a);
  EXPECT_EQ(fmt::format("{}", a), "city");
  EXPECT_TRUE(a.interned());
  EXPECT_TRUE(FieldName().empty());
}

TEST(FieldName, LongNamesAreOwnedNotPooled) {
  const std::string long_text(FieldName::kPoolNameBytesMax + 1, 'x');
  const size_t pooled = FieldName::PoolSize();
  FieldName a(long_text);
  EXPECT_FALSE(a.interned());
  EXPECT_EQ(FieldName::PoolSize(), pooled);
  FieldName copy = a;  // A deep copy: each owns its text.
  a = FieldName("short");
  EXPECT_EQ(copy.view(), long_text);
  EXPECT_EQ(copy, FieldName(long_text));
  EXPECT_EQ(a, "short");
  FieldName moved = std::move(copy);
  EXPECT_EQ(moved.view(), long_text);
  moved = moved;  // Self-assignment keeps the text.
  EXPECT_EQ(moved.view(), long_text);
}

// A document's meaning never depends on whether its names were pooled: an owned and an interned
// name with the same text are the same field.
TEST(FieldName, DocumentsAgreeWhetherNamesArePooledOrOwned) {
  const std::string long_text(FieldName::kPoolNameBytesMax + 5, 'n');
  Document a;
  a.Set(long_text, int64_t{1});
  a.Set("b", true);
  Document b;
  b.Set("b", true);
  b.Set(FieldName(long_text), int64_t{1});
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.Digest(), b.Digest());
  ASSERT_TRUE(a.Get(long_text).has_value());
  EXPECT_EQ(a.Get(long_text)->int_value(), 1);
}

RC_GTEST_PROP(FieldName, OrderAndEqualityAreThoseOfTheText,
              (const std::string& x, const std::string& y)) {
  const FieldName a(x);
  const FieldName b(y);
  RC_ASSERT((a == b) == (x == y));
  RC_ASSERT((a < b) == (x < y));
  RC_ASSERT(a.view() == x);
}

}  // namespace
}  // namespace seedgrid
