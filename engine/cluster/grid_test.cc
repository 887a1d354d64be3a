// Grid servers and clients on hand-driven Env parts: the write path and its concerns, exactly-once
// op logs, failover, migration, offline clients, restart from memory and from a SQLite file, and
// bad input. Seeded scenarios with faults run in scenarios/ (grid_cluster).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "engine/cluster/grid_testing.h"
#include "engine/env/mem_storage.h"
#include "engine/env/real/sqlite_storage.h"
#include "engine/env/xoshiro.h"
#include "engine/wire/codec.h"

namespace seedgrid {
namespace {

using grid_testing::Doc;
using grid_testing::Grid;
using grid_testing::Host;

TEST(Grid, BadServerOptionsAreRejectedWithTheReason) {
  Host h;
  Xoshiro256 random{1};
  QueueNetwork network;
  Env env{h.clock, random, network, h.timers, h.storage};
  const auto error_of = [&](GridServerOptions o) {
    auto s = GridServer::Open(env, std::move(o));
    return s.ok() ? std::string("ok") : std::string(s.status().message());
  };
  EXPECT_EQ(error_of({.node_id = "s0", .seeds = {"s0"}, .tombstone_grace_ms = 0}),
            "grid server: timer intervals, query_lease_ms and tombstone_grace_ms must be positive");
  EXPECT_EQ(error_of({.node_id = "s0", .seeds = {"s1"}}),
            "grid server: 's0' is not among the seeds; set join to add it at run time");
  EXPECT_EQ(error_of({.node_id = "s0", .seeds = {"s0", "s0"}}), "grid server: duplicate seed");
  EXPECT_EQ(error_of({.node_id = "s0",
                      .seeds = {"s0"},
                      .heartbeat_interval_ms = 500,
                      .suspect_after_ms = 500}),
            "grid server: suspect_after_ms must exceed heartbeat_interval_ms");
}

TEST(Grid, ServersAgreeOnTheInitialTable) {
  Grid g(3, 0);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(g.server(i).table().version(), 1u);
    EXPECT_EQ(g.server(i).table().members(), g.server_ids);
  }
}

TEST(Grid, WritesAreLocalFirstThenReplicatedAndAcknowledged) {
  Grid g(3);
  g.client(0).Set("users", "alice", Doc(1), msg::WriteConcern::kReplicated);
  // Readable at once, before any message moved.
  ASSERT_NE(g.client(0).Get("users", "alice"), nullptr);
  g.Run(500);
  ASSERT_EQ(g.acks.size(), 1u);
  EXPECT_EQ(g.acks[0].second.level, msg::WriteConcern::kReplicated);
  EXPECT_TRUE(g.client(0).op_log().empty());
  const uint32_t p = PartitionOf("alice");
  int holders = 0;
  for (int i = 0; i < 3; ++i) {
    const GridPartition* part = g.server(i).partition(p);
    if (part == nullptr || !part->maps.contains("users")) continue;
    const LwwRecord* r = part->maps.at("users")->GetRecord("alice");
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->ts, g.acks[0].second.ts);  // The server's stamp, not the client's.
    EXPECT_EQ(r->ts.node_id, g.server(0).table().owner(p));
    ++holders;
  }
  EXPECT_EQ(holders, 2);  // Owner and one backup.
  // The client adopted the server's stamp through sync.
  g.Run(1500);
  EXPECT_EQ(g.client(0).maps().at("users")->GetRecord("alice")->ts, g.acks[0].second.ts);
}

TEST(Grid, ResentOpsAreAppliedOnce) {
  Grid g(3);
  for (int i = 0; i < 50; ++i) {
    g.client(0).Set("users", "k" + std::to_string(i), Doc(i), msg::WriteConcern::kApplied);
  }
  // Deliver nothing for a while so the client resends the same ops several times.
  for (int step = 0; step < 5; ++step) {
    g.now_ms += 100;
    g.client_hosts[0]->clock.SetMs(g.now_ms);
    g.client_hosts[0]->timers.RunDue();
  }
  g.Run(1000);
  EXPECT_TRUE(g.client(0).op_log().empty());
  EXPECT_EQ(g.applied.size(), 50u);
  for (const auto& [op, count] : g.applied) EXPECT_EQ(count, 1) << op.first << " " << op.second;
  uint64_t duplicates = 0;
  for (int i = 0; i < 3; ++i) duplicates += g.server(i).stats().ops_duplicate;
  EXPECT_GT(duplicates, 0u);
}

