#include "engine/replica/replica_node.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <memory>

#include "engine/base/buggify.h"
#include "engine/env/mem_storage.h"
#include "engine/env/real/sqlite_storage.h"
#include "engine/env/testing/flaky_storage.h"
#include "engine/env/testing/manual_env.h"
#include "engine/env/xoshiro.h"
#include "engine/wire/codec.h"
#include "engine/wire/packed_record.h"

namespace seedgrid {
namespace {

struct Node {
  ManualClock clock{1'000'000};
  ManualTimers timers{clock};
  FlakyStorage storage;
  std::unique_ptr<Env> env;
  std::unique_ptr<ReplicaNode> node;
};

struct Group {
  explicit Group(int n) {
    for (int i = 0; i < n; ++i) ids.push_back("n" + std::to_string(i));
    for (int i = 0; i < n; ++i) {
      nodes.push_back(std::make_unique<Node>());
      nodes.back()->env = std::make_unique<Env>(
          Env{nodes.back()->clock, random, network, nodes.back()->timers, nodes.back()->storage});
      Open(i);
    }
  }
  ReplicaNodeOptions Options(int i) {
    return ReplicaNodeOptions{.replica = {.node_id = ids[i]},
                              .peers = ids,
                              .flush_interval_ms = 50,
                              .anti_entropy_interval_ms = 200,
                              .indexes = {{"users", IndexKind::kHash, {"city"}}}};
  }
  void Open(int i) {
    auto opened = ReplicaNode::Open(*nodes[i]->env, Options(i));
    ASSERT_TRUE(opened.ok()) << opened.status();
    nodes[i]->node = std::move(*opened);
  }
  // Advances every clock by `ms` in 10 ms steps, running due timers and delivering messages.
  void Run(uint64_t ms) {
    for (uint64_t t = 0; t < ms; t += 10) {
      for (auto& n : nodes) {
        n->clock.AdvanceMs(10);
        n->timers.RunDue();
      }
      network.DeliverAll();
    }
  }
  ReplicaNode& at(int i) { return *nodes[i]->node; }
  Xoshiro256 random{3};
  QueueNetwork network;
  std::vector<NodeId> ids;
  std::vector<std::unique_ptr<Node>> nodes;
};

TEST(ReplicaNode, ATtlOfZeroIsRefusedAndNothingIsWritten) {
  Group g(1);
  LocalWrite<Timestamp> w = g.at(0).Set("users", "k", Document{{"city", "Oslo"}}, 0);
  EXPECT_EQ(w.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(w.status.message().find("ttl_ms must be positive"), std::string::npos) << w.status;
  EXPECT_EQ(g.at(0).replica().lww("users").GetRecord("k"), nullptr);
  EXPECT_TRUE(g.at(0).Set("users", "k", Document{{"city", "Oslo"}}, 1).ok());
}

TEST(ReplicaNode, ANameTheWireCannotCarryIsRefusedAndNothingIsWritten) {
  Group g(1);
  const std::string too_long(kMapNameBytesMax + 1, 'm');
  for (const std::string& name : {std::string(), too_long}) {
    LocalWrite<Timestamp> w = g.at(0).Set(name, "k", Document{{"city", "Oslo"}});
    EXPECT_EQ(w.status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(w.status.message().find("map name must be 1..1024 bytes"), std::string::npos)
        << w.status;
    EXPECT_EQ(g.at(0).Remove(name, "k").status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(g.at(0).Add(name, "k", Document{}).status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(g.at(0).RemoveValue(name, "k", Document{}).status.code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(g.at(0).Increment(name, 1).code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(g.at(0).Decrement(name, 1).code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(g.at(0).replica().lww_maps().empty());
  EXPECT_TRUE(g.at(0).replica().or_maps().empty());
  EXPECT_TRUE(g.at(0).replica().counters().empty());
  g.nodes[0]->node.reset();
  g.Open(0);  // Nothing undecodable was stored.
  EXPECT_TRUE(g.at(0).Set(std::string(kMapNameBytesMax, 'm'), "k", Document{}).ok());
}

// An idle node's flush timer stays unarmed (bench.json: 80 % of the replica timer events were
// idle flushes); a local write re-arms it on the node's own schedule, not one interval later.
TEST(ReplicaNode, AnIdleNodeArmsNoFlushTimerAndAWriteFlushesAtTheNextSlot) {
  Group g(2);
  Node& n0 = *g.nodes[0];
  g.Run(500);  // Opened at t0 = 1,000,000: one empty flush at t0 + 50, then idle.
  EXPECT_EQ(g.at(0).stats().flushes, 1u);
  const size_t idle_timers = n0.timers.pending();
  n0.clock.AdvanceMs(3);  // t0 + 503: the node's next flush slot is t0 + 550.
  ASSERT_TRUE(g.at(0).Set("users", "k", Document{{"city", "Oslo"}}).ok());
  EXPECT_EQ(n0.timers.pending(), idle_timers + 1);
  n0.clock.AdvanceMs(46);
  n0.timers.RunDue();
  g.network.DeliverAll();
  EXPECT_EQ(g.at(1).replica().lww("users").Get("k"), nullptr) << "flushed before its slot";
  n0.clock.AdvanceMs(1);
  n0.timers.RunDue();
  g.network.DeliverAll();
  ASSERT_NE(g.at(1).replica().lww("users").Get("k"), nullptr) << "not flushed at its slot";
  EXPECT_EQ(g.at(0).stats().flushes, 2u);
  EXPECT_EQ(n0.timers.pending(), idle_timers);  // Idle again.
}

TEST(ReplicaNode, ALocalWriteWhoseSyncFailedIsNotReportedDurable) {
  Group g(1);
  std::vector<std::string> failures;
  g.nodes[0]->storage.fail_syncs = true;
  LocalWrite<Timestamp> w = g.at(0).Set("users", "k", Document{{"city", "Oslo"}});
  EXPECT_FALSE(w.ok());
  EXPECT_NE(g.at(0).replica().lww("users").Get("k"), nullptr);  // Applied in memory all the same.
  EXPECT_FALSE(g.at(0).Add("tags", "k", Document{{"t", "x"}}).ok());
  EXPECT_FALSE(g.at(0).Increment("visits", 1).ok());
  EXPECT_EQ(g.at(0).stats().storage.sync_errors, 3u);
  g.nodes[0]->storage.fail_syncs = false;
  EXPECT_TRUE(g.at(0).Remove("users", "other").ok());  // Re-writes what the failures dropped.
  g.nodes[0]->node.reset();
  g.nodes[0]->storage.Crash();
  g.Open(0);
  EXPECT_NE(g.at(0).replica().lww("users").Get("k"), nullptr);
  EXPECT_GT(g.at(0).stats().pages_restored, 0u);
}

TEST(ReplicaNode, TimersFlushAndAntiEntropyConverge) {
  Group g(3);
  g.at(0).Set("users", "a", Document{{"city", "Oslo"}});
  g.at(1).Add("tags", "a", Document{{"t", "x"}});
  ASSERT_TRUE(g.at(2).Increment("visits", 5).ok());
  g.Run(500);
  for (int i = 0; i < 3; ++i) {
    ASSERT_NE(g.at(i).replica().lww_maps().count("users"), 0u) << i;
    EXPECT_EQ(g.at(i).replica().lww_maps().at("users")->size(), 1u);
    EXPECT_EQ(g.at(i).replica().or_maps().at("tags")->size(), 1u);
    EXPECT_EQ(g.at(i).replica().counters().at("visits")->value(), 5);
    ASSERT_NE(g.at(i).indexed_lww("users"), nullptr);
    auto page = g.at(i).indexed_lww("users")->Run(Query{Eq("city", "Oslo")});
    ASSERT_TRUE(page.ok());
    EXPECT_EQ(page->rows.size(), 1u);
  }
  EXPECT_GT(g.at(0).stats().anti_entropy_rounds, 0u);
}

TEST(ReplicaNode, DecrementsGoToTheNegativeTotalAndSurviveARestart) {
  Group g(3);
  ASSERT_TRUE(g.at(0).Increment("visits", 5).ok());
  ASSERT_TRUE(g.at(1).Decrement("visits", 2).ok());
  ASSERT_TRUE(g.at(0).Decrement("visits", 4).ok());
  const PnState& own = g.at(0).replica().counters().at("visits")->state();
  EXPECT_EQ(own.at("n0"), (PnTotals{5, 4}));  // N half, not a negative increment.
  g.Run(500);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(g.at(i).replica().counters().at("visits")->value(), -1) << i;
  }
  g.nodes[1]->node.reset();
  g.nodes[1]->storage.Crash();
  g.Open(1);
  EXPECT_EQ(g.at(1).replica().counters().at("visits")->state().at("n1"), (PnTotals{0, 2}));
  g.Run(500);
  EXPECT_EQ(g.at(1).replica().counters().at("visits")->value(), -1);
}

TEST(ReplicaNode, RestartRestoresDataAndNeverReusesATimestamp) {
  Group g(2);
  const Timestamp before = g.at(0).Set("users", "k", Document{{"city", "Rome"}}).value;
  g.at(0).Add("tags", "k", Document{{"t", "y"}});
  ASSERT_TRUE(g.at(0).Increment("visits", 2).ok());
  g.nodes[0]->node.reset();  // Crash: volatile state is gone.
  g.nodes[0]->storage.Crash();
  g.nodes[0]->clock.SetMs(1'000'000 - 5'000);  // ...and the clock stepped back on restart.
  g.Open(0);
  const Replica& r = g.at(0).replica();
  ASSERT_NE(r.lww_maps().count("users"), 0u);
  EXPECT_EQ(r.lww_maps().at("users")->GetRecord("k")->ts, before);
  EXPECT_EQ(r.or_maps().at("tags")->size(), 1u);
  EXPECT_EQ(r.counters().at("visits")->value(), 2);
  EXPECT_GT(g.at(0).stats().pages_restored, 0u);
  EXPECT_GT(g.at(0).Set("users", "k2", Document{}).value, before);
  auto page = g.at(0).indexed_lww("users")->Run(Query{Eq("city", "Rome")});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->rows.size(), 1u);  // The index is rebuilt from the restored rows.
}

TEST(ReplicaNode, CrashLosesOnlyUnsyncedMergesWhichAntiEntropyRefetches) {
  Group g(2);
  g.at(1).Set("users", "remote", Document{{"city", "Lima"}});
  g.Run(100);  // Flushed to n0, merged there but not synced by n0.
  ASSERT_NE(g.at(0).replica().lww_maps().count("users"), 0u);
  g.nodes[0]->node.reset();
  g.nodes[0]->storage.Crash();
  g.Open(0);
  EXPECT_EQ(g.at(0).replica().lww_maps().count("users"), 0u);
  g.Run(1000);
  ASSERT_NE(g.at(0).replica().lww_maps().count("users"), 0u);
  EXPECT_NE(g.at(0).replica().lww_maps().at("users")->GetRecord("remote"), nullptr);
}

TEST(ReplicaNode, UndecodablePageIsDataLossNamingThePage) {
  Group g(1);
  g.nodes[0]->node.reset();
  ASSERT_TRUE(g.nodes[0]->storage.Write("L/5/users/x", "garbage").ok());
  auto opened = ReplicaNode::Open(*g.nodes[0]->env, g.Options(0));
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(opened.status().message().find("L/5/users/x"), std::string_view::npos);
  ASSERT_TRUE(g.nodes[0]->storage.Write("H.1", "999999999 12 x$").ok());  // Newest, whole, no HLC.
  ASSERT_TRUE(g.nodes[0]->storage.Delete("L/5/users/x").ok());
  opened = ReplicaNode::Open(*g.nodes[0]->env, g.Options(0));
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kDataLoss);
}

TEST(ReplicaNode, RecordPagesAreOneRecordPackedAndPagesOfOlderBuildsStillRestore) {
  Group g(1);
  const Timestamp ts = g.at(0).Set("users", "k", Document{{"city", "Rome"}}).value;
  const absl::StatusOr<std::string> page = g.nodes[0]->storage.Read("L/5/users/k");
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(IsPackedRecordPage(*page));
  EXPECT_EQ(*page, EncodeRecordPage("users", "k",
                                    *g.at(0).replica().lww_maps().at("users")->GetRecord("k")));
  g.nodes[0]->node.reset();
  // An older build's page of another key: a whole OpBatch message.
  const LwwRecord old{Document{{"city", "Oslo"}}, Timestamp{999'000, 0, "n9"}, std::nullopt};
  ASSERT_TRUE(g.nodes[0]
                  ->storage
                  .Write("L/5/users/old", EncodeMessage(msg::Envelope{
                                              "n0", msg::OpBatch{0, "users", {{"old", old}}, {}}}))
                  .ok());
  g.Open(0);
  const LwwMap& users = *g.at(0).replica().lww_maps().at("users");
  ASSERT_NE(users.GetRecord("k"), nullptr);
  EXPECT_EQ(users.GetRecord("k")->ts, ts);
  ASSERT_NE(users.GetRecord("old"), nullptr);
  EXPECT_EQ(users.GetRecord("old")->ts, old.ts);
}

TEST(ReplicaNode, ATornOrMisplacedRecordPageIsDataLossNamingThePage) {
  Group g(1);
  g.nodes[0]->node.reset();
  const std::string whole = EncodeRecordPage(
      "users", "k", LwwRecord{Document{{"city", "Rome"}}, Timestamp{5, 0, "n0"}, {}});
  ASSERT_TRUE(g.nodes[0]->storage.Write("L/5/users/k", whole.substr(0, whole.size() - 1)).ok());
  auto opened = ReplicaNode::Open(*g.nodes[0]->env, g.Options(0));
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(opened.status().message().find("page 'L/5/users/k'"), std::string_view::npos);
  ASSERT_TRUE(g.nodes[0]->storage.Write("L/5/users/k", whole).ok());
  ASSERT_TRUE(g.nodes[0]->storage.Write("L/5/users/j", whole).ok());  // k's record on j's page
  opened = ReplicaNode::Open(*g.nodes[0]->env, g.Options(0));
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(opened.status().message().find("page 'L/5/users/j'"), std::string_view::npos)
      << opened.status();
}

TEST(ReplicaNode, BadOptionsAreInvalidArgument) {
  Group g(1);
  ReplicaNodeOptions o = g.Options(0);
  o.flush_interval_ms = 0;
  EXPECT_EQ(ReplicaNode::Open(*g.nodes[0]->env, o).status().code(),
            absl::StatusCode::kInvalidArgument);
  o = g.Options(0);
  o.indexes.push_back({"users", IndexKind::kHash, {}});  // An index needs a field.
  auto bad = ReplicaNode::Open(*g.nodes[0]->env, o);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("index on map 'users'"), std::string_view::npos)
      << bad.status();
}

TEST(ReplicaNode, RestartsFromARealSqliteFile) {
  const std::string path = ::testing::TempDir() + "seedgrid_replica_node.db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  ManualClock clock{1'000'000};
  ManualTimers timers{clock};
  Xoshiro256 random{7};
  QueueNetwork network;
  const ReplicaNodeOptions options{.replica = {.node_id = "n0"},
                                   .peers = {"n0"},
                                   .indexes = {{"users", IndexKind::kHash, {"city"}}}};
  Timestamp written;
  {
    auto storage = SqliteStorage::Open(path);
    ASSERT_TRUE(storage.ok()) << storage.status();
    Env env{clock, random, network, timers, **storage};
    auto node = ReplicaNode::Open(env, options);
    ASSERT_TRUE(node.ok()) << node.status();
    written = (*node)->Set("users", "k", Document{{"city", "Oslo"}}).value;
    (*node)->Add("tags", "k", Document{{"t", "x"}});
    ASSERT_TRUE((*node)->Increment("visits", 3).ok());
  }                      // The process "exits": node and database closed.
  clock.SetMs(999'000);  // The clock is behind on restart.
  auto storage = SqliteStorage::Open(path);
  ASSERT_TRUE(storage.ok()) << storage.status();
  Env env{clock, random, network, timers, **storage};
  auto node = ReplicaNode::Open(env, options);
  ASSERT_TRUE(node.ok()) << node.status();
  const Replica& r = (*node)->replica();
  EXPECT_EQ(r.lww_maps().at("users")->GetRecord("k")->ts, written);
  EXPECT_EQ(r.or_maps().at("tags")->size(), 1u);
  EXPECT_EQ(r.counters().at("visits")->value(), 3);
  EXPECT_GT((*node)->Set("users", "k2", Document{}).value, written);  // Never reissues a timestamp.
  auto page = (*node)->indexed_lww("users")->Run(Query{Eq("city", "Oslo")});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->rows.size(), 1u);
}

TEST(Buggify, FalseOutsideSimulationAndSeededInside) {
  EXPECT_FALSE(SG_BUGGIFY());
  const auto site = [] { return SG_BUGGIFY(); };  // One site (one file:line).
  int fired_a = 0, fired_b = 0;
  for (uint64_t seed = 0; seed < 400; ++seed) {
    BuggifyContext a(seed), b(seed);
    {
      ScopedBuggify scope(&a);
      for (int i = 0; i < 20; ++i) fired_a += site();
    }
    {
      ScopedBuggify scope(&b);
      for (int i = 0; i < 20; ++i) fired_b += site();
    }
    EXPECT_EQ(a.sites().size(), 1u);
  }
  EXPECT_EQ(fired_a, fired_b);  // Same seed, same decisions.
  // About 1/4 of seeds enable the site, then 1/4 of evaluations fire: ~400 * 20 / 16 = 500.
  EXPECT_GT(fired_a, 250);
  EXPECT_LT(fired_a, 800);
  EXPECT_FALSE(SG_BUGGIFY());  // The scope restored "no context".
}

}  // namespace
}  // namespace seedgrid
