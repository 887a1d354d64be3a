// Hand-made histories for the grid checkers, including ones that must fail.
#include "invariants/grid_checks.h"

#include <gtest/gtest.h>

#include "engine/env/testing/manual_env.h"

namespace seedgrid::invariants {
namespace {

using msg::WriteConcern;

Timestamp Ts(uint64_t millis) { return Timestamp{millis, 0, "s"}; }
// A client's own stamp of its entry `seq` (one write per seq).
Timestamp ClientTs(const std::string& client, uint64_t seq) { return Timestamp{seq, 0, client}; }

// One server's partitions, built by hand.
class FakeServer {
 public:
  explicit FakeServer(std::string name) : name_(std::move(name)) {}
  void Put(const std::string& map, const std::string& key, uint64_t millis,
           Document value = Document{{"v", int64_t{1}}}) {
    GridPartition& part = parts_[PartitionOf(key)];
    auto& m = part.maps[map];
    if (!m) m = std::make_unique<LwwMap>(hlc_);
    ASSERT_TRUE(m->Merge(key, LwwRecord{std::move(value), Ts(millis)}).ok());
  }
  void Count(const std::string& map, const std::string& key, const std::string& writer,
             PnTotals totals) {
    GridPartition& part = parts_[PartitionOf(key)];
    auto& m = part.counters[map];
    if (!m) m = std::make_unique<CounterMap>();
    (void)m->Raise(key, writer, totals);
  }
  // An OR item of `key` tagged `millis` by this server, with the origin of (client, seq).
  void AddItem(const std::string& map, const std::string& key, uint64_t millis,
               const std::string& client, uint64_t seq, const std::string& city) {
    GridPartition& part = parts_[PartitionOf(key)];
    auto& m = part.or_maps[map];
    if (!m) m = std::make_unique<OrMap>(hlc_, OrMapOptions{.merkle_depth = 1, .merkle = false});
    OrRecord item{Ts(millis), Document{{"city", city}}, std::nullopt, OrOrigin(client, seq)};
    ASSERT_TRUE(m->Merge(key, {item}, {}).ok());
  }
  // The kill of `origin` in OR entry map/key at `millis`.
  void Kill(const std::string& map, const std::string& key, const Timestamp& origin,
            uint64_t millis) {
    GridPartition& part = parts_[PartitionOf(key)];
    auto& m = part.or_maps[map];
    if (!m) m = std::make_unique<OrMap>(hlc_, OrMapOptions{.merkle_depth = 1, .merkle = false});
    ASSERT_TRUE(m->Merge(key, {}, {OrKill(origin, millis)}).ok());
  }
  void SetWatermark(const std::string& key, uint64_t w) {
    parts_[PartitionOf(key)].pruned_below_ms = w;
  }
  Holder AsHolder() const {
    return {name_, [this](uint32_t p) -> const GridPartition* {
              auto it = parts_.find(p);
              return it == parts_.end() ? nullptr : &it->second;
            }};
  }

