// Storage errors on the grid (docs/architecture.md, "Storage errors"): nothing is acknowledged
// before a sync that succeeded; the op stays in the client's log and is acknowledged after the
// storage recovers.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "absl/container/btree_set.h"
#include "engine/cluster/grid_testing.h"
#include "engine/cluster/partition.h"
#include "engine/wire/codec.h"
#include "engine/wire/packed_record.h"

namespace seedgrid {
namespace {

using grid_testing::Doc;
using grid_testing::Grid;

TEST(GridStorageErrors, OwnerSyncFailureWithholdsTheAppliedAckUntilStorageRecovers) {
  Grid g(3);
  const int owner = g.OwnerIndex("alice");
  ASSERT_GE(owner, 0);
  g.server_hosts[owner]->storage.fail_syncs = true;
  g.client(0).Set("users", "alice", Doc(1), msg::WriteConcern::kApplied);
  g.Run(1000);  // Several client resends, each a duplicate whose sync fails again.
  EXPECT_TRUE(g.acks.empty());
  EXPECT_EQ(g.client(0).op_log().size(), 1u);
  EXPECT_TRUE(g.server_acks.empty());
  EXPECT_GT(g.server(owner).stats().acks_withheld, 0u);
  EXPECT_GT(g.server(owner).stats().storage.sync_errors, 0u);
  g.server_hosts[owner]->storage.fail_syncs = false;
  g.Run(1000);
  ASSERT_EQ(g.acks.size(), 1u);
  EXPECT_TRUE(g.client(0).op_log().empty());
  ASSERT_EQ(g.server_acks.size(), 1u);  // OpAcknowledged: the resend, a duplicate by then.
  EXPECT_TRUE(g.server_acks[0].duplicate);
  EXPECT_EQ(g.applied.size(), 1u);  // OpApplied once, at the first (unacknowledged) delivery.
  ASSERT_NE(g.OwnerRecord("users", "alice"), nullptr);
  EXPECT_EQ(*g.OwnerRecord("users", "alice")->value, Doc(1));
  // Durable now: a crash of the owner keeps it.
  g.CrashServer(owner);
  g.StartServer(owner);
  const GridPartition* part = g.server(owner).partition(PartitionOf("alice"));
  ASSERT_NE(part, nullptr);
  ASSERT_NE(part->maps.at("users")->GetRecord("alice"), nullptr);
  for (const auto& [op, count] : g.applied) EXPECT_EQ(count, 1);
}

TEST(GridStorageErrors, BackupSyncFailureWithholdsTheReplicatedAckUntilItRecovers) {
  Grid g(3);
  const uint32_t p = PartitionOf("bob");
  const NodeId backup = g.server(0).table().replicas(p).backups.at(0);
  const int b = static_cast<int>(std::find(g.server_ids.begin(), g.server_ids.end(), backup) -
                                 g.server_ids.begin());
  g.server_hosts[b]->storage.fail_syncs = true;
  g.client(0).Set("users", "bob", Doc(2), msg::WriteConcern::kReplicated);
  g.Run(1000);
  EXPECT_TRUE(g.acks.empty());
  EXPECT_EQ(g.client(0).op_log().size(), 1u);
  EXPECT_GT(g.server(b).stats().acks_withheld, 0u);
  g.server_hosts[b]->storage.fail_syncs = false;
  g.Run(1000);
  ASSERT_EQ(g.acks.size(), 1u);
  EXPECT_EQ(g.acks[0].second.level, msg::WriteConcern::kReplicated);
  EXPECT_TRUE(g.client(0).op_log().empty());
  g.CrashServer(b);  // The backup's copy is durable.
  g.StartServer(b);
  const GridPartition* part = g.server(b).partition(p);
  ASSERT_NE(part, nullptr);
  EXPECT_NE(part->maps.at("users")->GetRecord("bob"), nullptr);
}

TEST(GridStorageErrors, ClientDoesNotSendAnOpUntilItsLogEntryIsDurable) {
  Grid g(3);
  g.client_hosts[0]->storage.fail_syncs = true;
  g.client(0).Set("users", "carol", Doc(3), msg::WriteConcern::kApplied);
  ASSERT_NE(g.client(0).Get("users", "carol"), nullptr);  // Applied locally all the same.
  g.Run(1500);
  EXPECT_TRUE(g.applied.empty());  // No server saw it.
  EXPECT_TRUE(g.acks.empty());
  EXPECT_EQ(g.client(0).op_log().size(), 1u);
  EXPECT_GT(g.client(0).stats().storage.sync_errors, 0u);
  g.client_hosts[0]->storage.fail_syncs = false;
  g.Run(1000);
  ASSERT_EQ(g.acks.size(), 1u);
  EXPECT_TRUE(g.client(0).op_log().empty());
  EXPECT_EQ(g.applied.size(), 1u);
}

TEST(GridReplicatedConcern, NoAckWhileNoOtherServerCanHoldTheWrite) {
  // REPLICATED promises a copy on another server. With the only other server down, the owner
  // applies and syncs the write but does not acknowledge it; once the backup is back and holds
  // it, the client's resend is acknowledged. (Acknowledging at once lost writes to a disk loss:
  // server_crash_during_replication seeds 3 and 13.)
  Grid g(2);
  const int owner = g.OwnerIndex("dave");
  ASSERT_GE(owner, 0);
  const int other = 1 - owner;
  g.CrashServer(other);
  g.Run(3000);  // The owner suspects it and publishes a table of one member.
  ASSERT_EQ(g.server(owner).table().members().size(), 1u);
  g.client(0).Set("users", "dave", Doc(4), msg::WriteConcern::kReplicated);
  g.Run(2000);
  EXPECT_TRUE(g.acks.empty());
  EXPECT_EQ(g.client(0).op_log().size(), 1u);
  ASSERT_NE(g.OwnerRecord("users", "dave"), nullptr);  // Applied all the same.
  g.StartServer(other);
  g.Run(5000);
  ASSERT_EQ(g.acks.size(), 1u);
  EXPECT_EQ(g.acks[0].second.level, msg::WriteConcern::kReplicated);
  const GridPartition* copy = g.server(other).partition(PartitionOf("dave"));
  ASSERT_NE(copy, nullptr);
  EXPECT_NE(copy->maps.at("users")->GetRecord("dave"), nullptr);
}

// Client 0 writes k1..k11 (seqs 1..11), all acknowledged.
void ElevenWritesAcknowledged(Grid& g) {
  for (int i = 1; i <= 11; ++i) {
    EXPECT_EQ(
        g.client(0).Set("users", "k" + std::to_string(i), Doc(i), msg::WriteConcern::kApplied),
        static_cast<uint64_t>(i));
  }
  g.Run(1000);
  ASSERT_TRUE(g.client(0).op_log().empty());
}

// Client 0 restarts from its storage: its next write gets seq 12 (no reuse of 1..11), is
// applied once, and every entry ever applied was applied exactly once.
void RestartedClientWritesAtSeq12Once(Grid& g) {
  g.client_hosts[0]->client.reset();
  g.OpenClient(0);
  EXPECT_EQ(g.client(0).Set("users", "late", Doc(12), msg::WriteConcern::kApplied), 12u);
  g.Run(1000);
  EXPECT_TRUE(g.client(0).op_log().empty());
  ASSERT_NE(g.OwnerRecord("users", "late"), nullptr);
  EXPECT_EQ(*g.OwnerRecord("users", "late")->value, Doc(12));
  for (const auto& [op, count] : g.applied) EXPECT_EQ(count, 1) << op.first << "#" << op.second;
}

TEST(GridStorageErrors, ATornLastWriteNeverMakesARestartedClientReuseSequenceNumbers) {
  // A torn page keeps a prefix of its new bytes. When the next-seq page was a sync's last write,
  // next seq 12 torn to "1" restarted the client at seq 1: its new writes were taken for
  // duplicates of entries the servers had applied, and lost (restart_from_storage, seed 16).
  Grid g(3);
  ElevenWritesAcknowledged(g);
  if (HasFatalFailure()) return;
  g.client_hosts[0]->storage.tear_at_sync = true;
  (void)g.client(0).Set("users", "lost", Doc(0), msg::WriteConcern::kApplied);  // Never synced.
  RestartedClientWritesAtSeq12Once(g);
}

TEST(GridStorageErrors, ATornRewriteAfterAFailedSyncNeverRollsTheNextSeqBack) {
  // After a failed sync the next one re-writes every pending page in name order, and a crash
  // tears the last of them. The next-seq page is a twin (twin_page.h): the copy holding the last
  // synced value is not among the pages rewritten.
  Grid g(3);
  ElevenWritesAcknowledged(g);
  if (HasFatalFailure()) return;
  FlakyStorage& storage = g.client_hosts[0]->storage;
  storage.fail_syncs = true;
  EXPECT_EQ(g.client(0).Set("users", "a", Doc(0), msg::WriteConcern::kApplied), 12u);
  storage.fail_syncs = false;
  storage.tear_at_sync = true;  // The rewrite's last write is torn, and power is lost.
  EXPECT_EQ(g.client(0).Set("users", "b", Doc(0), msg::WriteConcern::kApplied), 13u);
  ASSERT_TRUE(storage.last_written.starts_with("S.")) << storage.last_written;
  RestartedClientWritesAtSeq12Once(g);
}

TEST(GridStorageErrors, AClientRestartsFromAnOlderDataDirectoryAndRewritesItsPagesAsTwins) {
  Grid g(1);
  g.client_hosts[0]->client.reset();
  FlakyStorage& storage = g.client_hosts[0]->storage;
  storage.mem = MemStorage();
  // The layout before twin pages: single next-seq and HLC pages, and the tail page.
  ASSERT_TRUE(storage.Write("H", "1000500 3").ok());
  ASSERT_TRUE(storage.Write("S", "12").ok());
  ASSERT_TRUE(storage.Write("Z", "-").ok());
  ASSERT_TRUE(storage.Sync().ok());
  g.OpenClient(0);
  EXPECT_EQ(g.client(0).stats().torn_pages_discarded, 0u);
  // Opening syncs twice (the restore, the first push tick): one copy of each, then the other;
  // the old pages went with the second, once a copy was durable.
  EXPECT_EQ(storage.List(), (std::vector<std::string>{"H.1", "H.2", "S.1", "S.2"}));
  EXPECT_EQ(g.client(0).Set("users", "k", Doc(1), msg::WriteConcern::kApplied), 12u);
}

TEST(GridStorageErrors, AServerRestartsFromAnOlderDataDirectoryAndRewritesItsHlcAsATwin) {
  Grid g(1);
  g.CrashServer(0);
  FlakyStorage& storage = g.server_hosts[0]->storage;
  storage.mem = MemStorage();
  ASSERT_TRUE(storage.Write("H", "1900000 7").ok());  // Ahead of the server's clock.
  ASSERT_TRUE(storage.Sync().ok());
  g.StartServer(0);
  g.Run(500);
  // The restored clock: the server never issues a stamp at or below the saved one.
  g.client(0).Set("users", "k", Doc(1), msg::WriteConcern::kApplied);
  g.Run(500);
  ASSERT_NE(g.OwnerRecord("users", "k"), nullptr);
  const Timestamp& ts = g.OwnerRecord("users", "k")->ts;
  EXPECT_TRUE(ts.millis > 1'900'000 || (ts.millis == 1'900'000 && ts.counter > 7)) << ts.ToString();
  g.client(0).Set("users", "k2", Doc(2), msg::WriteConcern::kApplied);
  g.Run(500);  // A second sync: a copy is durable, so the old page goes.
  const std::vector<std::string> pages = storage.List();
  EXPECT_FALSE(std::binary_search(pages.begin(), pages.end(), "H"));
  EXPECT_TRUE(std::binary_search(pages.begin(), pages.end(), "H.1"));
  EXPECT_TRUE(std::binary_search(pages.begin(), pages.end(), "H.2"));
}

// Record pages are packed (engine/wire/packed_record.h) since 2026-12-03; the whole-message pages
// of older builds still restore, on servers and clients, and a torn packed page is discarded.
TEST(GridStorageErrors, RecordPagesOfOlderBuildsStillRestore) {
  const auto old_page = [](uint32_t p, msg::StatePurpose purpose) {
    const LwwRecord record{Doc(3), {1'000'000, 0, "c9"}, std::nullopt};
    msg::PartitionState one{0, p, purpose, {msg::MapRecords{"users", {{"old", record}}}}, {}};
    return EncodeMessage(msg::Envelope{"s0", one});
  };
  const uint32_t p = PartitionOf("old");
  Grid g(1);
  g.client(0).Set("users", "new", Doc(4), msg::WriteConcern::kApplied);
  g.Run(500);
  FlakyStorage& server_disk = g.server_hosts[0]->storage;
  FlakyStorage& client_disk = g.client_hosts[0]->storage;
  const std::string new_server_page = fmt::format("R/{}/5/users/new", PartitionOf("new"));
  ASSERT_TRUE(server_disk.Read(new_server_page).ok());
  EXPECT_TRUE(server_disk.Read(new_server_page)->starts_with("r"));
  EXPECT_TRUE(client_disk.Read("R/5/users/new")->starts_with("r"));

  g.CrashServer(0);
  ASSERT_TRUE(
      server_disk
          .Write(fmt::format("R/{}/5/users/old", p), old_page(p, msg::StatePurpose::kHandoff))
          .ok());
  // A packed page torn one byte short, under its own name (so only the tear can refuse it).
  const std::string torn =
      EncodeRecordPage("users", "torn", LwwRecord{Doc(5), {1'000'001, 0, "c9"}, std::nullopt});
  ASSERT_TRUE(server_disk
                  .Write(fmt::format("R/{}/5/users/torn", PartitionOf("torn")),
                         torn.substr(0, torn.size() - 1))
                  .ok());
  ASSERT_TRUE(server_disk.Sync().ok());
  g.StartServer(0);
  EXPECT_EQ(g.server(0).stats().torn_pages_discarded, 1u);
  ASSERT_NE(g.server(0).partition(p), nullptr);
  ASSERT_NE(g.server(0).partition(p)->maps.at("users")->Get("old"), nullptr);
  EXPECT_EQ(*g.server(0).partition(p)->maps.at("users")->Get("old"), Doc(3));

  g.client_hosts[0]->client.reset();
  ASSERT_TRUE(client_disk.Write("R/5/users/old", old_page(p, msg::StatePurpose::kClientLeaf)).ok());
  ASSERT_TRUE(client_disk.Sync().ok());
  g.OpenClient(0);
  EXPECT_EQ(g.client(0).stats().torn_pages_discarded, 0u);
  ASSERT_NE(g.client(0).Get("users", "old"), nullptr);
  EXPECT_EQ(*g.client(0).Get("users", "old"), Doc(3));
  EXPECT_EQ(*g.client(0).Get("users", "new"), Doc(4));
}

TEST(GridStorageAcks, StatesHandledBeforeTheCommitShareOneSyncAndAreAcknowledgedAfterIt) {
  Grid g(2, 0);
  msg::PartitionStates batch;
  absl::btree_set<uint32_t> partitions;
  for (uint64_t n = 0; partitions.size() < 3; ++n) {
    const std::string key = "k" + std::to_string(n);
    if (!partitions.insert(PartitionOf(key)).second) continue;
    batch.states.push_back(msg::PartitionState{
        9000 + n,
        PartitionOf(key),
        msg::StatePurpose::kReplicate,
        {msg::MapRecords{
            "users",
            {msg::LwwEntry{key, LwwRecord{Doc(static_cast<int>(n)), Timestamp{5, 0, "s0"}}}}}},
        {}});
  }
  FlakyStorage& disk = g.server_hosts[1]->storage;
  ManualTimers& timers = g.server_hosts[1]->timers;
  const uint64_t syncs = disk.syncs;
  ASSERT_TRUE(g.network.Send("s0", "s1", EncodeMessage(msg::Envelope{"s0", batch})).ok());
  ASSERT_TRUE(g.network.DeliverNext());
  EXPECT_EQ(disk.syncs - syncs, 0u);  // Merged; the acks wait for the group commit...
  EXPECT_TRUE(g.state_acks.empty());
  // ...which a second message handled before it joins: one sync for both messages' states.
  msg::PartitionState late = batch.states[0];
  late.id = 9500;
  ASSERT_TRUE(g.network.Send("s0", "s1", EncodeMessage(msg::Envelope{"s0", late})).ok());
  ASSERT_TRUE(g.network.DeliverNext());
  timers.RunDue();
  EXPECT_EQ(disk.syncs - syncs, 1u);
  ASSERT_EQ(g.state_acks.size(), 4u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(g.state_acks[i].batch_id, batch.states[i].id);
  EXPECT_EQ(g.state_acks[3].batch_id, 9500u);
  // A failing sync acknowledges none of them.
  disk.fail_syncs = true;
  for (auto& state : batch.states) state.id += 100;
  ASSERT_TRUE(g.network.Send("s0", "s1", EncodeMessage(msg::Envelope{"s0", batch})).ok());
  ASSERT_TRUE(g.network.DeliverNext());
  timers.RunDue();
  EXPECT_EQ(g.state_acks.size(), 4u);
}

}  // namespace
}  // namespace seedgrid
