#include "engine/crdt/lww_map.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "engine/env/testing/manual_env.h"

namespace seedgrid {
namespace {

Document Doc(int64_t v) { return Document{{"v", v}}; }

struct Fixture {
  ManualClock clock{1000};
  Hlc hlc{clock, {.node_id = "n1"}};
  LwwMap map{hlc};
};

TEST(LwwMap, SetGetRemove) {
  Fixture f;
  const Timestamp t1 = f.map.Set("k", Doc(1));
  EXPECT_EQ(t1, (Timestamp{1000, 0, "n1"}));
  ASSERT_NE(f.map.Get("k"), nullptr);
  EXPECT_EQ(*f.map.Get("k"), Doc(1));
  f.map.Remove("k");
  EXPECT_EQ(f.map.Get("k"), nullptr);
  ASSERT_NE(f.map.GetRecord("k"), nullptr);
  EXPECT_TRUE(f.map.GetRecord("k")->tombstone());
  // Removing a never-set key still writes a tombstone, so the delete replicates.
  f.map.Remove("never");
  EXPECT_EQ(f.map.size(), 2u);
}

TEST(LwwMap, MergeStrictlyGreaterWinsTiesKeepLocal) {
  Fixture f;
  f.map.Set("k", Doc(1));  // 1000:0:n1
  // Same millis and counter: node id decides, byte-wise.
  EXPECT_FALSE(*f.map.Merge("k", {Doc(2), {1000, 0, "n0"}, {}}));
  EXPECT_EQ(*f.map.Get("k"), Doc(1));
  EXPECT_TRUE(*f.map.Merge("k", {Doc(3), {1000, 0, "n2"}, {}}));
  EXPECT_EQ(*f.map.Get("k"), Doc(3));
  // Exact tie with the same contents: local is kept, nothing changes.
  EXPECT_FALSE(*f.map.Merge("k", {Doc(3), {1000, 0, "n2"}, {}}));
  EXPECT_EQ(f.map.tie_conflicts(), 0u);
  // Higher counter beats higher node id.
  EXPECT_TRUE(*f.map.Merge("k", {Doc(5), {1000, 1, "a"}, {}}));
  EXPECT_EQ(*f.map.Get("k"), Doc(5));
}

TEST(LwwMap, ConflictingTieIsResolvedTheSameWayOnEveryReplica) {
  // Same timestamp, different contents (a re-issued timestamp): both replicas pick the record with
  // the greater RecordHash, whichever arrived first, so they converge.
  ManualClock clock(1000);
  Hlc h1(clock, {.node_id = "n1"}), h2(clock, {.node_id = "n2"});
  LwwMap a(h1), b(h2);
  const LwwRecord x{Doc(1), {900, 0, "n9"}, {}};
  const LwwRecord y{Doc(2), {900, 0, "n9"}, {}};
  ASSERT_TRUE(a.Merge("k", x).ok());
  ASSERT_TRUE(a.Merge("k", y).ok());
  ASSERT_TRUE(b.Merge("k", y).ok());
  ASSERT_TRUE(b.Merge("k", x).ok());
  EXPECT_EQ(*a.GetRecord("k"), *b.GetRecord("k"));
  EXPECT_EQ(*a.GetRecord("k"), RecordHash("k", x) > RecordHash("k", y) ? x : y);
  EXPECT_EQ(a.tie_conflicts(), 1u);
  EXPECT_EQ(b.tie_conflicts(), 1u);
  EXPECT_EQ(a.merkle().root(), b.merkle().root());
}

TEST(LwwMap, MergeUpdatesHlcEvenWhenTheRemoteLoses) {
  Fixture f;
  f.map.Set("k", Doc(1));
  f.map.Merge("other", {Doc(9), {1500, 7, "n2"}, {}}).IgnoreError();
  EXPECT_FALSE(*f.map.Merge("k", {Doc(2), {900, 0, "n2"}, {}}));
  EXPECT_GT(f.map.Set("k", Doc(3)), (Timestamp{1500, 7, "n2"}));
}

// Writes refuse a TTL of 0 (ReplicaNode::Set), but a record with one may already be stored or
// held by a peer: a merge takes it, and it reads as expired.
TEST(LwwMap, AMergedTtlOfZeroIsKeptAndReadsAsExpired) {
  Fixture f;
  ASSERT_TRUE(*f.map.Merge("k", {Doc(1), {900, 0, "n2"}, 0}));
  EXPECT_EQ(f.map.GetRecord("k")->ttl_ms, std::optional<uint64_t>(0));
  EXPECT_EQ(f.map.Get("k"), nullptr);
  EXPECT_FALSE(ValidateTtl(0).ok());
  EXPECT_TRUE(ValidateTtl(1).ok());
  EXPECT_TRUE(ValidateTtl(std::nullopt).ok());
}

TEST(LwwMap, MergeRejectsDriftAndBadNodeIdWithoutChanges) {
  Fixture f;
  const uint64_t root = f.map.merkle().root();
  auto drift = f.map.Merge("k", {Doc(1), {1000 + 60'001, 0, "n2"}, {}});
  EXPECT_EQ(drift.status().code(), absl::StatusCode::kFailedPrecondition);
  auto bad = f.map.Merge("k", {Doc(1), {1000, 0, "a:b"}, {}});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(),
            "lww merge of key 'k': remote timestamp: node id 'a:b' contains ':'");
  EXPECT_EQ(f.map.size(), 0u);
  EXPECT_EQ(f.map.merkle().root(), root);
}

TEST(LwwMap, TtlExpiryIsStrictLiveAtEquality) {
  Fixture f;
  f.map.Set("k", Doc(1), /*ttl_ms=*/50);  // ts.millis = 1000
  f.clock.SetMs(1050);
  EXPECT_NE(f.map.Get("k"), nullptr);  // 1000 + 50 < 1050 is false: live.
  f.clock.SetMs(1051);
  EXPECT_EQ(f.map.Get("k"), nullptr);  // 1050 < 1051: expired, hidden on read only.
  EXPECT_NE(f.map.GetRecord("k"), nullptr);
  EXPECT_FALSE((LwwRecord{Doc(1), {UINT64_MAX - 1, 0, "n"}, UINT64_MAX}).ExpiredAt(UINT64_MAX));
}

TEST(LwwMap, PruneRemovesOnlyTombstonesStrictlyOlder) {
  Fixture f;
  f.map.Remove("a");                            // 1000:0:n1
  f.map.Remove("b");                            // 1000:1:n1
  f.map.Set("c", Doc(1));                       // 1000:2:n1 (live, never pruned)
  EXPECT_EQ(f.map.Prune({1000, 1, "n1"}), 1u);  // a only; b is at the boundary and stays.
  EXPECT_EQ(f.map.GetRecord("a"), nullptr);
  EXPECT_NE(f.map.GetRecord("b"), nullptr);
  EXPECT_EQ(f.map.Prune({9999, 0, "n1"}), 1u);
  EXPECT_EQ(f.map.size(), 1u);
  EXPECT_EQ(f.map.merkle().size(), 1u);
}

TEST(LwwMap, ForgetRemovesOneRecordOfAnyKindAndItsMerkleItem) {
  Fixture f;
  f.map.Set("a", Doc(1));
  f.map.Remove("b");
  const uint64_t root_with_b_only = [&] {
    LwwMap other(f.hlc);
    EXPECT_TRUE(other.Merge("b", *f.map.GetRecord("b")).ok());
    return other.merkle().root();
  }();
  std::vector<std::string> events;
  f.map.AddListener([&](const LwwChange& c) {
    events.push_back(
        fmt::format("{}:{}:{}", c.key, ChangeCauseName(c.cause), c.new_record == nullptr));
  });
  EXPECT_TRUE(f.map.Forget("a"));
  EXPECT_FALSE(f.map.Forget("a"));
  EXPECT_FALSE(f.map.Forget("never"));
  EXPECT_EQ(f.map.GetRecord("a"), nullptr);
  EXPECT_EQ(f.map.merkle().root(), root_with_b_only);
  EXPECT_TRUE(f.map.Forget("b"));
  EXPECT_EQ(f.map.size(), 0u);
  EXPECT_EQ(events, (std::vector<std::string>{"a:prune:true", "b:prune:true"}));
}

TEST(LwwMap, EmitsOneChangeEventPerAppliedChange) {
  Fixture f;
  std::vector<std::string> events;
  f.map.AddListener([&](const LwwChange& c) {
    events.push_back(std::string(c.key) + ":" + std::string(ChangeCauseName(c.cause)) + ":" +
                     (c.old_record ? c.old_record->ToString() : "-") + "->" +
                     (c.new_record ? c.new_record->ToString() : "-"));
  });
  f.map.Set("k", Doc(1));
  f.map.Merge("k", {Doc(2), {500, 0, "n2"}, {}}).IgnoreError();  // Loses: no event.
  f.map.Merge("k", {Doc(3), {2000, 0, "n2"}, 10}).IgnoreError();
  f.map.Remove("k");
  f.map.Prune({UINT64_MAX >> 3, 0, "z"});
  EXPECT_EQ(events, (std::vector<std::string>{
                        "k:local_write:-->{\"v\": 1} @1000:0:n1",
                        "k:merge:{\"v\": 1} @1000:0:n1->{\"v\": 3} @2000:0:n2 ttl=10ms",
                        "k:local_remove:{\"v\": 3} @2000:0:n2 ttl=10ms-><tombstone> @2000:2:n1",
                        "k:prune:<tombstone> @2000:2:n1->-",
                    }));
}

TEST(LwwMap, ListenersMayUnsubscribeAndSubscribeDuringNotification) {
  Fixture f;
  std::vector<std::string> calls;
  ListenerId second = 0;
  ListenerId first = f.map.AddListener([&](const LwwChange&) {
    calls.push_back("first");
    f.map.RemoveListener(first);   // A one-shot subscription ending itself.
    f.map.RemoveListener(second);  // ...and another one, before it runs.
    f.map.AddListener([&](const LwwChange&) { calls.push_back("late"); });
  });
  second = f.map.AddListener([&](const LwwChange&) { calls.push_back("second"); });
  f.map.Set("a", Doc(1));
  f.map.Set("b", Doc(2));
  EXPECT_EQ(calls, (std::vector<std::string>{"first", "late"}));
}

TEST(LwwMap, MerkleRootTracksContents) {
  ManualClock clock(1000);
  Hlc h1(clock, {.node_id = "n1"}), h2(clock, {.node_id = "n2"});
  LwwMap a(h1), b(h2);
  const Timestamp t = a.Set("k", Doc(1));
  EXPECT_NE(a.merkle().root(), b.merkle().root());
  ASSERT_TRUE(*b.Merge("k", *a.GetRecord("k")));
  EXPECT_EQ(a.merkle().root(), b.merkle().root());
  EXPECT_EQ(a.merkle().DiffKeys(b.merkle()), std::vector<std::string>{});
  (void)t;
}

}  // namespace
}  // namespace seedgrid