 private:
  std::string name_;
  ManualClock clock_{1'000'000};
  Hlc hlc_{clock_, HlcOptions{"fake", 60'000, DriftMode::kLenient}};
  std::map<uint32_t, GridPartition> parts_;
};

TEST(GridHistory, KeepsOnlyTheNewestAcknowledgedWritePerKey) {
  GridHistory h;
  h.OnAcked("users", "k1", Ts(10), WriteConcern::kReplicated, 1);
  h.OnAcked("users", "k1", Ts(30), WriteConcern::kReplicated, 2);
  h.OnAcked("users", "k1", Ts(20), WriteConcern::kReplicated, 3);
  h.OnAcked("users", "k2", Ts(5), WriteConcern::kFireAndForget, 4);
  ASSERT_EQ(h.replicated().size(), 1u);
  EXPECT_EQ(h.replicated().begin()->second.ts, Ts(30));
  EXPECT_TRUE(h.applied().empty());
}

TEST(GridDurability, AReplicatedWriteNobodyElseHoldsIsCaught) {
  GridHistory h;
  h.OnAcked("users", "k1", Ts(50), WriteConcern::kReplicated, 1);
  FakeServer other("n1");
  other.Put("users", "k1", 40);  // An older stamp: the acknowledged write is lost.
  auto v = CheckHeldElsewhere(h, {other.AsHolder()}, "n0");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->invariant, Invariant::kGridDurability);
  EXPECT_NE(v->detail.find("n0 lost its disk"), std::string::npos) << v->detail;
  EXPECT_NE(v->detail.find("n1 holds"), std::string::npos) << v->detail;
  other.Put("users", "k1", 60);  // A later write covers it.
  EXPECT_FALSE(CheckHeldElsewhere(h, {other.AsHolder()}, "n0").has_value());
}

TEST(GridDurability, APrunedWriteBelowTheWatermarkIsHeld) {
  GridHistory h;
  h.OnAcked("users", "k1", Ts(50), WriteConcern::kReplicated, 1);
  FakeServer other("n1");
  other.Put("users", "k9", 1);  // The partition exists elsewhere, but not this key.
  other.SetWatermark("k1", 40);
  EXPECT_TRUE(CheckHeldElsewhere(h, {other.AsHolder()}, "").has_value());  // Not pruned yet.
  other.SetWatermark("k1", 60);
  // Below the watermark, but nobody removed k1: GC pruned a live record, which it never may.
  EXPECT_TRUE(CheckHeldElsewhere(h, {other.AsHolder()}, "").has_value());
  h.OnLogged("c1", 1);
  h.OnIssued("c1", 1, "users", "k1", ValueHash(std::nullopt));
  ASSERT_FALSE(h.OnApplied("n0", 0, 0, 7, "c1", 1, Ts(55), ClientTs("c1", 1)).has_value());
  EXPECT_FALSE(CheckHeldElsewhere(h, {other.AsHolder()}, "").has_value());  // A later remove.
}

TEST(GridDurability, AppliedPromisesEndAtADiskLoss) {
  GridHistory h;
  h.OnAcked("users", "k1", Ts(50), WriteConcern::kApplied, 1);
  FakeServer owner("n2");
  const auto owner_of = [&owner](uint32_t) { return owner.AsHolder(); };
  auto v = CheckHeldByOwners(h, owner_of);
  ASSERT_TRUE(v.has_value());
  EXPECT_NE(v->detail.find("acknowledged at APPLIED"), std::string::npos) << v->detail;
  h.OnDiskLost(2, "n0");
  EXPECT_FALSE(CheckHeldByOwners(h, owner_of).has_value());
  h.OnAcked("users", "k1", Ts(70), WriteConcern::kApplied, 3);  // After the loss: binds again.
  EXPECT_TRUE(CheckHeldByOwners(h, owner_of).has_value());
  owner.Put("users", "k1", 70);
  EXPECT_FALSE(CheckHeldByOwners(h, owner_of).has_value());
}

TEST(GridDurability, AnAcknowledgedWriteLostWithServersCrashingTogetherIsCaught) {
  GridHistory h;
  h.OnAcked("users", "k1", Ts(50), WriteConcern::kApplied, 1);
  h.OnAcked("users", "k2", Ts(60), WriteConcern::kReplicated, 2);
  FakeServer n0("n0"), n1("n1");
  n1.Put("users", "k2", 60);
  auto v = CheckAckedHeld(h, {n0.AsHolder(), n1.AsHolder()}, "power loss");
  ASSERT_TRUE(v.has_value());  // Never synced: the APPLIED write to k1 is gone.
  EXPECT_EQ(v->invariant, Invariant::kGridDurability);
  EXPECT_NE(v->detail.find("after power loss"), std::string::npos) << v->detail;
  EXPECT_NE(v->detail.find("users/k1"), std::string::npos) << v->detail;
  n0.Put("users", "k1", 50);
  EXPECT_FALSE(CheckAckedHeld(h, {n0.AsHolder(), n1.AsHolder()}, "power loss").has_value());
}

// The ack a client receives for its entry `seq`, the write stamped `client_ts` with `value`.
events::AckReceived Ack(uint64_t seq, const Timestamp& client_ts, const Timestamp& ts,
                        bool duplicate, const std::optional<Document>& value) {
  return events::AckReceived{"users",   "k1",      seq,   ts, WriteConcern::kApplied,
                             client_ts, duplicate, &value};
}

TEST(GridLostUpdate, AReusedSequenceNumberAcknowledgedAsADuplicateIsCaught) {
  GridHistory h;
  h.OnLogged("c1", 1);
  ASSERT_FALSE(h.OnApplied("n0", 0, 0, 7, "c1", 1, Ts(10), ClientTs("c1", 1)).has_value());
  const std::optional<Document> value = Document{{"v", int64_t{2}}};
  // The client restarted, forgot it had used #1, and logged a new write under it.
  auto v = h.OnAckReceived("c1", Ack(1, Timestamp{99, 0, "c1"}, Ts(10), true, value), 0, 1);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->invariant, Invariant::kGridLostUpdate);
  EXPECT_NE(v->detail.find("as a duplicate"), std::string::npos) << v->detail;
  EXPECT_NE(v->detail.find("reused sequence number"), std::string::npos) << v->detail;
  // The same write's duplicate ack is fine.
  EXPECT_FALSE(h.OnAckReceived("c1", Ack(1, ClientTs("c1", 1), Ts(30), true, value), 0, 1));
}

TEST(GridLostUpdate, AnEntryAppliedAsTwoDifferentWritesIsCaught) {
  GridHistory h;
  h.OnLogged("c1", 1);
  ASSERT_FALSE(h.OnApplied("n0", 0, 0, 7, "c1", 1, Ts(10), ClientTs("c1", 1)).has_value());
  auto v = h.OnApplied("n1", 0, 0, 7, "c1", 1, Ts(20), Timestamp{99, 0, "c1"});
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->invariant, Invariant::kGridLostUpdate);
  EXPECT_NE(v->detail.find("reused a sequence number"), std::string::npos) << v->detail;
}

TEST(GridLostUpdate, AnAckForAnEntryNoServerAppliedIsCaught) {
  GridHistory h;
  const std::optional<Document> removed;
  auto v = h.OnAckReceived("c1", Ack(3, ClientTs("c1", 3), Ts(10), false, removed), 0, 1);
  ASSERT_TRUE(v.has_value());
  EXPECT_NE(v->detail.find("c1#3 (remove users/k1"), std::string::npos) << v->detail;
  EXPECT_NE(v->detail.find("no server ever applied it"), std::string::npos) << v->detail;
}

TEST(GridLostUpdate, TheOwnerHoldsTheAcknowledgedValueAtItsStamp) {
  GridHistory h;
  h.OnLogged("c1", 1);
  ASSERT_FALSE(h.OnApplied("n0", 0, 0, 7, "c1", 1, Ts(10), ClientTs("c1", 1)).has_value());
  const std::optional<Document> value = Document{{"v", int64_t{2}}};
  // A duplicate ack reports the key's current stamp; the write's own stamp is its application's.
  ASSERT_FALSE(
      h.OnAckReceived("c1", Ack(1, ClientTs("c1", 1), Ts(40), true, value), ValueHash(value), 1));
  // grid_durability holds the grid to the write's own stamp, not the duplicate ack's.
  EXPECT_EQ(h.applied().at({"users", "k1"}).ts, Ts(10));
  FakeServer owner("n0");
  const auto owner_of = [&owner](uint32_t) { return owner.AsHolder(); };
  owner.Put("users", "k1", 10);  // The write's stamp, another value.
  auto v = CheckAckedValues(h, owner_of);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->invariant, Invariant::kGridLostUpdate);
  EXPECT_NE(v->detail.find("but with another value"), std::string::npos) << v->detail;
  FakeServer right("n0");
  right.Put("users", "k1", 10, *value);
  EXPECT_FALSE(CheckAckedValues(h, [&right](uint32_t) { return right.AsHolder(); }));
  FakeServer later("n0");
  later.Put("users", "k1", 20);  // Replaced by a later write: not this check's business.
  EXPECT_FALSE(CheckAckedValues(h, [&later](uint32_t) { return later.AsHolder(); }));
}