TEST(Grid, OfflineClientWorksLocallyAndConvergesOnReconnect) {
  Grid g(3, 2);
  g.client(1).Set("users", "shared", Doc(1));
  g.Run(500);
  g.client(0).GoOffline();
  for (int i = 0; i < 20; ++i) g.client(0).Set("users", "off" + std::to_string(i), Doc(i));
  EXPECT_NE(g.client(0).Get("users", "off3"), nullptr);
  g.Run(3000);
  EXPECT_EQ(g.client(0).op_log().size(), 20u);  // Nothing left while offline.
  g.client(0).GoOnline();
  g.Run(3000);
  EXPECT_TRUE(g.client(0).op_log().empty());
  EXPECT_EQ(g.client(0).MapRoot("users"), g.client(1).MapRoot("users"));
  ASSERT_NE(g.client(1).Get("users", "off3"), nullptr);
  ASSERT_NE(g.client(0).Get("users", "shared"), nullptr);
}

TEST(Grid, TombstonesArePrunedAfterTheGraceAndNeverResurrected) {
  Grid g(2, 2, /*tombstone_grace_ms=*/2000);
  g.client(0).Set("m", "k", Doc(1), msg::WriteConcern::kReplicated);
  g.client(1).Open("m");
  g.Run(2500);
  ASSERT_NE(g.client(1).Get("m", "k"), nullptr);
  const LwwRecord old_value = *g.client(1).maps().at("m")->GetRecord("k");
  g.client(1).GoOffline();  // It keeps the value through the delete and the GC.
  g.client(0).Remove("m", "k", msg::WriteConcern::kReplicated);
  g.Run(1000);
  ASSERT_NE(g.OwnerRecord("m", "k"), nullptr);  // The tombstone, within its grace.
  EXPECT_TRUE(g.OwnerRecord("m", "k")->tombstone());
  g.Run(8000);
  const uint32_t p = PartitionOf("k");
  uint64_t pruned = 0;
  for (int i = 0; i < 2; ++i) {
    const GridPartition* part = g.server(i).partition(p);
    ASSERT_NE(part, nullptr);
    EXPECT_EQ(part->maps.at("m")->GetRecord("k"), nullptr) << "server " << i;
    EXPECT_GT(part->pruned_below_ms, old_value.ts.millis) << "server " << i;
    pruned += g.server(i).stats().tombstones_pruned;
  }
  EXPECT_EQ(pruned, 1u);  // The owner prunes; the backup adopts the watermark.
  EXPECT_EQ(g.client(0).Get("m", "k"), nullptr);
  EXPECT_EQ(g.client(0).maps().at("m")->GetRecord("k"), nullptr);  // Its tombstone is gone too.

  // A stale replica's state (a client repair here) with the deleted value is refused.
  const NodeId& owner = g.server(0).table().owner(p);
  GridServer& o = g.server(owner == "s0" ? 0 : 1);
  msg::PartitionState stale{
      0, p, msg::StatePurpose::kClientRepair, {{"m", {{"k", old_value}}}}, {}};
  const uint64_t refused_before = o.stats().records_refused;
  o.HandleMessage("c9", EncodeMessage(msg::Envelope{"c9", stale}));
  EXPECT_EQ(o.stats().records_refused, refused_before + 1);
  EXPECT_EQ(g.OwnerRecord("m", "k"), nullptr);

  // The offline client comes back holding the value: it forgets it rather than repairing it.
  g.client(1).GoOnline();
  g.Run(4000);
  EXPECT_EQ(g.client(1).Get("m", "k"), nullptr);
  EXPECT_EQ(g.client(1).stats().records_forgotten, 1u);
  EXPECT_EQ(g.OwnerRecord("m", "k"), nullptr);
  EXPECT_EQ(g.client(1).MapRoot("m"), g.client(0).MapRoot("m"));
}

