#include "engine/replica/replica.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <memory>

#include "engine/env/mem_storage.h"
#include "engine/env/testing/manual_env.h"
#include "engine/env/xoshiro.h"
#include "engine/wire/codec.h"

namespace seedgrid {
namespace {

// N replicas on one FIFO network, each with its own skewed clock.
struct Cluster {
  explicit Cluster(int n, uint64_t skew_step_ms = 700) {
    for (int i = 0; i < n; ++i) {
      auto node = std::make_unique<Node>();
      node->clock.SetMs(1'000'000 + i * skew_step_ms);
      node->env =
          std::make_unique<Env>(Env{node->clock, random, network, node->timers, node->storage});
      node->replica =
          std::make_unique<Replica>(*node->env, ReplicaOptions{.node_id = "n" + std::to_string(i)});
      ids.push_back(node->replica->node_id());
      nodes.push_back(std::move(node));
    }
  }
  struct Node {
    ManualClock clock;
    ManualTimers timers{clock};
    MemStorage storage;
    std::unique_ptr<Env> env;
    std::unique_ptr<Replica> replica;
  };
  Replica& r(int i) { return *nodes[i]->replica; }
  void SyncAll() {
    for (auto& a : nodes) {
      for (const NodeId& peer : ids) {
        if (peer != a->replica->node_id()) a->replica->SyncWith(peer);
      }
    }
    network.DeliverAll();
  }
  Xoshiro256 random{1};
  QueueNetwork network;
  std::vector<std::unique_ptr<Node>> nodes;
  std::vector<NodeId> ids;
};

TEST(Replica, FlushReplicatesWritesAsOpBatches) {
  Cluster c(3);
  c.r(0).lww("users").Set("alice", Document{{"age", int64_t{30}}});
  c.r(1).orm("tags").Add("post1", Document{{"t", std::string("x")}});
  ASSERT_TRUE(c.r(2).counter("hits").Increment(3).ok());
  for (int i = 0; i < 3; ++i) c.r(i).Flush(c.ids);
  c.network.DeliverAll();
  for (int i = 0; i < 3; ++i) {
    ASSERT_NE(c.r(i).lww("users").Get("alice"), nullptr) << i;
    EXPECT_EQ(c.r(i).orm("tags").Get("post1").size(), 1u);
    EXPECT_EQ(c.r(i).counter("hits").value(), 3);
    EXPECT_EQ(c.r(i).stats().merge_errors, 0u);
  }
}

TEST(Replica, MerklePullRepairsLostWrites) {
  Cluster c(2);
  for (int k = 0; k < 500; ++k) {
    c.r(k % 2).lww("m").Set("key" + std::to_string(k), Document{{"v", int64_t{k}}});
  }
  c.r(0).orm("o").Add("a", Document{{"v", true}});
  // Never flushed: only anti-entropy can converge them.
  EXPECT_NE(c.r(0).lww("m").merkle().root(), c.r(1).lww("m").merkle().root());
  c.SyncAll();
  EXPECT_EQ(c.r(0).lww("m").merkle().root(), c.r(1).lww("m").merkle().root());
  EXPECT_EQ(c.r(0).lww("m").size(), 500u);
  EXPECT_EQ(c.r(1).orm("o").Get("a").size(), 1u);
  EXPECT_GT(c.r(1).stats().leaves_pulled, 0u);
  // A second round finds equal roots and pulls nothing.
  const uint64_t pulled = c.r(0).stats().leaves_pulled + c.r(1).stats().leaves_pulled;
  c.SyncAll();
  EXPECT_EQ(c.r(0).stats().leaves_pulled + c.r(1).stats().leaves_pulled, pulled);
}

TEST(Replica, GarbageAndConflictsAreCountedNotFatal) {
  Cluster c(2);
  c.r(0).HandleMessage("n1", "definitely not flatbuffers");
  EXPECT_EQ(c.r(0).stats().decode_errors, 1u);
  EXPECT_NE(c.r(0).stats().last_error.find("message from 'n1': Envelope: not a seedgrid"),
            std::string::npos);
  c.r(0).lww("x");
  c.r(1).orm("x").Add("k", Document{});
  c.r(1).Flush(c.ids);
  c.network.DeliverAll();
  EXPECT_EQ(c.r(0).stats().protocol_errors, 1u);
  EXPECT_EQ(c.r(0).stats().last_error, "map 'x' is an LWW map here; the peer sent OR data");
  // The sender learns: the Ack counts the entry as failed and carries the reason.
  EXPECT_EQ(c.r(1).stats().protocol_errors, 1u);
  EXPECT_EQ(c.r(1).stats().last_error,
            "peer 'n0' nacked: map 'x' is an LWW map here; the peer sent OR data");
}

TEST(Replica, BatchWithBothKindsForANewMapIsHandledInADefinedOrder) {
  Cluster c(2);
  msg::OpBatch batch{9, "fresh", {}, {}};
  batch.lww.push_back({"k", LwwRecord{Document{}, {1'000'000, 0, "n1"}, {}}});
  batch.or_entries.push_back({"k", {{{1'000'000, 1, "n1"}, Document{}, {}}}, {}});
  c.r(0).HandleMessage("n1", EncodeMessage(msg::Envelope{"n1", batch}));
  // LWW entries are merged first and create the map; the OR entries then conflict.
  EXPECT_EQ(c.r(0).lww_maps().count("fresh"), 1u);
  EXPECT_EQ(c.r(0).or_maps().count("fresh"), 0u);
  ASSERT_EQ(c.network.queued(), 1u);  // The Ack.
}

TEST(Replica, DriftRejectedWritesAreMergeErrorsAndNacked) {
  Cluster c(2, /*skew_step_ms=*/120'000);  // n1 runs two minutes ahead of n0.
  c.r(1).lww("m").Set("k", Document{});
  c.r(1).Flush(c.ids);
  c.network.DeliverAll();
  EXPECT_EQ(c.r(0).stats().merge_errors, 1u);
  EXPECT_EQ(c.r(0).lww("m").size(), 0u);
  EXPECT_EQ(c.r(1).stats().protocol_errors, 1u);  // The Ack carried the error back.
}

// Random writes on random replicas, random losses of replication messages, then pull sync both
// ways: every replica ends with identical contents and roots.
RC_GTEST_PROP(Replica, AntiEntropyConvergesAfterArbitraryLoss, ()) {
  const int n = *rc::gen::inRange(2, 5);
  Cluster c(n, *rc::gen::inRange<uint64_t>(0, 3000));
  const int ops = *rc::gen::inRange(1, 80);
  for (int i = 0; i < ops; ++i) {
    Replica& r = c.r(*rc::gen::inRange(0, n));
    const std::string key = "k" + std::to_string(*rc::gen::inRange(0, 20));
    switch (*rc::gen::inRange(0, 5)) {
      case 0:
        r.lww("m").Set(key, Document{{"v", int64_t{i}}});
        break;
      case 1:
        r.lww("m").Remove(key);
        break;
      case 2:
        r.orm("o").Add(key, Document{{"v", int64_t{i % 3}}});
        break;
      case 3:
        r.orm("o").Remove(key, Document{{"v", int64_t{i % 3}}});
        break;
      default:
        RC_ASSERT(r.counter("c").Increment(1).ok());
        break;
    }
    if (*rc::gen::inRange(0, 4) == 0) {
      r.Flush(c.ids);
      // Each queued message is delivered or lost.
      std::vector<bool> keep;
      for (size_t k = 0; k < c.network.queued(); ++k) keep.push_back(*rc::gen::arbitrary<bool>());
      c.network.DeliverOrDrop(keep);
    }
  }
  c.network.DeliverAll();
  c.SyncAll();
  for (int i = 1; i < n; ++i) {
    RC_ASSERT(c.r(i).lww("m").merkle().root() == c.r(0).lww("m").merkle().root());
    RC_ASSERT(c.r(i).orm("o").merkle().root() == c.r(0).orm("o").merkle().root());
    RC_ASSERT(c.r(i).counter("c").value() == c.r(0).counter("c").value());
    RC_ASSERT(c.r(i).stats().decode_errors == 0u);
  }
}

}  // namespace
}  // namespace seedgrid