TEST(GridLostUpdate, ADuplicateAckBindsTheApplicationTheAckingServerKnows) {
  // c1#1 applied at 10 by one server; another, whose applied mark was behind, applied it again
  // at 20 and lost that copy with its disk before acknowledging. The first server's duplicate
  // ack (its current stamp 10) promises the application at 10, not the lost one at 20.
  GridHistory h;
  h.OnLogged("c1", 1);
  ASSERT_FALSE(h.OnApplied("n2", 0, 0, 7, "c1", 1, Ts(10), ClientTs("c1", 1)).has_value());
  ASSERT_FALSE(h.OnApplied("n0", 0, 0, 7, "c1", 1, Ts(20), ClientTs("c1", 1)).has_value());
  const std::optional<Document> value = Document{{"v", int64_t{2}}};
  ASSERT_FALSE(
      h.OnAckReceived("c1", Ack(1, ClientTs("c1", 1), Ts(10), true, value), ValueHash(value), 1));
  EXPECT_EQ(h.applied().at({"users", "k1"}).ts, Ts(10));
  // An acking server that holds a later stamp knows the later application.
  ASSERT_FALSE(
      h.OnAckReceived("c1", Ack(1, ClientTs("c1", 1), Ts(25), true, value), ValueHash(value), 2));
  EXPECT_EQ(h.applied().at({"users", "k1"}).ts, Ts(20));
  // No application at or below the held stamp (a GC'd tombstone, stamp 0): the last one.
  GridHistory gc;
  gc.OnLogged("c1", 1);
  ASSERT_FALSE(gc.OnApplied("n2", 0, 0, 7, "c1", 1, Ts(10), ClientTs("c1", 1)).has_value());
  ASSERT_FALSE(gc.OnAckReceived("c1", Ack(1, ClientTs("c1", 1), Timestamp{0, 0, "n2"}, true, value),
                                ValueHash(value), 1));
  EXPECT_EQ(gc.applied().at({"users", "k1"}).ts, Ts(10));
}