// The replayed stream of a live query and the expected rows from a converged client's replica.
struct Stream {
  std::map<std::string, Document> rows;
  int resyncs_seen = 0;
  QueryEngine::DeltaCallback Callback() {
    return [this](const LiveDelta& d) {
      if (d.kind == DeltaKind::kLeave) {
        rows.erase(std::string(d.row.key));
      } else {
        rows[std::string(d.row.key)] = *d.row.value;
      }
    };
  }
};
std::map<std::string, Document> AtLeast(GridClient& c, const std::string& map, int64_t v) {
  std::map<std::string, Document> out;
  for (const auto& [key, record] : c.maps().at(map)->records()) {
    if (record.tombstone()) continue;
    const std::optional<ValueView> f = record.value->Get("v");
    if (f.has_value() && f->int_value() >= v) out[key] = *record.value;
  }
  return out;
}

TEST(Grid, LiveQueriesStreamAcrossPartitionsAndResyncAfterFailoverAndReconnect) {
  Grid g(3, 2);
  Stream stream;
  auto id = g.client(1).Subscribe("m", Query{Gte("v", Value{int64_t{5}}), {}, std::nullopt},
                                  stream.Callback());
  ASSERT_TRUE(id.ok()) << id.status();
  for (int i = 0; i < 40; ++i) {
    g.client(0).Set("m", "k" + std::to_string(i), Doc(i % 10), msg::WriteConcern::kReplicated);
  }
  g.Run(3000);
  EXPECT_EQ(stream.rows.size(), 20u);
  EXPECT_EQ(stream.rows, AtLeast(g.client(0), "m", 5));
  g.client(0).Set("m", "k5", Doc(1));  // leaves
  g.client(0).Set("m", "k0", Doc(9));  // enters
  g.client(0).Remove("m", "k9");       // leaves
  g.Run(1500);
  EXPECT_EQ(stream.rows, AtLeast(g.client(0), "m", 5));
  EXPECT_FALSE(stream.rows.contains("k5"));
  EXPECT_TRUE(stream.rows.contains("k0"));

  // Failover: a server dies; its partitions' rows now come from the new owners.
  g.CrashServer(1);
  g.Run(4000);
  g.client(0).Set("m", "k41", Doc(7));
  g.client(0).Set("m", "k19", Doc(0));
  g.Run(3000);
  EXPECT_EQ(stream.rows, AtLeast(g.client(0), "m", 5));
  EXPECT_TRUE(stream.rows.contains("k41"));

  // Reconnect: changes made while the subscriber was offline arrive as a resync.
  g.client(1).GoOffline();
  g.client(0).Set("m", "k42", Doc(8));
  g.client(0).Set("m", "k29", Doc(2));
  g.Run(2000);
  EXPECT_FALSE(stream.rows.contains("k42"));
  g.client(1).GoOnline();
  g.Run(3000);
  EXPECT_EQ(stream.rows, AtLeast(g.client(0), "m", 5));
  EXPECT_TRUE(stream.rows.contains("k42"));
  EXPECT_FALSE(stream.rows.contains("k29"));
  std::vector<std::string> result_keys;
  for (const RowRef& r : g.client(1).subscription(*id)->Result()) result_keys.emplace_back(r.key);
  EXPECT_EQ(result_keys.size(), stream.rows.size());

  // Unsubscribing stops the stream; the servers drop it.
  EXPECT_TRUE(g.client(1).Unsubscribe(*id));
  g.Run(1000);
  for (int i : {0, 2}) EXPECT_EQ(g.server(i).queries().subscriptions(), 0u) << i;
}

