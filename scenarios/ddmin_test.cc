#include "scenarios/ddmin.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

namespace seedgrid::scenarios {
namespace {

std::vector<uint64_t> Iota(uint64_t n) {
  std::vector<uint64_t> v(n);
  std::iota(v.begin(), v.end(), 0);
  return v;
}

bool Has(const std::vector<uint64_t>& v, uint64_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

TEST(Ddmin, FindsTheThreeItemsAFailureNeedsAmongAThousand) {
  uint64_t calls = 0;
  const DdminTest fails = [&](const std::vector<uint64_t>& kept) {
    ++calls;
    return Has(kept, 3) && Has(kept, 17) && Has(kept, 942);
  };
  const DdminResult r = Ddmin(Iota(1000), 1000, fails);
  EXPECT_EQ(r.kept, (std::vector<uint64_t>{3, 17, 942}));
  EXPECT_TRUE(r.minimal);
  EXPECT_EQ(r.tests, calls);
  // Chunked: about 2 tests per needed item per halving, plus the final one-item walks.
  EXPECT_LT(r.tests, 100u);
}

TEST(Ddmin, ResultIsOneMinimalForAPredicateWithTwoCauses) {
  // Fails with item 500 alone, or with 10 and 20 together.
  const DdminTest fails = [](const std::vector<uint64_t>& kept) {
    return Has(kept, 500) || (Has(kept, 10) && Has(kept, 20));
  };
  const DdminResult r = Ddmin(Iota(600), 10'000, fails);
  ASSERT_TRUE(r.minimal);
  ASSERT_TRUE(fails(r.kept));
  for (size_t i = 0; i < r.kept.size(); ++i) {
    std::vector<uint64_t> less = r.kept;
    less.erase(less.begin() + static_cast<ptrdiff_t>(i));
    EXPECT_FALSE(fails(less)) << "item " << r.kept[i] << " could be removed";
  }
}

TEST(Ddmin, TriesTheEmptyListFirst) {
  std::vector<size_t> sizes;
  const DdminResult r = Ddmin(Iota(50), 100, [&](const std::vector<uint64_t>& kept) {
    sizes.push_back(kept.size());
    return true;
  });
  EXPECT_TRUE(r.kept.empty());
  EXPECT_TRUE(r.minimal);
  EXPECT_EQ(sizes, std::vector<size_t>{0});
}

TEST(Ddmin, RespectsTheBudgetAndStillReturnsAFailingList) {
  const DdminTest fails = [](const std::vector<uint64_t>& kept) {
    return Has(kept, 3) && Has(kept, 17) && Has(kept, 942);
  };
  for (uint64_t budget : {1, 5, 12, 20}) {
    uint64_t calls = 0;
    const DdminResult r = Ddmin(Iota(1000), budget, [&](const std::vector<uint64_t>& kept) {
      ++calls;
      return fails(kept);
    });
    EXPECT_EQ(calls, budget);
    EXPECT_EQ(r.tests, budget);
    EXPECT_FALSE(r.minimal);
    EXPECT_TRUE(fails(r.kept)) << budget;
    EXPECT_TRUE(std::is_sorted(r.kept.begin(), r.kept.end()));
  }
}

TEST(Ddmin, EmptyInputNeedsNoTest) {
  const DdminResult r = Ddmin({}, 10, [](const std::vector<uint64_t>&) { return true; });
  EXPECT_EQ(r.tests, 0u);
  EXPECT_TRUE(r.minimal);
}

}  // namespace
}  // namespace seedgrid::scenarios
