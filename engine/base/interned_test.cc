#include "engine/base/interned.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <vector>

namespace seedgrid {
namespace {

// A pool small enough to fill in a test: 4 texts of at most 8 bytes.
struct TinyTraits {
  static constexpr size_t kNamesMax = 4;
  static constexpr size_t kNameBytesMax = 8;
};
using Tiny = Interned<TinyTraits>;

// Each pool below is used by one test only, so the tests hold in any order and in one process.
// Interning from several threads is tested in tools/seedgrid/interned_threads_test.cc (the
// determinism check bans threads under engine/).
template <int kId>
struct SmallTraits {
  static constexpr size_t kNamesMax = 64;
  static constexpr size_t kNameBytesMax = 8;
};
using Other = Interned<SmallTraits<1>>;
using ForProperty = Interned<SmallTraits<2>>;

TEST(Interned, AFullPoolOwnsNewTextsAndStillComparesByText) {
  const std::vector<Tiny> pooled = {"a", "b", "c", "d"};
  for (const Tiny& t : pooled) EXPECT_TRUE(t.interned()) << t.view();
  EXPECT_EQ(Tiny::PoolSize(), 4u);
  const Tiny e("e");  // Past the cap: owned, and the pool does not grow.
  EXPECT_FALSE(e.interned());
  EXPECT_EQ(e.pool_slot(), Tiny::kNoSlot);
  EXPECT_EQ(Tiny::PoolSize(), 4u);
  EXPECT_EQ(e, Tiny("e"));  // Two owned copies of one text are equal.
  EXPECT_LT(pooled[3], e);
  EXPECT_TRUE(Tiny("a").interned());  // A pooled text is still found.
  EXPECT_EQ(Tiny::PoolText(Tiny("c").pool_slot()), "c");
  Tiny copy = e;
  EXPECT_FALSE(copy.interned());
  EXPECT_EQ(copy.view(), "e");
}

TEST(Interned, EachTraitsTypeHasItsOwnPool) {
  const size_t tiny = Tiny::PoolSize();
  const Other x("x-only");
  EXPECT_TRUE(x.interned());
  EXPECT_EQ(Tiny::PoolSize(), tiny);
  EXPECT_EQ(Other::PoolText(x.pool_slot()), "x-only");
}

TEST(Interned, TextsOverTheByteBoundAreOwned) {
  EXPECT_TRUE(Other("12345678").interned());
  EXPECT_FALSE(Other("123456789").interned());
  EXPECT_EQ(Other("123456789"), "123456789");
}

RC_GTEST_PROP(Interned, OrderEqualityAndCopiesAreThoseOfTheText,
              (const std::string& x, const std::string& y)) {
  const ForProperty a(x);
  ForProperty b(y);
  RC_ASSERT((a == b) == (x == y));
  RC_ASSERT((a < b) == (x < y));
  RC_ASSERT(a.compare(y) == std::string_view(x).compare(y));
  b = a;
  RC_ASSERT(b == a);
  RC_ASSERT(b.view() == x);
  const ForProperty moved = std::move(b);
  RC_ASSERT(moved.view() == x);
  RC_ASSERT(b.empty());  // NOLINT(bugprone-use-after-move): a moved-from text is empty.
}

}  // namespace
}  // namespace seedgrid