TEST(Grid, LiveQueriesWithALimitMergeEveryServersTopN) {
  Grid g(3, 2);
  Stream stream;
  auto id = g.client(1).Subscribe("m", Query{All(), {SortField{"v", /*descending=*/true}}, 3},
                                  stream.Callback());
  ASSERT_TRUE(id.ok());
  for (int i = 0; i < 30; ++i) g.client(0).Set("m", "k" + std::to_string(i), Doc(i));
  g.Run(3000);
  std::vector<std::string> keys;
  for (const RowRef& r : g.client(1).subscription(*id)->Result()) keys.emplace_back(r.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"k29", "k28", "k27"}));
  EXPECT_EQ(stream.rows.size(), 3u);
  g.client(0).Remove("m", "k28");
  g.Run(1500);
  keys.clear();
  for (const RowRef& r : g.client(1).subscription(*id)->Result()) keys.emplace_back(r.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"k29", "k27", "k26"}));
  EXPECT_TRUE(stream.rows.contains("k26"));
  EXPECT_FALSE(stream.rows.contains("k28"));
  EXPECT_FALSE(g.client(1).Subscribe("m", Query{All(), {}, {}}, nullptr).ok());
  EXPECT_FALSE(g.client(1).Subscribe("", Query{All(), {}, {}}, stream.Callback()).ok());
}

TEST(Grid, FailoverKeepsReplicatedWritesAndTheTableConverges) {
  Grid g(3);
  for (int i = 0; i < 100; ++i) {
    g.client(0).Set("users", "k" + std::to_string(i), Doc(i), msg::WriteConcern::kReplicated);
  }
  g.Run(1000);
  ASSERT_EQ(g.acks.size(), 100u);
  g.CrashServer(1);
  g.Run(3000);
  EXPECT_EQ(g.server(0).table().members(), (std::vector<NodeId>{"s0", "s2"}));
  EXPECT_TRUE(g.server(0).table().SameAs(g.server(2).table()));
  for (const auto& [op, ack] : g.acks) {
    const LwwRecord* r = g.OwnerRecord("users", op.key);
    ASSERT_NE(r, nullptr) << op.key;
    EXPECT_GE(r->ts, ack.ts);
  }
  // Writes continue after the failover, and the restarted server rejoins from its storage.
  g.client(0).Set("users", "after", Doc(1), msg::WriteConcern::kReplicated);
  g.StartServer(1);
  g.Run(4000);
  EXPECT_EQ(g.acks.size(), 101u);
  EXPECT_EQ(g.server(1).table().members(), g.server_ids);
  EXPECT_TRUE(g.server(0).table().SameAs(g.server(1).table()));
  for (const auto& [op, ack] : g.acks) {
    const LwwRecord* r = g.OwnerRecord("users", op.key);
    ASSERT_NE(r, nullptr) << op.key;
    EXPECT_GE(r->ts, ack.ts);
  }
  for (const auto& [op, count] : g.applied) EXPECT_EQ(count, 1);
}

TEST(Grid, JoinAndLeaveMigratePartitions) {
  Grid g(2);
  for (int i = 0; i < 200; ++i) {
    g.client(0).Set("users", "k" + std::to_string(i), Doc(i), msg::WriteConcern::kReplicated);
  }
  g.Run(1000);
  // s2 joins at run time.
  g.server_ids.push_back("s2");
  g.server_hosts.push_back(g.MakeHost());
  GridServerOptions o = g.ServerOptions("s2");
  o.seeds = {"s0", "s1"};
  o.join = true;
  auto opened = GridServer::Open(*g.server_hosts[2]->env, o);
  ASSERT_TRUE(opened.ok());
  g.server_hosts[2]->server = std::move(*opened);
  g.Run(3000);
  EXPECT_EQ(g.server(0).table().members().size(), 3u);
  size_t owned = 0;
  for (uint32_t p = 0; p < kPartitionCount; ++p) {
    if (g.server(2).table().owner(p) == "s2") ++owned;
  }
  EXPECT_EQ(owned, 90u);  // 271 partitions over 3 members.
  // s0 leaves gracefully: it hands everything off.
  g.server(0).Leave();
  g.Run(4000);
  EXPECT_TRUE(g.server(0).left());
  EXPECT_EQ(g.server(1).table().members(), (std::vector<NodeId>{"s1", "s2"}));
  for (const auto& [op, ack] : g.acks) {
    const LwwRecord* r = g.OwnerRecord("users", op.key);
    ASSERT_NE(r, nullptr) << op.key;
    EXPECT_GE(r->ts, ack.ts);
  }
}