TEST(GridLwwModel, EveryRecordIsAnAppliedWriteWithItsValue) {
  GridHistory h;
  const Document v1{{"v", int64_t{1}}}, v2{{"v", int64_t{2}}};
  h.OnLogged("c1", 1);
  h.OnIssued("c1", 1, "users", "k1", ValueHash(v1));
  ASSERT_FALSE(h.OnApplied("n0", 0, 0, 7, "c1", 1, Ts(10), ClientTs("c1", 1)).has_value());
  const auto check = [&h](const FakeServer& owner) {
    return CheckGridLwwModel(h, [&owner](uint32_t) { return owner.AsHolder(); });
  };
  FakeServer right("n0");
  right.Put("users", "k1", 10, v1);
  EXPECT_FALSE(check(right).has_value());
  FakeServer wrong_value("n0");
  wrong_value.Put("users", "k1", 10, v2);
  auto v = check(wrong_value);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->invariant, Invariant::kGridLwwModel);
  EXPECT_NE(v->detail.find("had another value"), std::string::npos) << v->detail;
  FakeServer made_up_stamp("n0");
  made_up_stamp.Put("users", "k1", 11, v1);
  v = check(made_up_stamp);
  ASSERT_TRUE(v.has_value());
  EXPECT_NE(v->detail.find("a stamp no application"), std::string::npos) << v->detail;
  FakeServer phantom_key("n0");
  phantom_key.Put("users", "k2", 10, v1);
  EXPECT_TRUE(check(phantom_key).has_value());
}

// The model sums the deltas of durably logged ops per half; a lost (never logged) op and a seq
// reissued as a write do not count.
TEST(GridPnModel, EveryEntryIsTheSumOfItsClientsDurableDeltasPerHalf) {
  GridHistory h;
  h.OnIssuedCounter("c1", 1, "m", "n1", 5);
  h.OnIssuedCounter("c1", 2, "m", "n1", -2);
  h.OnIssuedCounter("c1", 3, "m", "n1", 7);  // Never durable: lost with a crash...
  h.OnIssuedCounter("c2", 1, "m", "n1", -4);
  h.OnIssuedCounter("c2", 2, "m", "n2", 1);
  h.OnIssued("c2", 2, "m", "k", ValueHash(std::nullopt));  // ...or its seq reissued as a write.
  for (uint64_t seq : {1, 2}) h.OnLogged("c1", seq);
  for (uint64_t seq : {1, 2}) h.OnLogged("c2", seq);
  const auto check = [&h](const FakeServer& owner) {
    return CheckGridPnModel(h, [&owner](uint32_t) { return owner.AsHolder(); });
  };
  const auto right = [](FakeServer& s) {
    s.Count("m", "n1", "c1", {5, 2});
    s.Count("m", "n1", "c2", {0, 4});
  };
  FakeServer ok("n0");
  right(ok);
  EXPECT_FALSE(check(ok).has_value());
  const auto fails = [&](const FakeServer& s, const std::string& what) {
    auto v = check(s);
    ASSERT_TRUE(v.has_value()) << what;
    EXPECT_EQ(v->invariant, Invariant::kGridPnModel);
    EXPECT_NE(v->detail.find(what), std::string::npos) << v->detail;
  };
  FakeServer summed("n0");  // A merge that added totals instead of taking the maximum.
  summed.Count("m", "n1", "c1", {10, 4});
  summed.Count("m", "n1", "c2", {0, 4});
  fails(summed, "c1's entry is +10/-4, but its durable ops add up to +5/-2");
  FakeServer one_half("n0");  // A decrement counted as a negative increment: same value.
  one_half.Count("m", "n1", "c1", {3, 0});
  one_half.Count("m", "n1", "c2", {0, 4});
  fails(one_half, "c1's entry is +3/-0");
  FakeServer lost("n0");  // c2's decrement is missing.
  lost.Count("m", "n1", "c1", {5, 2});
  fails(lost, "c2's entry is missing; its durable ops add up to +0/-4");
  FakeServer phantom("n0");
  right(phantom);
  phantom.Count("m", "n2", "c2", {1, 0});  // The op whose seq became a write.
  fails(phantom, "c2 has an entry +1/-0 but no durable op of it incremented this counter");
  FakeServer lost_op_counted("n0");
  lost_op_counted.Count("m", "n1", "c1", {12, 2});
  lost_op_counted.Count("m", "n1", "c2", {0, 4});
  fails(lost_op_counted, "c1's entry is +12/-2");
}

