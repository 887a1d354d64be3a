#include "invariants/history.h"

#include <gtest/gtest.h>

#include "engine/env/mem_storage.h"
#include "engine/env/testing/manual_env.h"
#include "engine/env/xoshiro.h"
#include "engine/query/indexed_map.h"
#include "invariants/query_check.h"

namespace seedgrid::invariants {
namespace {

struct One {
  ManualClock clock{1000};
  ManualTimers timers{clock};
  MemStorage storage;
  Xoshiro256 random{1};
  QueueNetwork network;
  Env env{clock, random, network, timers, storage};
  Replica r{env, {.node_id = "a"}};
  History h;
};

TEST(CheckLwwModel, HighestTimestampWinsAndStaleValuesAreReported) {
  One t;
  const Timestamp t1 = t.r.lww("m").Set("k", Document{{"v", int64_t{1}}});
  t.h.LwwWrite("m", "k", t1, Document{{"v", int64_t{1}}});
  EXPECT_FALSE(CheckLwwModel(t.h, t.r).has_value());
  // A write the replica never saw, with a higher timestamp: the model expects it.
  Timestamp later = t1;
  later.millis += 10;
  t.h.LwwWrite("m", "k", later, std::nullopt);
  auto v = CheckLwwModel(t.h, t.r);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->invariant, Invariant::kLwwModel);
  EXPECT_NE(v->detail.find("key 'k'"), std::string::npos) << v->detail;
  EXPECT_NE(v->detail.find("<tombstone>"), std::string::npos) << v->detail;
}

TEST(CheckLwwModel, KeysNobodyWroteAreReported) {
  One t;
  const Timestamp t1 = t.r.lww("m").Set("k", Document{});
  t.h.LwwWrite("m", "k", t1, Document{});
  t.r.lww("m").Set("ghost", Document{});
  auto v = CheckLwwModel(t.h, t.r);
  ASSERT_TRUE(v.has_value());
  EXPECT_NE(v->detail.find("'ghost'"), std::string::npos) << v->detail;
}

TEST(CheckOrModel, AddWinsOverAConcurrentRemove) {
  One t;
  const Document d{{"t", "x"}};
  const Timestamp a1 = t.r.orm("s").Add("k", d);
  t.h.OrAdd("s", "k", a1, d);
  EXPECT_FALSE(CheckOrModel(t.h, t.r).has_value());
  t.h.OrRemove("s", "k", t.r.orm("s").Remove("k", d));
  EXPECT_FALSE(CheckOrModel(t.h, t.r).has_value());
  // An add the replica never saw: the model still expects it (no remove observed it).
  Timestamp unseen = a1;
  unseen.millis += 5;
  t.h.OrAdd("s", "k", unseen, d);
  auto v = CheckOrModel(t.h, t.r);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->invariant, Invariant::kOrModel);
}

TEST(CheckOrModel, ItemsNobodyAddedAreReported) {
  One t;
  t.r.orm("s").Add("stray", Document{{"t", "z"}});
  auto v = CheckOrModel(t.h, t.r);
  ASSERT_TRUE(v.has_value());
  EXPECT_NE(v->detail.find("'stray'"), std::string::npos) << v->detail;
}

TEST(CheckPnModel, UntouchedCountersMustBeZero) {
  One t;
  t.r.counter("idle");
  EXPECT_FALSE(CheckPnModel(t.h, t.r).has_value());
  ASSERT_TRUE(t.r.counter("idle").Increment(2).ok());
  ASSERT_TRUE(CheckPnModel(t.h, t.r).has_value());
}

TEST(CheckPnModel, IncrementsMinusDecrements) {
  One t;
  ASSERT_TRUE(t.r.counter("c").Increment(3).ok());
  ASSERT_TRUE(t.r.counter("c").Decrement(5).ok());
  t.h.CounterIncrement("c", "a", 3);
  t.h.CounterDecrement("c", "a", 5);
  EXPECT_FALSE(CheckPnModel(t.h, t.r).has_value());
  t.h.CounterDecrement("c", "a", 1);  // A decrement the replica never saw.
  auto v = CheckPnModel(t.h, t.r);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->invariant, Invariant::kPnModel);
  EXPECT_NE(v->detail.find("= -2, the increments (3) minus the decrements (6) are -3"),
            std::string::npos)
      << v->detail;
}

// A hand-made history that must fail: a decrement applied as an increment by a negative amount
// would need the P half to go down; here a node's decrement landed in P (P=3+0, model N=2), and
// the values differ.
TEST(CheckPnModel, ADecrementCountedAsAnIncrementFails) {
  One t;
  ASSERT_TRUE(t.r.counter("c").Increment(3).ok());
  ASSERT_TRUE(t.r.counter("c").Increment(2).ok());  // Should have been Decrement(2).
  t.h.CounterIncrement("c", "a", 3);
  t.h.CounterDecrement("c", "a", 2);
  auto v = CheckPnModel(t.h, t.r);
  ASSERT_TRUE(v.has_value());
  EXPECT_NE(v->detail.find("counter 'c' = 5"), std::string::npos) << v->detail;
}

// Equal values are not enough: the per-node totals must match what each node did.
TEST(CheckPnModel, TotalsInTheWrongHalfOrNodeFailEvenWhenTheValueAgrees) {
  One t;
  ASSERT_TRUE(t.r.counter("c").Merge({{"a", {4, 4}}, {"b", {0, 1}}}).ok());
  t.h.CounterIncrement("c", "a", 4);
  t.h.CounterDecrement("c", "a", 3);
  t.h.CounterDecrement("c", "b", 2);  // The model's value is -1, as the replica's.
  auto v = CheckPnModel(t.h, t.r);
  ASSERT_TRUE(v.has_value());
  EXPECT_NE(v->detail.find("node 'a' holds P=4 N=4, its own increments and decrements add up to "
                           "P=4 N=3"),
            std::string::npos)
      << v->detail;
}

