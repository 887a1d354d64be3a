// PN-Counters on the grid (engine/crdt/counter_map.h): clients increment their own entries, ops
// carry totals, servers take maxima — through replication, restarts, offline clients, repairs
// and resends. Seeded scenarios with faults check the PN model (invariants/grid_checks.h).
#include <gtest/gtest.h>

#include "engine/cluster/grid_testing.h"
#include "engine/env/mem_storage.h"
#include "engine/wire/codec.h"

namespace seedgrid {
namespace {

using grid_testing::Grid;

// The counter `key` of map "m" as the owner holds it (null when absent).
const PnState* OwnerCounter(Grid& g, const std::string& key) {
  const int owner = g.OwnerIndex(key);
  const GridPartition* part = g.server(owner).partition(PartitionOf(key));
  if (part == nullptr) return nullptr;
  const CounterMap* counters = part->CountersOf("m");
  return counters == nullptr ? nullptr : counters->Get(key);
}

TEST(GridCounters, IncrementsFromOnlineAndOfflineClientsConvergeEverywhere) {
  Grid g(3, 2);
  ASSERT_TRUE(g.client(0).Increment("m", "visits", 5, msg::WriteConcern::kReplicated).ok());
  ASSERT_TRUE(g.client(0).Increment("m", "visits", -2, msg::WriteConcern::kReplicated).ok());
  EXPECT_EQ(g.client(0).CounterValue("m", "visits"), 3);  // Local first.
  g.client(1).GoOffline();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(g.client(1).Increment("m", "visits", 10).ok());
  ASSERT_TRUE(g.client(1).Increment("m", "visits", -1).ok());
  EXPECT_EQ(g.client(1).CounterValue("m", "visits"), 29);
  g.Run(1000);
  EXPECT_EQ(g.client(0).CounterValue("m", "visits"), 3);  // c1's ops are still on c1 alone.
  g.client(1).GoOnline();
  g.Run(3000);
  for (int c = 0; c < 2; ++c) {
    EXPECT_TRUE(g.client(c).op_log().empty());
    EXPECT_EQ(g.client(c).CounterValue("m", "visits"), 32) << "client " << c;
  }
  const PnState expected{{"c0", {5, 2}}, {"c1", {30, 1}}};
  ASSERT_NE(OwnerCounter(g, "visits"), nullptr);
  EXPECT_EQ(*OwnerCounter(g, "visits"), expected);
  // The backup holds the same state; the clients' digests equal the owner's.
  int holders = 0;
  const uint32_t p = PartitionOf("visits");
  for (int i = 0; i < 3; ++i) {
    const GridPartition* part = g.server(i).partition(p);
    if (part == nullptr || part->CountersOf("m") == nullptr) continue;
    EXPECT_EQ(*part->CountersOf("m")->Get("visits"), expected) << "server " << i;
    EXPECT_EQ(part->MapDigest("m"), g.client(0).MapDigest("m", p));
    ++holders;
  }
  EXPECT_EQ(holders, 2);
}

TEST(GridCounters, AResentOrOlderOpNeverCountsTwice) {
  Grid g(1, 0);
  const auto send = [&g](uint64_t seq, PnTotals totals) {
    msg::GridOps ops{"c9",
                     "",
                     0,
                     {msg::GridOp{seq, msg::WriteConcern::kApplied, "m", "k", std::nullopt,
                                  Timestamp{1, 0, "c9"}, totals}}};
    ASSERT_TRUE(g.network.Send("c9", "s0", EncodeMessage(msg::Envelope{"c9", ops})).ok());
    g.Run(100);
  };
  send(1, {4, 0});
  send(1, {4, 0});  // A resend.
  send(2, {4, 3});
  send(1, {4, 0});  // An old op arriving late.
  EXPECT_EQ((g.applied[{"c9", 1}]), 1);
  EXPECT_EQ((g.applied[{"c9", 2}]), 1);
  ASSERT_NE(OwnerCounter(g, "k"), nullptr);
  EXPECT_EQ(*OwnerCounter(g, "k"), (PnState{{"c9", {4, 3}}}));
  EXPECT_EQ(g.server(0).partition(PartitionOf("k"))->CountersOf("m")->Value("k"), 1);
}

TEST(GridCounters, AServerRestartRestoresItsCountersFromItsPages) {
  Grid g(1);
  ASSERT_TRUE(g.client(0).Increment("m", "k", 7).ok());
  ASSERT_TRUE(g.client(0).Increment("m", "k", -3).ok());
  g.Run(500);
  ASSERT_TRUE(g.client(0).op_log().empty());  // APPLIED: acknowledged after the owner's sync.
  g.client_hosts[0]->client.reset();          // No client to repair anything.
  g.CrashServer(0);
  g.StartServer(0);
  const GridPartition* part = g.server(0).partition(PartitionOf("k"));  // Restored at Open.
  ASSERT_NE(part, nullptr);
  ASSERT_NE(part->CountersOf("m"), nullptr);
  EXPECT_EQ(*part->CountersOf("m")->Get("k"), (PnState{{"c0", {7, 3}}}));
}

TEST(GridCounters, ARestartedClientContinuesFromItsDurableTotals) {
  Grid g(1);
  g.client(0).GoOffline();
  ASSERT_TRUE(g.client(0).Increment("m", "k", 2).ok());
  ASSERT_TRUE(g.client(0).Increment("m", "k", -1).ok());
  g.client_hosts[0]->client.reset();
  g.client_hosts[0]->storage.Crash();  // Synced before Increment returned: nothing is lost.
  g.OpenClient(0);
  EXPECT_EQ(g.client(0).CounterValue("m", "k"), 1);
  ASSERT_TRUE(g.client(0).Increment("m", "k", 5).ok());  // Totals go on from {2, 1}.
  g.Run(2000);
  EXPECT_TRUE(g.client(0).op_log().empty());
  ASSERT_NE(OwnerCounter(g, "k"), nullptr);
  EXPECT_EQ(*OwnerCounter(g, "k"), (PnState{{"c0", {7, 1}}}));
  EXPECT_EQ(g.client(0).CounterValue("m", "k"), 6);
}

// After the acknowledgements the op pages are gone and the client's own totals live in its twin
// pages: a torn counter page (every writer's totals, rewritten whenever any entry rises) must not
// take them back, or the next increment would carry totals the owner's maximum swallows.
TEST(GridCounters, ATornCounterPageNeverRollsAClientsOwnTotalsBack) {
  Grid g(1);
  ASSERT_TRUE(g.client(0).Increment("m", "k", 3).ok());
  ASSERT_TRUE(g.client(0).Increment("m", "k", -1).ok());
  g.Run(1000);
  ASSERT_TRUE(g.client(0).op_log().empty());
  g.client_hosts[0]->client.reset();
  FlakyStorage& disk = g.client_hosts[0]->storage;
  int torn = 0;
  for (const std::string& page : disk.mem.List()) {
    if (!page.starts_with("C/")) continue;
    ASSERT_TRUE(disk.mem.Write(page, "torn").ok());  // A prefix of a rewrite, made durable.
    ++torn;
  }
  ASSERT_EQ(torn, 1);
  g.OpenClient(0);
  g.client(0).GoOffline();
  EXPECT_EQ(g.client(0).CounterValue("m", "k"), 2);  // Its own entry, from the twin pages.
  ASSERT_TRUE(g.client(0).Increment("m", "k", 1).ok());
  g.client(0).GoOnline();
  g.Run(2000);
  ASSERT_NE(OwnerCounter(g, "k"), nullptr);
  EXPECT_EQ(*OwnerCounter(g, "k"), (PnState{{"c0", {4, 1}}}));
  EXPECT_EQ(g.client(0).stats().torn_pages_discarded, 1u);
}

// A data directory without own-totals twins (written before them, or whose twins never synced)
// gets them at the restore: a later torn counter page cannot roll the own totals back either.
TEST(GridCounters, ARestoreWritesTheOwnTotalsTwinsADataDirectoryLacks) {
  Grid g(1);
  g.client(0).GoOffline();
  ASSERT_TRUE(g.client(0).Increment("m", "k", 6).ok());
  g.client_hosts[0]->client.reset();
  FlakyStorage& disk = g.client_hosts[0]->storage;
  for (const std::string& page : disk.mem.List()) {
    if (page.starts_with("O/")) {
      ASSERT_TRUE(disk.mem.Delete(page).ok());
    }
  }
  g.OpenClient(0);  // From the C/ and Q/ pages; writes the twin.
  g.client_hosts[0]->client.reset();
  for (const std::string& page : disk.mem.List()) {
    if (page.starts_with("C/") || page.starts_with("Q/")) {
      ASSERT_TRUE(disk.mem.Delete(page).ok());
    }
  }
  g.OpenClient(0);
  EXPECT_EQ(g.client(0).CounterValue("m", "k"), 6);
}

// Own totals of a map name and key with slashes and an empty key restore (the page names are
// length-prefixed).
TEST(GridCounters, OwnTotalsOfAnyMapAndKeyNameRestore) {
  Grid g(1);
  g.client(0).GoOffline();
  ASSERT_TRUE(g.client(0).Increment("a/b", "", 2).ok());
  ASSERT_TRUE(g.client(0).Increment("a", "b/", -5).ok());
  // Key "x.1"'s twin is named like key "x"'s first copy: they must stay apart.
  ASSERT_TRUE(g.client(0).Increment("a.b", "x", 7).ok());
  ASSERT_TRUE(g.client(0).Increment("a.b", "x.1", 11).ok());
  g.client_hosts[0]->client.reset();
  g.client_hosts[0]->storage.Crash();
  for (const std::string& page : g.client_hosts[0]->storage.mem.List()) {
    if (page.starts_with("C/") || page.starts_with("Q/")) {
      ASSERT_TRUE(g.client_hosts[0]->storage.mem.Delete(page).ok());  // Only the twins are left.
    }
  }
  g.OpenClient(0);
  EXPECT_EQ(g.client(0).CounterValue("a/b", ""), 2);
  EXPECT_EQ(g.client(0).CounterValue("a", "b/"), -5);
  EXPECT_EQ(g.client(0).CounterValue("a.b", "x"), 7);
  EXPECT_EQ(g.client(0).CounterValue("a.b", "x.1"), 11);
  EXPECT_EQ(g.client(0).stats().torn_pages_discarded, 0u);
}

// The client's own entry goes up with its op while the op is in the log, never by a repair: the
// op's totals may not be durable yet. Once acknowledged, a repair gives it back to an owner that
// lost it.
TEST(GridCounters, ARepairNeverCarriesTheOwnEntryOfAPendingCounterOp) {
  Grid g(1);
  ASSERT_TRUE(g.client(0).Increment("m", "k", 4).ok());
  g.Run(1000);
  g.CrashServer(0);
  g.server_hosts[0]->storage.mem = MemStorage();  // The owner forgets the counter.
  g.client_hosts[0]->storage.fail_syncs = true;   // The next op never becomes durable...
  ASSERT_TRUE(g.client(0).Increment("m", "k", 5).ok());
  g.StartServer(0);
  g.Run(3000);  // ...so it is never sent, and the repairs must not send its totals either.
  EXPECT_EQ(OwnerCounter(g, "k"), nullptr) << "a repair sent the totals of a pending op";
  EXPECT_GE(g.client(0).stats().leaves_merged, 1u);  // Leaves came: repairs had their chance.
  g.client_hosts[0]->storage.fail_syncs = false;
  g.Run(3000);
  EXPECT_EQ(*OwnerCounter(g, "k"), (PnState{{"c0", {9, 0}}}));
  EXPECT_TRUE(g.client(0).op_log().empty());
}

// An owner that lost its disk lacks acknowledged counter entries; a client's repair gives them
// back (its own entry once no op of that counter is pending, and any other writer's it holds).
TEST(GridCounters, AClientRepairsTheCountersAnOwnerLostWithItsDisk) {
  Grid g(1, 2);
  ASSERT_TRUE(g.client(0).Increment("m", "k", 4).ok());
  ASSERT_TRUE(g.client(1).Increment("m", "k", -6).ok());
  g.Run(3000);
  ASSERT_EQ(g.client(0).CounterValue("m", "k"), -2);
  ASSERT_EQ(g.client(1).CounterValue("m", "k"), -2);
  g.CrashServer(0);
  g.server_hosts[0]->storage.mem = MemStorage();  // The disk is replaced.
  g.client_hosts[1]->client.reset();              // Only c0 is left to repair.
  g.StartServer(0);
  g.Run(3000);
  ASSERT_NE(OwnerCounter(g, "k"), nullptr);
  EXPECT_EQ(*OwnerCounter(g, "k"), (PnState{{"c0", {4, 0}}, {"c1", {0, 6}}}));
  EXPECT_GE(g.client(0).stats().repairs_sent, 1u);
}

TEST(GridCounters, ATotalPast64BitsIsRefusedAndNothingIsLogged) {
  Grid g(1);
  ASSERT_TRUE(g.client(0).Increment("m", "k", INT64_MAX).ok());
  ASSERT_TRUE(g.client(0).Increment("m", "k", INT64_MAX).ok());
  ASSERT_TRUE(g.client(0).Increment("m", "k", 1).ok());  // 2^64 - 1
  const size_t logged = g.client(0).op_log().size();
  absl::StatusOr<uint64_t> over = g.client(0).Increment("m", "k", 1);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(
      over.status().message(),
      "grid client: counter 'k' of map 'm': this client's positive total would pass 2^64 - 1");
  EXPECT_EQ(g.client(0).op_log().size(), logged);
  ASSERT_TRUE(g.client(0).Increment("m", "k", INT64_MIN).ok());  // The other half is unused.
  g.Run(1000);
  EXPECT_EQ(*OwnerCounter(g, "k"), (PnState{{"c0", {UINT64_MAX, uint64_t{1} << 63}}}));
}

}  // namespace
}  // namespace seedgrid