// Adds and removes as the workload issues them: c1 adds Oslo twice and Rome to o1; c2 removes
// Oslo having observed only c1's first add; c1's third add is never durable.
class GridOrModelTest : public ::testing::Test {
 protected:
  GridOrModelTest() {
    const uint64_t oslo = ValueHash(Document{{"city", std::string("Oslo")}});
    h_.OnIssuedOrAdd("c1", 1, "m", "o1", oslo);
    h_.OnIssuedOrAdd("c1", 2, "m", "o1", oslo);
    h_.OnIssuedOrAdd("c1", 3, "m", "o1", ValueHash(Document{{"city", std::string("Rome")}}));
    h_.OnIssuedOrAdd("c1", 4, "m", "o1", oslo);  // Never durable.
    h_.OnIssuedOrRemove("c2", 1, "m", "o1", {OrOrigin("c1", 1)});
    for (uint64_t seq : {1, 2, 3}) h_.OnLogged("c1", seq);
    h_.OnLogged("c2", 1);
  }
  // Right: c1#1 removed, c1#2 (not observed: add wins) and c1#3 held.
  static void Right(FakeServer& s) {
    s.AddItem("m", "o1", 20, "c1", 2, "Oslo");
    s.AddItem("m", "o1", 30, "c1", 3, "Rome");
  }
  void Ack(uint64_t seq, WriteConcern concern, uint64_t tag_ms, const std::string& server = "n0") {
    const std::optional<Document> none;
    ASSERT_FALSE(
        h_.OnApplied(server, 0, 0, 7, "c1", seq, Ts(tag_ms), ClientTs("c1", seq)).has_value());
    events::AckReceived ack{"m",   "o1",  seq,     Ts(tag_ms),    concern, ClientTs("c1", seq),
                            false, &none, nullptr, /*or_op=*/true};
    ASSERT_FALSE(h_.OnAckReceived("c1", ack, ValueHash(none), 1).has_value());
  }
  // c2#1, the remove of c1#1's item, applied by `server` and acknowledged at `concern`.
  void AckRemove(WriteConcern concern, const std::string& server) {
    const std::optional<Document> none;
    ASSERT_FALSE(h_.OnApplied(server, 0, 0, 7, "c2", 1, Ts(60), ClientTs("c2", 1)).has_value());
    events::AckReceived ack{"m",   "o1",  1,       Ts(60),        concern, ClientTs("c2", 1),
                            false, &none, nullptr, /*or_op=*/true};
    ASSERT_FALSE(h_.OnAckReceived("c2", ack, ValueHash(none), 1).has_value());
  }
  std::optional<Violation> Check(const FakeServer& owner) const {
    return CheckGridOrModel(h_, [&owner](uint32_t) { return owner.AsHolder(); });
  }
  void Fails(const FakeServer& s, const std::string& what) const {
    auto v = Check(s);
    ASSERT_TRUE(v.has_value()) << what;
    EXPECT_EQ(v->invariant, Invariant::kGridOrModel);
    EXPECT_NE(v->detail.find(what), std::string::npos) << v->detail;
  }
  GridHistory h_;
};

TEST_F(GridOrModelTest, HoldsOnlyDurableAddsOnceWithTheirValueAndNoObservedOne) {
  FakeServer ok("n0");
  Right(ok);
  EXPECT_FALSE(Check(ok).has_value());
  FakeServer resurrected("n0");
  Right(resurrected);
  resurrected.AddItem("m", "o1", 10, "c1", 1, "Oslo");
  Fails(resurrected, "item 10:0:s of c1#1's add is alive, but c2#1's durable remove observed it");
  FakeServer lost_op("n0");
  Right(lost_op);
  lost_op.AddItem("m", "o1", 40, "c1", 4, "Oslo");
  Fails(lost_op, "names c1#4 as its add, which no client durably logged as an OR add");
  FakeServer twice("n0");  // Applied again by another owner: one item, two copies.
  Right(twice);
  twice.AddItem("m", "o1", 25, "c1", 2, "Oslo");
  EXPECT_FALSE(Check(twice).has_value());
  twice.AddItem("m", "o1", 15, "c1", 1, "Oslo");  // A copy of a removed add is as dead.
  Fails(twice, "item 15:0:s of c1#1's add is alive");
  FakeServer wrong_value("n0");
  wrong_value.AddItem("m", "o1", 20, "c1", 2, "Lima");
  Fails(wrong_value, "not the value c1#2 added");
  FakeServer wrong_key("n0");
  Right(wrong_key);
  wrong_key.AddItem("m", "o2", 50, "c1", 3, "Rome");
  Fails(wrong_key, "c1#3's add, which added to m/o1");
  FakeServer removed_write("n0");  // The remove's seq is no add.
  removed_write.AddItem("m", "o1", 50, "c2", 1, "Oslo");
  Fails(removed_write, "names c2#1 as its add");
}

