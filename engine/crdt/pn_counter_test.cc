#include "engine/crdt/pn_counter.h"

#include <gtest/gtest.h>

#include <limits>

namespace seedgrid {
namespace {

TEST(PnCounter, IncrementDecrementAndMergeByPerNodeMax) {
  PnCounter a("a"), b("b");
  a.Increment(5);
  a.Decrement(2);
  b.Decrement(10);
  EXPECT_EQ(a.value(), 3);
  ASSERT_TRUE(a.Merge(b.state()).ok());
  ASSERT_TRUE(b.Merge(a.state()).ok());
  EXPECT_EQ(a.value(), -7);
  EXPECT_EQ(b.value(), -7);
  EXPECT_EQ(a.Digest(), b.Digest());
  // Re-merging an older state of a changes nothing.
  PnState stale{{"a", {1, 0}}};
  ASSERT_TRUE(b.Merge(stale).ok());
  EXPECT_EQ(b.value(), -7);
}

TEST(PnCounter, ValueWrapsInsteadOfOverflowingUB) {
  PnCounter a("a");
  a.Increment(std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(a.value(), -1);  // Modular: documented, not undefined behaviour.
}

TEST(PnCounter, MergeRejectsBadNodeIds) {
  PnCounter a("a");
  EXPECT_EQ(a.Merge({{"x:y", {1, 0}}}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(a.value(), 0);
}

TEST(PnCounter, NotifiesOnValueChangeOnly) {
  PnCounter a("a");
  std::vector<std::pair<int64_t, int64_t>> changes;
  a.AddListener([&](const PnChange& c) { changes.emplace_back(c.old_value, c.new_value); });
  a.Increment(2);
  ASSERT_TRUE(a.Merge({{"a", {1, 0}}}).ok());  // Stale: no change.
  a.Decrement(1);
  EXPECT_EQ(changes, (std::vector<std::pair<int64_t, int64_t>>{{0, 2}, {2, 1}}));
}

}  // namespace
}  // namespace seedgrid