TEST(Grid, ClientRestartsFromItsStorageWithItsOpLog) {
  Grid g(3);
  g.client(0).GoOffline();
  for (int i = 0; i < 10; ++i) g.client(0).Set("users", "k" + std::to_string(i), Doc(i));
  g.client_hosts[0]->client.reset();  // The process exits with the log unsent.
  g.OpenClient(0, 1);
  EXPECT_EQ(g.client(0).op_log().size(), 10u);
  EXPECT_NE(g.client(0).Get("users", "k3"), nullptr);
  g.Run(2000);
  EXPECT_TRUE(g.client(0).op_log().empty());
  EXPECT_EQ(g.applied.size(), 10u);
  // Never reuses a seq.
  EXPECT_EQ(g.client(0).Set("users", "k99", Doc(1)), 11u);
}

// A record's page is rewritten whenever it changes, not only when its key is new: a restarted
// client shows its own acknowledged update before it hears from any server.
TEST(Grid, ARestartedClientShowsItsLatestAcknowledgedUpdate) {
  Grid g(3);
  g.client(0).Set("users", "k", Doc(1));
  g.Run(2000);
  g.client(0).Set("users", "k", Doc(2));
  g.Run(2000);
  ASSERT_TRUE(g.client(0).op_log().empty());  // Both acknowledged: no op page holds Doc(2).
  g.client_hosts[0]->client.reset();
  g.OpenClient(0, 1);
  const Document* shown = g.client(0).Get("users", "k");
  ASSERT_NE(shown, nullptr);
  EXPECT_EQ(*shown, Doc(2));
}

// What the scenarios' grid_durability check of restarted clients relies on.
TEST(Grid, ARecordIsDurableOnceItsChangeIsSynced) {
  Grid g(3);
  g.client(0).GoOffline();
  g.client(0).Set("users", "k", Doc(1));  // A write outside BeginWrites syncs at once.
  EXPECT_TRUE(g.client(0).RecordDurable("users", "k"));
  g.client(0).BeginWrites();
  g.client(0).Set("users", "k", Doc(2));
  EXPECT_FALSE(g.client(0).RecordDurable("users", "k"));  // Changed, page not yet written.
  ASSERT_TRUE(g.client(0).EndWrites().ok());
  EXPECT_TRUE(g.client(0).RecordDurable("users", "k"));
}

TEST(Grid, SqliteBackedServerRestartsFromItsFile) {
  const std::string path = ::testing::TempDir() + "seedgrid_grid_server.db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  ManualClock clock{1'000'000};
  ManualTimers timers{clock};
  Xoshiro256 random{7};
  QueueNetwork network;
  const GridServerOptions options{.node_id = "s0", .seeds = {"s0"}};
  MemStorage client_storage;
  Env client_env{clock, random, network, timers, client_storage};
  auto client = GridClient::Open(client_env, {.node_id = "c0", .servers = {"s0"}});
  ASSERT_TRUE(client.ok());
  {
    auto storage = SqliteStorage::Open(path);
    ASSERT_TRUE(storage.ok()) << storage.status();
    Env env{clock, random, network, timers, **storage};
    auto server = GridServer::Open(env, options);
    ASSERT_TRUE(server.ok()) << server.status();
    (*client)->Set("users", "alice", Doc(7));
    for (int i = 0; i < 300; ++i) {
      clock.AdvanceMs(10);
      timers.RunDue();
      network.DeliverAll();
    }
    ASSERT_TRUE((*client)->op_log().empty());
  }  // The server process exits.
  auto storage = SqliteStorage::Open(path);
  ASSERT_TRUE(storage.ok());
  Env env{clock, random, network, timers, **storage};
  auto server = GridServer::Open(env, options);
  ASSERT_TRUE(server.ok()) << server.status();
  const GridPartition* part = (*server)->partition(PartitionOf("alice"));
  ASSERT_NE(part, nullptr);
  EXPECT_EQ(*part->maps.at("users")->GetRecord("alice")->value, Doc(7));
  EXPECT_EQ(part->applied.at("c0"), 1u);  // The applied mark survived: no re-application.
}