// Add wins: a remove never takes an add it did not observe, so an acknowledged add is held.
TEST_F(GridOrModelTest, AnAcknowledgedAddNoRemoveObservedIsHeld) {
  Ack(2, WriteConcern::kReplicated, 20);
  Ack(3, WriteConcern::kApplied, 30);
  FakeServer ok("n0");
  Right(ok);
  EXPECT_FALSE(Check(ok).has_value());
  FakeServer remove_took_all("n0");  // The remove took every Oslo, observed or not.
  remove_took_all.AddItem("m", "o1", 30, "c1", 3, "Rome");
  Fails(remove_took_all, "c1#2's add, acknowledged at REPLICATED with its item, is missing");
  FakeServer lost_applied("n0");
  lost_applied.AddItem("m", "o1", 20, "c1", 2, "Oslo");
  Fails(lost_applied, "c1#3's add, acknowledged at APPLIED with its item, is missing");
  h_.OnDiskLost(5, "n0");  // APPLIED promises made before a disk loss no longer bind.
  EXPECT_FALSE(Check(lost_applied).has_value());
}

// A remove acknowledged below REPLICATED is sure to live only on the servers that applied it: once
// each of them lost its disk, the remove may have been lost and the items it observed be alive.
TEST_F(GridOrModelTest, ARemoveAcknowledgedBelowReplicatedMayBeLostWithADisk) {
  FakeServer resurrected("n0");
  Right(resurrected);
  resurrected.AddItem("m", "o1", 10, "c1", 1, "Oslo");
  AckRemove(WriteConcern::kApplied, "n0");
  AckRemove(WriteConcern::kApplied, "n1");                  // Applied again after a failover.
  Fails(resurrected, "c2#1's durable remove observed it");  // No disk lost since.
  h_.OnDiskLost(5, "n0");
  Fails(resurrected, "c2#1's durable remove observed it");  // n1 still holds it.
  h_.OnDiskLost(6, "n2");
  Fails(resurrected, "c2#1's durable remove observed it");  // Not a disk that held it.
  h_.OnDiskLost(7, "n1");
  EXPECT_FALSE(Check(resurrected).has_value());
  // Nor must what it observed be alive: the remove may have been applied and kept.
  Ack(1, WriteConcern::kReplicated, 10);
  FakeServer gone("n0");
  Right(gone);
  EXPECT_FALSE(Check(gone).has_value());
}

// At REPLICATED the owner and a backup held the remove: one disk lost leaves a copy, two may not.
TEST_F(GridOrModelTest, ARemoveAcknowledgedAtReplicatedMayBeLostOnlyWithTwoDisks) {
  FakeServer resurrected("n0");
  Right(resurrected);
  resurrected.AddItem("m", "o1", 10, "c1", 1, "Oslo");
  h_.OnDiskLost(4, "n1");  // Before the remove was applied anywhere: does not count.
  AckRemove(WriteConcern::kReplicated, "n0");
  h_.OnDiskLost(5, "n0");
  Fails(resurrected, "c2#1's durable remove observed it");
  AckRemove(WriteConcern::kApplied, "n1");  // A later, weaker ack changes nothing.
  Fails(resurrected, "c2#1's durable remove observed it");
  h_.OnDiskLost(6, "n2");
  EXPECT_FALSE(Check(resurrected).has_value());
}

// Without backups a REPLICATED ack has one copy; and a disk lost between the application and the
// client's receipt of the ack counts.
TEST_F(GridOrModelTest, WithoutBackupsAReplicatedRemoveMayBeLostWithOneDisk) {
  h_.SetBackupCount(0);
  FakeServer resurrected("n0");
  Right(resurrected);
  resurrected.AddItem("m", "o1", 10, "c1", 1, "Oslo");
  const std::optional<Document> none;
  ASSERT_FALSE(h_.OnApplied("n0", 0, 0, 7, "c2", 1, Ts(60), ClientTs("c2", 1)).has_value());
  h_.OnDiskLost(5, "n0");  // The ack is still in flight.
  events::AckReceived ack{
      "m",   "o1",  1,       Ts(60),        WriteConcern::kReplicated, ClientTs("c2", 1),
      false, &none, nullptr, /*or_op=*/true};
  ASSERT_FALSE(h_.OnAckReceived("c2", ack, ValueHash(none), 1).has_value());
  EXPECT_FALSE(Check(resurrected).has_value());
}

