#include "engine/crdt/pn_counter.h"

#include <gtest/gtest.h>

#include <limits>

namespace seedgrid {
namespace {

TEST(PnCounter, IncrementDecrementAndMergeByPerNodeMax) {
  PnCounter a("a"), b("b");
  ASSERT_TRUE(a.Increment(5).ok());
  ASSERT_TRUE(a.Decrement(2).ok());
  ASSERT_TRUE(b.Decrement(10).ok());
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
  ASSERT_TRUE(a.Increment(std::numeric_limits<uint64_t>::max()).ok());
  EXPECT_EQ(a.value(), -1);  // Modular: documented, not undefined behaviour.
}

TEST(PnCounter, OverflowAfterRemoteMergeIsAnErrorNotAnAbort) {
  PnCounter a("a");
  ASSERT_TRUE(a.Merge({{"a", {std::numeric_limits<uint64_t>::max(), 0}}}).ok());
  const absl::Status s = a.Increment(1);
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(s.message(),
            "pn-counter on node 'a': increment by 1 would overflow the node's positive total "
            "18446744073709551615");
  EXPECT_EQ(a.state().at("a").positive, std::numeric_limits<uint64_t>::max());
  EXPECT_TRUE(a.Decrement(1).ok());
}

TEST(PnCounter, MergeThatChangesStateButNotValueStillNotifies) {
  PnCounter a("a");
  int events = 0;
  a.AddListener([&](const PnChange& c) {
    ++events;
    EXPECT_EQ(c.old_value, c.new_value);
  });
  ASSERT_TRUE(a.Merge({{"b", {5, 5}}}).ok());
  EXPECT_EQ(events, 1);
}

TEST(PnCounter, ZeroChangesLeaveNoTraceInTheState) {
  PnCounter a("a"), b("b");
  ASSERT_TRUE(a.Increment(0).ok());
  ASSERT_TRUE(a.Merge({{"c", {0, 0}}}).ok());
  EXPECT_TRUE(a.state().empty());
  EXPECT_EQ(a.Digest(), b.Digest());  // Same (empty) state as a counter that never moved.
  EXPECT_EQ(a.state(), b.state());
}

TEST(PnCounter, MergeRejectsBadNodeIds) {
  PnCounter a("a");
  EXPECT_EQ(a.Merge({{"x:y", {1, 0}}}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(a.value(), 0);
}

TEST(PnCounter, NotifiesOnStateChangeOnly) {
  PnCounter a("a");
  std::vector<std::pair<int64_t, int64_t>> changes;
  a.AddListener([&](const PnChange& c) { changes.emplace_back(c.old_value, c.new_value); });
  ASSERT_TRUE(a.Increment(2).ok());
  ASSERT_TRUE(a.Merge({{"a", {1, 0}}}).ok());  // Stale: no change.
  ASSERT_TRUE(a.Decrement(1).ok());
  EXPECT_EQ(changes, (std::vector<std::pair<int64_t, int64_t>>{{0, 2}, {2, 1}}));
}

}  // namespace
}  // namespace seedgrid