TEST(Grid, TornPagesAreDiscardedOnRestart) {
  Grid g(1);
  g.client(0).Set("users", "k", Doc(1));
  g.Run(500);
  ASSERT_TRUE(g.server_hosts[0]->storage.Write("R/1/5/users/zz", "\x01garbage").ok());
  ASSERT_TRUE(g.server_hosts[0]->storage.Sync().ok());
  g.server_hosts[0]->server.reset();
  g.StartServer(0);
  EXPECT_EQ(g.server(0).stats().torn_pages_discarded, 1u);
  g.Run(1500);  // A restarted server waits suspect_after_ms for the cluster before it serves.
  EXPECT_NE(g.OwnerRecord("users", "k"), nullptr);
}

TEST(Grid, GarbageMessagesAreCountedNotFatal) {
  Grid g(2, 0);
  ASSERT_TRUE(g.network.Send("x", "s0", "not a message").ok());
  msg::PartitionDigest bad;
  bad.pull = true;
  bad.requester = "x";
  bad.partitions = {1};
  bad.hashes = {0};
  ASSERT_TRUE(g.network.Send("x", "s0", EncodeMessage(msg::Envelope{"x", bad})).ok());
  g.Run(100);
  EXPECT_EQ(g.server(0).stats().decode_errors, 1u);
  EXPECT_GE(g.server(0).stats().protocol_errors, 1u);
}

// A leaf is the owner's whole partition: after merging it a client sends back exactly the records
// the owner lacks (here: every record, the owner's disk was replaced) — but never a record still
// stamped by the client itself, which only an owner's application may stamp (fuzzing found an
// owner holding a client's stamp after a repair carried a write whose acknowledgement had left
// the client's own stamp on it).
TEST(Grid, AClientRepairsWhatALeafLacksAndSettlesItsOwnClientStampedWritesToTheOwner) {
  Grid g(1);
  g.client(0).Set("users", "acked", Doc(1), msg::WriteConcern::kApplied);
  g.Run(500);
  ASSERT_TRUE(g.client(0).op_log().empty());
  ASSERT_EQ(g.client(0).maps().at("users")->GetRecord("acked")->ts.node_id, "s0");
  g.CrashServer(0);
  g.server_hosts[0]->storage.mem = MemStorage();  // The disk is replaced.
  // An acknowledgement that left the client's own stamp on its write (the owner never got it).
  g.client(0).Set("users", "mine", Doc(2), msg::WriteConcern::kFireAndForget);
  const uint64_t seq = g.client(0).op_log().rbegin()->first;
  const Timestamp own = g.client(0).maps().at("users")->GetRecord("mine")->ts;
  ASSERT_EQ(own.node_id, "c0");
  const msg::GridAck ack{{msg::GridOpAck{seq, own, msg::WriteConcern::kFireAndForget, false}}, ""};
  g.client(0).HandleMessage("s0", EncodeMessage(msg::Envelope{"s0", ack}));
  ASSERT_TRUE(g.client(0).op_log().empty());
  g.StartServer(0);
  g.Run(3000);  // Sync rounds: the owner's leaves lack both records.
  const LwwRecord* repaired = g.OwnerRecord("users", "acked");
  ASSERT_NE(repaired, nullptr);
  EXPECT_EQ(*repaired->value, Doc(1));
  EXPECT_EQ(repaired->ts.node_id, "s0");  // The owner's stamp, given back as it was.
  EXPECT_EQ(g.OwnerRecord("users", "mine"), nullptr);
  EXPECT_GE(g.client(0).stats().repairs_sent, 1u);
  // The grid never kept "mine": the client converges to its owner instead of differing for good.
  EXPECT_EQ(g.client(0).Get("users", "mine"), nullptr);
  EXPECT_EQ(g.client(0).stats().own_writes_settled, 1u);
}