// grid_durability's OR part: an acknowledged add is held elsewhere at a disk loss, as an item or as
// removed, unless an applied remove observed it.
TEST_F(GridOrModelTest, AnAcknowledgedAddIsHeldElsewhereOrRemoved) {
  Ack(2, WriteConcern::kReplicated, 20);
  FakeServer other("n1");
  other.AddItem("m", "o1", 30, "c1", 3, "Rome");
  auto v = CheckHeldElsewhere(h_, {other.AsHolder()}, "n0");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->invariant, Invariant::kGridDurability);
  EXPECT_NE(v->detail.find("n0 lost its disk, and no live server holds c1#2's OR add to m/o1, "
                           "acknowledged at REPLICATED; n1 holds 1 items and 0 tombstones"),
            std::string::npos)
      << v->detail;
  v = CheckAckedHeld(h_, {other.AsHolder()}, "n0,n1 crashed together");
  ASSERT_TRUE(v.has_value());
  EXPECT_NE(v->detail.find("after n0,n1 crashed together, no server holds c1#2's OR add"),
            std::string::npos)
      << v->detail;
  other.AddItem("m", "o1", 20, "c1", 2, "Oslo");
  EXPECT_FALSE(CheckHeldElsewhere(h_, {other.AsHolder()}, "n0").has_value());
  FakeServer killed("n1");  // Removed: its origin killed there.
  killed.Kill("m", "o1", OrOrigin("c1", 2), 40);
  EXPECT_FALSE(CheckHeldElsewhere(h_, {killed.AsHolder()}, "n0").has_value());
  Ack(1, WriteConcern::kReplicated, 10, "n9");  // c1#1, observed by c2#1: gone once that applied
  EXPECT_TRUE(CheckHeldElsewhere(h_, {other.AsHolder()}, "n0").has_value());
  ASSERT_FALSE(h_.OnApplied("n0", 0, 0, 7, "c2", 1, Ts(50), ClientTs("c2", 1)).has_value());
  EXPECT_FALSE(CheckHeldElsewhere(h_, {other.AsHolder()}, "n0").has_value());
}

TEST(GridDurability, AnAcknowledgedIncrementIsHeldAsItsTotals) {
  GridHistory h;
  h.OnLogged("c1", 1);
  ASSERT_FALSE(h.OnApplied("n0", 0, 0, 7, "c1", 1, Ts(10), ClientTs("c1", 1)).has_value());
  const std::optional<Document> none;
  const PnTotals carried{6, 1};
  events::AckReceived ack{
      "m", "n1", 1, Ts(10), WriteConcern::kReplicated, ClientTs("c1", 1), false, &none, &carried};
  ASSERT_FALSE(h.OnAckReceived("c1", ack, ValueHash(none), 1).has_value());
  EXPECT_TRUE(h.replicated().empty());  // Not an LWW write.
  FakeServer behind("n1");
  behind.Count("m", "n1", "c1", {6, 0});  // The decrement is missing.
  auto v = CheckHeldElsewhere(h, {behind.AsHolder()}, "n0");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->invariant, Invariant::kGridDurability);
  EXPECT_EQ(v->detail,
            "n0 lost its disk, and no live server holds what was acknowledged at REPLICATED of "
            "counter m/n1: c1's totals +6/-1; n1 holds +6/-0");
  FakeServer holds("n1");
  holds.Count("m", "n1", "c1", {6, 1});
  EXPECT_FALSE(CheckHeldElsewhere(h, {holds.AsHolder()}, "n0").has_value());
  EXPECT_FALSE(CheckAckedHeld(h, {holds.AsHolder()}, "power loss").has_value());
  EXPECT_TRUE(CheckAckedHeld(h, {behind.AsHolder()}, "power loss").has_value());
  EXPECT_TRUE(CheckHeldByOwners(h, [&behind](uint32_t) { return behind.AsHolder(); }).has_value());
  // A reused seq stays a lost update, counter or not.
  const PnTotals other{7, 1};
  events::AckReceived reused{"m",   "n1",  1,     Ts(10), WriteConcern::kApplied, ClientTs("c1", 9),
                             false, &none, &other};
  auto lu = h.OnAckReceived("c1", reused, ValueHash(none), 2);
  ASSERT_TRUE(lu.has_value());
  EXPECT_EQ(lu->invariant, Invariant::kGridLostUpdate);
  EXPECT_NE(lu->detail.find("(increment m/n1"), std::string::npos) << lu->detail;
}

TEST(GridExactlyOnce, ASecondApplicationOnTheSameDiskIsCaught) {
  GridHistory h;
  h.OnLogged("c1", 1);
  h.OnLogged("c1", 2);
  EXPECT_FALSE(h.OnApplied("n0", 0, 0, 7, "c1", 1, Ts(1), ClientTs("c1", 1)).has_value());
  EXPECT_FALSE(h.OnApplied("n0", 0, 0, 7, "c1", 2, Ts(2), ClientTs("c1", 2)).has_value());
  EXPECT_FALSE(h.OnApplied("n0", 0, 0, 9, "c1", 1, Ts(3), ClientTs("c1", 1))
                   .has_value());  // Another partition.
  EXPECT_FALSE(h.OnApplied("n1", 0, 0, 7, "c1", 2, Ts(4), ClientTs("c1", 2))
                   .has_value());  // Another server.
  EXPECT_FALSE(h.OnApplied("n0", 1, 0, 7, "c1", 2, Ts(5), ClientTs("c1", 2))
                   .has_value());  // A replaced disk.
  auto v = h.OnApplied("n0", 1, 0, 7, "c1", 2, Ts(6), ClientTs("c1", 2));
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->invariant, Invariant::kGridExactlyOnce);
  EXPECT_NE(v->detail.find("c1#2"), std::string::npos) << v->detail;
}