TEST(HlcMonitor, LocalStrictlyIncreasesAndStaysAheadOfReceived) {
  HlcMonitor m(2);
  EXPECT_FALSE(m.OnLocal(0, Timestamp{10, 0, "n0"}).has_value());
  EXPECT_TRUE(m.OnLocal(0, Timestamp{10, 0, "n0"}).has_value());  // Not strictly greater.
  m.OnReceived(1, Timestamp{50, 3, "n0"});
  auto v = m.OnLocal(1, Timestamp{50, 2, "n1"});
  ASSERT_TRUE(v.has_value());
  EXPECT_NE(v->detail.find("accepted"), std::string::npos);
  EXPECT_FALSE(m.OnLocal(1, Timestamp{50, 4, "n1"}).has_value());
  m.OnRestart(1);
  m.OnReceived(1, Timestamp{90, 0, "n0"});
  m.OnRestart(1);
  EXPECT_FALSE(m.OnLocal(1, Timestamp{60, 0, "n1"}).has_value());
}

// A hand-made history that must fail: a node restarts with its clock stepped back and reissues
// a stamp below the last one it issued before the crash.
TEST(HlcMonitor, AStampBelowTheLastOneBeforeARestartFails) {
  HlcMonitor m(1);
  EXPECT_FALSE(m.OnLocal(0, Timestamp{5000, 0, "n0"}).has_value());
  m.OnRestart(0);
  EXPECT_EQ(m.last_local(0), (Timestamp{5000, 0, "n0"}));
  auto v = m.OnLocal(0, Timestamp{3000, 0, "n0"});
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->invariant, Invariant::kHlc);
  EXPECT_NE(v->detail.find("n0 issued 3000:0:n0 after 5000:0:n0 (issued before its restart)"),
            std::string::npos)
      << v->detail;
  // The same stamp again is a reissue too.
  m.OnRestart(0);
  EXPECT_TRUE(m.OnLocal(0, Timestamp{3000, 0, "n0"}).has_value());
}

// Grid nodes report stamps before they sync: a crash forgets the ones no clean sync followed,
// never one that a clean sync did.
TEST(HlcMonitor, IssuedStampsAreOwedOnceACleanSyncFollows) {
  HlcMonitor m(1);
  EXPECT_FALSE(m.OnIssued(0, Timestamp{100, 0, "n0"}, /*clean_syncs=*/4).has_value());
  EXPECT_FALSE(m.OnIssued(0, Timestamp{200, 0, "n0"}, 5).has_value());  // 100 is durable now.
  m.OnCrash(0, 5);  // No clean sync after 200: it never left the node.
  EXPECT_EQ(m.last_local(0), (Timestamp{100, 0, "n0"}));
  EXPECT_FALSE(m.OnIssued(0, Timestamp{150, 0, "n0"}, 5).has_value());
  m.OnCrash(0, 6);  // 150 was followed by a clean sync: owed.
  EXPECT_EQ(m.last_local(0), (Timestamp{150, 0, "n0"}));
  auto v = m.OnIssued(0, Timestamp{150, 0, "n0"}, 6);
  ASSERT_TRUE(v.has_value());
  EXPECT_NE(v->detail.find("(issued before its restart)"), std::string::npos) << v->detail;
  // A replaced disk has no clock state: nothing is owed.
  m.OnDiskLost(0);
  EXPECT_FALSE(m.last_local(0).has_value());
  EXPECT_FALSE(m.OnIssued(0, Timestamp{10, 0, "n0"}, 7).has_value());
}

TEST(CheckQuery, IndexedEqualsScanAndSubscriptionsMatch) {
  One t;
  LwwMap& map = t.r.lww("users");
  IndexedLwwMap indexed(map, IndexedMapOptions{.instance_id = 1});
  ASSERT_TRUE(indexed.AddIndex(IndexKind::kHash, {"city"}).ok());
  ASSERT_TRUE(indexed.AddIndex(IndexKind::kNavigable, {"age"}).ok());
  for (int i = 0; i < 30; ++i) {
    map.Set("k" + std::to_string(i),
            Document{{"city", i % 3 == 0 ? "Oslo" : "Rome"}, {"age", int64_t{i}}});
  }
  const Query q{And({Eq("city", "Oslo"), Gte("age", int64_t{6})}), {{"age", true}}, 4};
  EXPECT_FALSE(CheckQuery("a", indexed, q, 1000).has_value());
  EXPECT_FALSE(CheckQuery("a", indexed, Query{Gte("age", int64_t{3})}, 1000, 7).has_value());
  EXPECT_EQ(ScanKeys(map, q, 1000), (std::vector<std::string>{"k27", "k24", "k21", "k18"}));

  ReplayedSubscription sub{q};
  auto s = indexed.Subscribe(q, [&](const LiveDelta& d) {
    ++sub.deltas;
    if (d.kind == DeltaKind::kEnter) sub.keys.insert(std::string(d.row.key));
    if (d.kind == DeltaKind::kLeave) sub.keys.erase(std::string(d.row.key));
  });
  ASSERT_TRUE(s.ok());
  sub.id = s->id;
  for (const RowRef& row : s->initial) sub.keys.insert(std::string(row.key));
  map.Set("k99", Document{{"city", "Oslo"}, {"age", int64_t{99}}});
  map.Remove("k27");
  EXPECT_FALSE(CheckSubscription("a", indexed, sub).has_value());
  sub.keys.insert("k0");  // A replay that went wrong is caught.
  auto v = CheckSubscription("a", indexed, sub);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->invariant, Invariant::kQueries);
}

}  // namespace
}  // namespace seedgrid::invariants
