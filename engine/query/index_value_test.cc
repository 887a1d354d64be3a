#include "engine/query/index_value.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <utility>

#include "engine/query/query_testing.h"
#include "engine/query/value_order.h"

namespace seedgrid {
namespace {

// An IndexValue reads back as the value it was made from, through copies, moves and assignments.
RC_GTEST_PROP(IndexValue, HoldsItsValueThroughCopiesAndMoves, ()) {
  const Value v = *testing::GenValue();
  const Value w = *testing::GenValue();
  IndexValue a(v);
  RC_ASSERT(ValueEquals(a.view(), v));
  IndexValue copy = a;
  RC_ASSERT(ValueEquals(copy.view(), v));
  IndexValue moved = std::move(a);
  RC_ASSERT(ValueEquals(moved.view(), v));
  RC_ASSERT(a.view().is_null());  // NOLINT(bugprone-use-after-move): moved-from is null.
  IndexValue other(w);
  other = copy;
  RC_ASSERT(ValueEquals(other.view(), v));
  other = IndexValue(w);
  RC_ASSERT(ValueEquals(other.view(), w));
  RC_ASSERT(ValueEquals(copy.view(), v));
}

TEST(IndexValue, NumbersStayInlineAndStringsTakeOneBlock) {
  EXPECT_EQ(IndexValue(Value(int64_t{7})).heap_bytes(), 0u);
  EXPECT_EQ(IndexValue(Value(2.5)).heap_bytes(), 0u);
  EXPECT_EQ(IndexValue(Value(std::string(200, 'x'))).heap_bytes(), 202u);  // 2-byte length.
  EXPECT_EQ(IndexValue(Value(StringList{"ab", ""})).view().list_value().ToList(),
            (StringList{"ab", ""}));
}

}  // namespace
}  // namespace seedgrid
