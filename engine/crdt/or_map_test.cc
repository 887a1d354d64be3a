#include "engine/crdt/or_map.h"

#include <gtest/gtest.h>

#include "engine/crdt/digest.h"
#include "engine/env/testing/manual_env.h"

namespace seedgrid {
namespace {

Document Doc(std::string v) { return Document{{"v", std::move(v)}}; }

std::vector<Document> Values(OrMap& map, std::string_view key) {
  std::vector<Document> out;
  for (const Document* d : map.Get(key)) out.push_back(*d);
  return out;
}

struct Pair {
  ManualClock clock{1000};
  Hlc h1{clock, {.node_id = "n1"}};
  Hlc h2{clock, {.node_id = "n2"}};
  OrMap a{h1};
  OrMap b{h2};
  void Sync(OrMap& from, OrMap& to) {
    for (const auto& [key, entry] : from.entries()) ASSERT_TRUE(to.MergeEntry(key, entry).ok());
  }
};

TEST(OrMap, AddAndObservedRemove) {
  Pair p;
  const Timestamp t1 = p.a.Add("k", Doc("x"));
  p.a.Add("k", Doc("y"));
  p.a.Add("k", Doc("x"));
  EXPECT_EQ(t1.ToString(), "1000:0:n1");
  EXPECT_EQ(Values(p.a, "k").size(), 3u);
  const auto removed = p.a.Remove("k", Doc("x"));
  EXPECT_EQ(removed.size(), 2u);  // Every observed tag with an equal value.
  EXPECT_EQ(Values(p.a, "k"), std::vector<Document>{Doc("y")});
  EXPECT_TRUE(p.a.Remove("k", Doc("absent")).empty());
  EXPECT_TRUE(p.a.Remove("nokey", Doc("x")).empty());
}

TEST(OrMap, RemoveWithAValueThatLivesInTheMapItself) {
  Pair p;
  p.a.Add("k", Doc("x"));
  p.a.Add("k", Doc("x"));
  p.a.Add("k", Doc("y"));
  // The argument refers into the entry being modified (use-after-free before the fix; ASan).
  const auto removed = p.a.Remove("k", *p.a.Get("k")[0]);
  EXPECT_EQ(removed.size(), 2u);
  EXPECT_EQ(Values(p.a, "k"), std::vector<Document>{Doc("y")});
}

TEST(OrMap, ConcurrentAddAndRemoveAddWins) {
  Pair p;
  p.a.Add("k", Doc("x"));
  p.Sync(p.a, p.b);
  // Concurrently: a removes x (the tag it saw), b adds x again under a new tag.
  p.a.Remove("k", Doc("x"));
  p.b.Add("k", Doc("x"));
  p.Sync(p.a, p.b);
  p.Sync(p.b, p.a);
  EXPECT_EQ(Values(p.a, "k"), std::vector<Document>{Doc("x")});
  EXPECT_EQ(Values(p.b, "k"), std::vector<Document>{Doc("x")});
  EXPECT_EQ(p.a.merkle().root(), p.b.merkle().root());
}

TEST(OrMap, TombstoneArrivingBeforeAddSuppressesIt) {
  Pair p;
  const Timestamp tag{900, 0, "n3"};
  ASSERT_TRUE(*p.a.Merge("k", {}, {tag}));
  EXPECT_FALSE(*p.a.Merge("k", {{tag, Doc("x"), {}}}, {}));
  EXPECT_TRUE(Values(p.a, "k").empty());
  EXPECT_EQ(p.a.GetEntry("k")->tombstones.size(), 1u);
}

// ---------- origins (the grid's re-stamped adds; or_map.h) ----------

TEST(OrMapOrigins, AnOriginIsAnOpIdentityNotAClockReading) {
  const Timestamp o = OrOrigin("c1", 7);
  EXPECT_EQ(o.millis, 0u);
  EXPECT_EQ(o.counter, 7u);
  EXPECT_EQ(o.node_id, "c1");
}

TEST(OrMapOrigins, ATombstonedOriginKillsTheItemInEitherOrder) {
  Pair p;
  const Timestamp origin = OrOrigin("c1", 3);
  const Timestamp tag = p.a.Add("k", Doc("x"), std::nullopt, origin);  // the owner's re-stamp
  // The client removed its add before it heard the owner's tag: the remove names the origin.
  ASSERT_TRUE(*p.b.Merge("k", {}, {origin}));
  Pair q;
  ASSERT_TRUE(*q.b.Merge("k", {}, {origin}));
  EXPECT_FALSE(*q.b.Merge("k", {{tag, Doc("x"), {}, origin}}, {}));  // dead on arrival
  EXPECT_TRUE(Values(q.b, "k").empty());
  p.Sync(p.a, p.b);
  p.Sync(p.b, p.a);  // the item was there first: the tombstone takes it
  EXPECT_TRUE(Values(p.a, "k").empty());
  EXPECT_EQ(p.a.entries(), p.b.entries());
  EXPECT_EQ(p.a.merkle().root(), p.b.merkle().root());
}

TEST(OrMapOrigins, RemoveTagsKillsOriginsAndKeepsUnknownTagsAsNamed) {
  Pair p;
  const Timestamp origin = OrOrigin("c1", 3);
  (void)p.a.Add("k", Doc("x"), std::nullopt, origin);
  const Timestamp other = p.a.Add("k", Doc("y"));
  const Timestamp unseen{500, 0, "n9"};
  EXPECT_TRUE(p.a.RemoveTags("k", {origin, unseen}, 7000));
  const OrEntry* e = p.a.GetEntry("k");
  ASSERT_NE(e, nullptr);
  // The origin's kill carries the owner's clock (what the GC horizon measures); a tag nobody here
  // added is kept as named, so the add dies when it arrives.
  const Timestamp kill = OrKill(origin, 7000);
  EXPECT_TRUE(IsOrKill(kill));
  EXPECT_EQ(GcMillis(kill), 7000u);
  EXPECT_EQ(e->tombstones, (absl::btree_set<Timestamp>{unseen, kill}));
  EXPECT_EQ(e->items.size(), 1u);
  EXPECT_TRUE(e->items.contains(other));
  EXPECT_TRUE(p.a.OriginDead("k", origin));
  EXPECT_FALSE(p.a.OriginDead("k", OrOrigin("c1", 4)));
  // Again at the same reading: nothing changes. A named tag whose item has an origin kills the
  // origin too.
  EXPECT_FALSE(p.a.RemoveTags("k", {origin, unseen}, 7000));
  EXPECT_FALSE(p.a.RemoveTags("k", {}, 7000));
  const Timestamp tag2 = p.a.Add("k", Doc("z"), std::nullopt, OrOrigin("c2", 1));
  EXPECT_TRUE(p.a.RemoveTags("k", {tag2}, 7100));
  EXPECT_TRUE(p.a.GetEntry("k")->tombstones.contains(OrKill(OrOrigin("c2", 1), 7100)));
  EXPECT_FALSE(p.a.GetEntry("k")->tombstones.contains(tag2));
}

// An add applied twice (two owners across a failover) is one item: listed once, and a kill takes
// the copy that arrives after it. A client's bare origin tombstone gives way to the owner's kill
// in either order, and kills are pruned by their time.
TEST(OrMapOrigins, KillsTakeEveryCopySubsumeOriginTombstonesAndArePrunedByTime) {
  Pair p;
  const Timestamp origin = OrOrigin("c1", 3);
  const OrRecord first{Timestamp{900, 0, "s1"}, Doc("x"), {}, origin};
  const OrRecord second{Timestamp{950, 0, "s2"}, Doc("x"), {}, origin};
  ASSERT_TRUE(*p.a.Merge("k", {first, second}, {}));
  EXPECT_EQ(Values(p.a, "k"), std::vector<Document>{Doc("x")});  // one item, two copies
  EXPECT_EQ(p.a.GetEntry("k")->items.size(), 2u);
  const Timestamp kill = OrKill(origin, 1200);
  ASSERT_TRUE(*p.b.Merge("k", {first}, {}));
  const Timestamp clock_before = p.h2.last();
  ASSERT_TRUE(*p.b.Merge("k", {}, {kill}));
  EXPECT_EQ(p.h2.last(), clock_before);         // a kill never moves a clock
  EXPECT_FALSE(*p.b.Merge("k", {second}, {}));  // the late copy dies on arrival
  EXPECT_TRUE(Values(p.b, "k").empty());
  // A bare origin tombstone and a kill: the kill stays, whichever came first.
  for (bool bare_first : {true, false}) {
    Pair q;
    const std::vector<Timestamp> order =
        bare_first ? std::vector<Timestamp>{origin, kill} : std::vector<Timestamp>{kill, origin};
    for (const Timestamp& t : order) ASSERT_TRUE(q.a.Merge("k", {}, {t}).ok());
    EXPECT_EQ(q.a.GetEntry("k")->tombstones, absl::btree_set<Timestamp>{kill}) << bare_first;
  }
  // Pruned once the horizon passes the kill's time, not before.
  const Timestamp tag_tombstone{1000, 0, "s1"};
  ASSERT_TRUE(*p.b.Merge("k", {}, {tag_tombstone}));
  EXPECT_EQ(p.b.PruneTombstones(Timestamp{1100, 0, ""}), 1u);  // the tag's
  EXPECT_TRUE(p.b.OriginDead("k", origin));
  EXPECT_EQ(p.b.PruneTombstones(Timestamp{1201, 0, ""}), 1u);  // the kill's
  EXPECT_EQ(p.b.GetEntry("k"), nullptr);
}

TEST(OrMapOrigins, RetagMovesAnItemOrATombstoneAndKeepsTheOrigin) {
  Pair p;
  const Timestamp origin = OrOrigin("n1", 1);
  const Timestamp provisional = p.a.Add("k", Doc("x"), std::nullopt, origin);
  const Timestamp settled{5000, 2, "s1"};
  EXPECT_TRUE(p.a.Retag("k", provisional, settled));
  const OrEntry* e = p.a.GetEntry("k");
  ASSERT_EQ(e->items.size(), 1u);
  EXPECT_EQ(e->items.begin()->first, settled);
  EXPECT_EQ(e->items.begin()->second.origin, origin);
  EXPECT_FALSE(p.a.Retag("k", provisional, settled));  // already settled
  // A client removed its add before the owner's tag came: it tombstoned the add's origin, which
  // becomes the owner's tag.
  const Timestamp origin2 = OrOrigin("n1", 2);
  (void)p.a.Add("k2", Doc("y"), std::nullopt, origin2);
  EXPECT_TRUE(p.a.TombstoneTags("k2", {origin2}));
  EXPECT_TRUE(p.a.Get("k2").empty());
  const Timestamp settled2{5001, 0, "s1"};
  EXPECT_TRUE(p.a.Retag("k2", origin2, settled2));
  EXPECT_EQ(p.a.GetEntry("k2")->tombstones, absl::btree_set<Timestamp>{settled2});
  EXPECT_FALSE(p.a.Retag("absent", provisional, settled));
  // The owner's item arrived (in a leaf) before the acknowledgement: the provisional one goes.
  const Timestamp origin3 = OrOrigin("n1", 3);
  const Timestamp provisional3 = p.a.Add("k3", Doc("z"), std::nullopt, origin3);
  const Timestamp settled3{5002, 0, "s1"};
  ASSERT_TRUE(*p.a.Merge("k3", {{settled3, Doc("z"), {}, origin3}}, {}));
  EXPECT_EQ(p.a.GetEntry("k3")->items.size(), 2u);
  EXPECT_TRUE(p.a.Retag("k3", provisional3, settled3));
  ASSERT_EQ(p.a.GetEntry("k3")->items.size(), 1u);
  EXPECT_EQ(p.a.GetEntry("k3")->items.begin()->first, settled3);
  // ForgetTag drops an item or a tombstone without leaving one.
  EXPECT_TRUE(p.a.ForgetTag("k3", settled3));
  EXPECT_EQ(p.a.GetEntry("k3"), nullptr);
  EXPECT_FALSE(p.a.ForgetTag("k3", settled3));
}

TEST(OrMapOrigins, RemoveTagsTakesEveryItemOfAnOriginAndRetagChecksTheClock) {
  Pair p;
  const Timestamp origin = OrOrigin("c1", 3);
  // The same add applied by two owners across a failover: two items, one origin.
  ASSERT_TRUE(*p.a.Merge("k",
                         {{Timestamp{900, 0, "s1"}, Doc("x"), {}, origin},
                          {Timestamp{950, 0, "s2"}, Doc("x"), {}, origin}},
                         {}));
  EXPECT_TRUE(p.a.RemoveTags("k", {origin}, 1000));
  EXPECT_TRUE(p.a.Get("k").empty());
  EXPECT_EQ(p.a.GetEntry("k")->tombstones, absl::btree_set<Timestamp>{OrKill(origin, 1000)});
  // An owner's tag beyond the drift bound (strict mode) is refused like a merged one.
  const Timestamp provisional = p.b.Add("k", Doc("y"), std::nullopt, OrOrigin("n2", 1));
  const uint64_t before = p.h2.last().millis;
  EXPECT_FALSE(p.b.Retag("k", provisional, Timestamp{1000 + 3'600'000, 0, "s1"}));
  EXPECT_TRUE(p.b.GetEntry("k")->items.contains(provisional));
  EXPECT_EQ(p.h2.last().millis, before);
  EXPECT_TRUE(p.b.Retag("k", provisional, Timestamp{1500, 0, "s1"}));
  EXPECT_GE(p.h2.last().millis, 1500u);  // the accepted tag entered the clock
}

// Kills and origin tombstones match an origin by (seq, client): an origin with millis would be
// dead to one and alive to the other, so merge refuses it (replicas could never agree).
TEST(OrMapOrigins, MergeRefusesAnOriginThatIsNotAnAddsOrigin) {
  Pair p;
  const Timestamp bogus{5, 3, "c"};
  absl::StatusOr<bool> merged =
      p.a.Merge("k", {{Timestamp{900, 0, "s1"}, Doc("x"), {}, bogus}}, {});
  ASSERT_FALSE(merged.ok());
  EXPECT_EQ(merged.status().message(),
            "or merge of key 'k': item origin 5:3:c is not an add's origin (0:seq:client)");
  EXPECT_EQ(p.a.GetEntry("k"), nullptr);
}

TEST(OrMapOrigins, AnItemWithoutAnOriginHashesAsBefore) {
  // The replica path's digests (and so its trace hashes) must not change: the flags byte of an
  // item without an origin is the old TTL byte.
  OrEntry plain;
  plain.items[Timestamp{1000, 0, "n1"}] = OrItem{Doc("x"), std::nullopt, std::nullopt};
  OrEntry with_origin = plain;
  with_origin.items.begin()->second.origin = OrOrigin("c", 1);
  DigestWriter old_format;  // key, item count, (tag, value digest, TTL byte), tombstone count
  old_format.Str("k");
  old_format.U32(1);
  old_format.Ts(Timestamp{1000, 0, "n1"});
  old_format.U64(Doc("x").Digest());
  old_format.U8(0);
  old_format.U32(0);
  EXPECT_EQ(OrEntryHash("k", plain), old_format.Finish());
  EXPECT_NE(OrEntryHash("k", plain), OrEntryHash("k", with_origin));
}

TEST(OrMap, PruneTombstonesBoundaryIsStrict) {
  Pair p;
  p.a.Add("k", Doc("x"));  // 1000:0
  p.a.Add("k", Doc("y"));  // 1000:1
  p.a.Remove("k", Doc("x"));
  p.a.Remove("k", Doc("y"));
  EXPECT_EQ(p.a.PruneTombstones({1000, 0, "n1"}), 0u);  // Equal is not older.
  EXPECT_EQ(p.a.PruneTombstones({1000, 1, "n1"}), 1u);
  EXPECT_EQ(p.a.PruneTombstones({2000, 0, "n1"}), 1u);
  EXPECT_EQ(p.a.GetEntry("k"), nullptr);  // Nothing left: the key is gone.
  EXPECT_EQ(p.a.merkle().root(), 0u);
}

TEST(OrMap, TtlHidesExpiredItems) {
  Pair p;
  p.a.Add("k", Doc("x"), 10);
  p.a.Add("k", Doc("y"));
  p.clock.SetMs(1010);
  EXPECT_EQ(Values(p.a, "k").size(), 2u);
  p.clock.SetMs(1011);
  EXPECT_EQ(Values(p.a, "k"), std::vector<Document>{Doc("y")});
}

TEST(OrMap, MergeRejectsBadTagsAndDriftWithoutChanges) {
  Pair p;
  EXPECT_EQ(p.a.Merge("k", {{{1000, 0, ""}, Doc("x"), {}}}, {}).status().message(),
            "or merge of key 'k': item tag: node id must not be empty");
  EXPECT_EQ(p.a.Merge("k", {}, {{1000, 0, "a:b"}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(p.a.Merge("k", {{{999'999'999, 0, "n9"}, Doc("x"), {}}}, {}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(p.a.size(), 0u);
  // A merge rejected for drift leaves the clock where it was, even if earlier tags were fine.
  const Timestamp before = p.h1.last();
  EXPECT_FALSE(
      p.a.Merge("k", {{{1500, 0, "n9"}, Doc("x"), {}}, {{999'999'999, 0, "n9"}, Doc("y"), {}}}, {})
          .ok());
  EXPECT_EQ(p.h1.last(), before);
}

// A departure from TopGun, which advances the clock only for live items: a merge of tombstones
// alone moves the clock too, so a later local add gets a tag above every tombstone seen.
TEST(OrMap, AMergeOfTombstonesAloneAdvancesTheClock) {
  Pair p;
  const Timestamp tombstone{1500, 7, "n9"};
  ASSERT_TRUE(p.a.Merge("k", {}, {tombstone}).ok());
  EXPECT_GT(p.h1.last(), tombstone);
  EXPECT_GT(p.a.Add("k", Doc("x")), tombstone);
}

TEST(OrMap, EmitsChangeEvents) {
  Pair p;
  std::vector<std::string> causes;
  p.a.AddListener([&](const OrChange& c) {
    causes.push_back(std::string(ChangeCauseName(c.cause)) + (c.old_entry ? "+old" : "") +
                     (c.new_entry ? "+new" : ""));
  });
  p.a.Add("k", Doc("x"));
  p.a.Remove("k", Doc("x"));
  p.a.Merge("k", {}, {}).IgnoreError();  // No change: no event.
  p.a.PruneTombstones({5000, 0, "n1"});
  EXPECT_EQ(causes,
            (std::vector<std::string>{"local_write+new", "local_remove+old+new", "prune+old"}));
}

}  // namespace
}  // namespace seedgrid