// After a failed write or sync, a crash before the next clean sync loses the marks applied since:
// applying those entries again is legal; a mark a clean sync made durable must hold.
TEST(GridExactlyOnce, ACrashBeforeACleanSyncLosesOnlyTheMarksSinceTheLastOne) {
  GridHistory h;
  for (uint64_t seq = 1; seq <= 4; ++seq) h.OnLogged("c1", seq);
  EXPECT_FALSE(h.OnApplied("n0", 0, 5, 7, "c1", 1, Ts(1), ClientTs("c1", 1)).has_value());
  EXPECT_FALSE(h.OnApplied("n0", 0, 6, 7, "c1", 2, Ts(2), ClientTs("c1", 2))
                   .has_value());  // #1 synced cleanly.
  EXPECT_FALSE(h.OnApplied("n0", 0, 6, 7, "c1", 3, Ts(3), ClientTs("c1", 3))
                   .has_value());  // No clean sync since.
  h.OnServerCrash("n0", 6);
  EXPECT_FALSE(h.OnApplied("n0", 0, 6, 7, "c1", 2, Ts(4), ClientTs("c1", 2))
                   .has_value());  // #2, #3 were lost.
  EXPECT_FALSE(h.OnApplied("n0", 0, 6, 7, "c1", 3, Ts(5), ClientTs("c1", 3)).has_value());
  auto v = h.OnApplied("n0", 0, 6, 7, "c1", 1, Ts(6), ClientTs("c1", 1));  // #1 was durable.
  ASSERT_TRUE(v.has_value());
  EXPECT_NE(v->detail.find("c1#1"), std::string::npos) << v->detail;
  // A crash after a clean sync restores nothing.
  EXPECT_FALSE(h.OnApplied("n0", 0, 7, 7, "c1", 4, Ts(7), ClientTs("c1", 4)).has_value());
  h.OnServerCrash("n0", 8);
  EXPECT_TRUE(h.OnApplied("n0", 0, 8, 7, "c1", 4, Ts(8), ClientTs("c1", 4)).has_value());
}

TEST(GridExactlyOnce, AnEntryTheClientHadNotDurablyLoggedIsCaught) {
  GridHistory h;
  h.OnLogged("c1", 1);
  EXPECT_FALSE(h.OnApplied("n0", 0, 0, 3, "c1", 1, Ts(1), ClientTs("c1", 1)).has_value());
  auto v = h.OnApplied("n0", 0, 0, 3, "c1", 2, Ts(2), ClientTs("c1", 2));
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->invariant, Invariant::kGridExactlyOnce);
  EXPECT_NE(v->detail.find("had not durably logged"), std::string::npos) << v->detail;
}

TEST(GridExactlyOnce, EveryLoggedEntryMustBeApplied) {
  GridHistory h;
  for (uint64_t seq = 1; seq <= 5; ++seq) h.OnLogged("c1", seq);
  for (uint64_t seq : {1, 2, 3, 5})
    (void)h.OnApplied("n0", 0, 0, seq, "c1", seq, Ts(seq), ClientTs("c1", seq));
  auto v = CheckAllApplied(h);
  ASSERT_TRUE(v.has_value());
  EXPECT_NE(v->detail.find("c1#4"), std::string::npos) << v->detail;
  (void)h.OnApplied("n1", 0, 0, 4, "c1", 4, Ts(9), ClientTs("c1", 4));
  EXPECT_FALSE(CheckAllApplied(h).has_value());
  h.OnLogged("c2", 1);
  EXPECT_TRUE(CheckAllApplied(h).has_value());  // A client nobody applied anything of.
}

TEST(GridStorageAcks, NoAcknowledgementWhileStorageHasFailed) {
  const events::NodeEvent applied =
      events::OpAcknowledged{"c1", 3, Ts(1), WriteConcern::kApplied, false};
  const events::NodeEvent fire =
      events::OpAcknowledged{"c1", 4, Ts(1), WriteConcern::kFireAndForget};
  const events::NodeEvent state = events::StateAcknowledged{"n0", 12, 99};
  EXPECT_FALSE(CheckStorageAck("n1", false, applied).has_value());
  EXPECT_FALSE(CheckStorageAck("n1", true, fire).has_value());
  auto v = CheckStorageAck("n1", true, applied);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->invariant, Invariant::kGridStorageAcks);
  EXPECT_NE(v->detail.find("c1#3 at APPLIED"), std::string::npos) << v->detail;
  EXPECT_TRUE(CheckStorageAck("n1", true, state).has_value());
}

}  // namespace
}  // namespace seedgrid::invariants