TEST(Grid, AClientKeepsItsOwnPendingWriteAndTakesTheOwnersOlderRecordOnceAcknowledged) {
  Grid g(1);
  g.client(0).Set("users", "k", Doc(1), msg::WriteConcern::kApplied);
  g.Run(500);
  const Timestamp server_ts = g.client(0).maps().at("users")->GetRecord("k")->ts;
  ASSERT_EQ(server_ts.node_id, "s0");
  g.CrashServer(0);  // Its disk stays: it restarts holding k at server_ts.
  g.client(0).Set("users", "k", Doc(2), msg::WriteConcern::kApplied);
  const uint64_t seq = g.client(0).op_log().rbegin()->first;
  g.Run(1000);
  EXPECT_EQ(*g.client(0).Get("users", "k"), Doc(2));  // Pending: read-your-writes.
  // A duplicate's ack (no stamp of its application) while the owner holds only the older
  // record: the owner's version wins at the next leaf.
  const msg::GridAck ack{{msg::GridOpAck{seq, server_ts, msg::WriteConcern::kApplied, true}}, ""};
  g.client(0).HandleMessage("s0", EncodeMessage(msg::Envelope{"s0", ack}));
  ASSERT_TRUE(g.client(0).op_log().empty());
  EXPECT_EQ(*g.client(0).Get("users", "k"), Doc(2));  // Until a leaf says otherwise.
  g.StartServer(0);
  g.Run(3000);
  EXPECT_EQ(*g.client(0).Get("users", "k"), Doc(1));
  EXPECT_EQ(g.client(0).maps().at("users")->GetRecord("k")->ts, server_ts);
  EXPECT_EQ(g.client(0).stats().own_writes_settled, 1u);
}

// A WebSocket client with nothing to push or wait for arms no push timer (grid_scale: most of
// its 500 clients' 200 ms ticks found nothing to do); a write re-arms it on the client's own
// schedule — pushed at the next tick slot, not one interval after the write.
TEST(Grid, AnIdleClientArmsNoPushTimerAndAWriteIsPushedAtItsNextSlot) {
  Grid g(3);
  g.Run(300);  // Opened at t0 = 1,000,000 (push interval 100 ms); synced and idle at t0 + 1,500.
  ManualTimers& timers = g.client_hosts[0]->timers;
  const size_t idle_timers = timers.pending();
  g.Run(30);  // t0 + 1,530: the next slot is t0 + 1,600.
  g.client(0).Set("users", "alice", Doc(1), msg::WriteConcern::kApplied);
  EXPECT_EQ(timers.pending(), idle_timers + 1);
  g.Run(60);
  EXPECT_TRUE(g.applied.empty()) << "pushed before its slot";
  g.Run(10);
  EXPECT_EQ(g.applied.size(), 1u) << "not pushed at its slot";
  g.Run(100);
  EXPECT_TRUE(g.client(0).op_log().empty());
  // The acknowledgement came from the owner; the gateway's next answer (the sync at t0 + 2,000)
  // ends the wait for it, and the client is idle again.
  g.Run(500);
  EXPECT_EQ(timers.pending(), idle_timers);
}

// An acknowledged entry leaves the op log only once every older entry of its partition did: kept,
// it is resent with them, so an owner that lost both applies them again in order.
TEST(Grid, AnAcknowledgedEntryStaysBehindAnOlderUnacknowledgedOneOfItsPartition) {
  Grid g(1, 1);
  g.CrashServer(0);  // Nothing acknowledges but this test.
  std::string other = "k2";
  while (PartitionOf(other) == PartitionOf("k")) other += "x";
  GridClient& c = g.client(0);
  const uint64_t set = c.Set("users", "k", Doc(1));
  const uint64_t remove = c.Remove("users", "k");
  const uint64_t elsewhere = c.Set("users", other, Doc(3));
  g.Run(200);  // The entries become durable.
  const auto ack = [&g](uint64_t seq) {
    const msg::GridAck a{
        {msg::GridOpAck{seq, {5000 + seq, 0, "s0"}, msg::WriteConcern::kApplied, false}}, ""};
    ASSERT_TRUE(g.network.Send("s0", "c0", EncodeMessage(msg::Envelope{"s0", a})).ok());
    g.Run(10);
  };
  ack(remove);
  ack(elsewhere);
  std::vector<uint64_t> left;
  for (const auto& [seq, op] : c.op_log()) left.push_back(seq);
  EXPECT_EQ(left, (std::vector<uint64_t>{set, remove}));  // the remove waits for the set
  ack(remove);  // Acknowledged again: nothing new for the observers.
  EXPECT_EQ(g.acks.size(), 2u);
  ack(set);
  EXPECT_TRUE(c.op_log().empty());
  EXPECT_EQ(g.acks.size(), 3u);
}

}  // namespace
}  // namespace seedgrid
