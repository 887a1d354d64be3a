#include "engine/crdt/pn_counter.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <array>
#include <limits>
#include <vector>

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

TEST(PnCounter, DecrementsGoToTheNegativeHalfAndMergeEachHalfByMax) {
  PnCounter a("a");
  ASSERT_TRUE(a.Increment(5).ok());
  ASSERT_TRUE(a.Decrement(2).ok());
  EXPECT_EQ(a.state().at("a"), (PnTotals{5, 2}));  // Not a net increment of 3.
  // Each half takes its own maximum: a remote state that is ahead in N only still moves N.
  ASSERT_TRUE(a.Merge({{"a", {3, 7}}}).ok());
  EXPECT_EQ(a.state().at("a"), (PnTotals{5, 7}));
  EXPECT_EQ(a.value(), -2);
}

// Any interleaving of increments and decrements on three nodes, each node merging a random other
// node's state now and then, ends (after an all-to-all merge) at the signed sum on every node, with
// every node's P and N equal to what that node added and subtracted.
RC_GTEST_PROP(PnCounter, AllToAllMergeEqualsTheSignedSumPerNode, ()) {
  std::array<PnCounter, 3> c{PnCounter("n0"), PnCounter("n1"), PnCounter("n2")};
  std::array<PnTotals, 3> made{};
  int64_t sum = 0;
  const int steps = *rc::gen::inRange(0, 40);
  for (int i = 0; i < steps; ++i) {
    const size_t n = *rc::gen::inRange<size_t>(0, 3);
    const uint64_t by = *rc::gen::inRange<uint64_t>(0, 10);
    switch (*rc::gen::inRange(0, 3)) {
      case 0:
        RC_ASSERT(c[n].Increment(by).ok());
        made[n].positive += by;
        sum += static_cast<int64_t>(by);
        break;
      case 1:
        RC_ASSERT(c[n].Decrement(by).ok());
        made[n].negative += by;
        sum -= static_cast<int64_t>(by);
        break;
      default:
        RC_ASSERT(c[n].Merge(c[*rc::gen::inRange<size_t>(0, 3)].state()).ok());
    }
  }
  for (int round = 0; round < 2; ++round) {
    for (auto& to : c) {
      for (const auto& from : c) RC_ASSERT(to.Merge(from.state()).ok());
    }
  }
  for (const auto& counter : c) {
    RC_ASSERT(counter.value() == sum);
    for (size_t n = 0; n < 3; ++n) {
      const auto it = counter.state().find("n" + std::to_string(n));
      const PnTotals got = it == counter.state().end() ? PnTotals{} : it->second;
      RC_ASSERT(got == made[n]);
    }
  }
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
