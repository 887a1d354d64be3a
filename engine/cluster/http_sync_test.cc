// HTTP sync on hand-driven Env parts: clients that sync only by HttpSyncRequest beside WebSocket
// clients, switching between the two, paging by cursor, late writes with older stamps, and the
// errors a gateway answers. Seeded runs with faults: scenarios http_clients and mixed_transports.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/cluster/grid_testing.h"
#include "engine/wire/codec.h"

namespace seedgrid {
namespace {

using grid_testing::Doc;
using grid_testing::Grid;

// Calls the server's HttpSync and returns the response (the test network delivers in Run()).
msg::HttpSyncResponse SyncAt(Grid& g, int server, msg::HttpSyncRequest r) {
  std::optional<msg::HttpSyncResponse> got;
  g.server(server).HttpSync(std::move(r), [&got](msg::HttpSyncResponse resp) { got = resp; });
  for (int i = 0; i < 100 && !got; ++i) g.Run(10);
  EXPECT_TRUE(got.has_value());
  return got.value_or(msg::HttpSyncResponse{});
}

TEST(HttpSync, AnHttpClientAndAWebSocketClientConvergeAndApplyEachOpOnce) {
  Grid g(3, 2);
  g.client(0).SetTransport(ClientTransport::kHttp);
  for (int i = 0; i < 60; ++i) {
    const auto concern = static_cast<msg::WriteConcern>(i % 3);
    g.client(i % 2).Set("users", "k" + std::to_string(i), Doc(i), concern);
  }
  g.client(0).Remove("users", "k0");
  g.Run(4000);
  EXPECT_TRUE(g.client(0).op_log().empty());
  EXPECT_TRUE(g.client(1).op_log().empty());
  for (const auto& [op, count] : g.applied) EXPECT_EQ(count, 1) << op.first << " " << op.second;
  EXPECT_EQ(g.applied.size(), 61u);
  EXPECT_EQ(g.client(0).MapRoot("users"), g.client(1).MapRoot("users"));
  EXPECT_EQ(g.client(1).Get("users", "k0"), nullptr);
  ASSERT_NE(g.client(0).Get("users", "k3"), nullptr);  // written by the WebSocket client
  // Replicated writes of the HTTP client were acknowledged at that level, with server stamps.
  int replicated = 0;
  for (const auto& [op, ack] : g.acks) {
    if (op.concern != msg::WriteConcern::kReplicated) continue;
    EXPECT_EQ(ack.level, msg::WriteConcern::kReplicated);
    EXPECT_NE(ack.ts.node_id, "c0");
    ++replicated;
  }
  EXPECT_EQ(replicated, 20);
  EXPECT_GT(g.client(0).stats().http_syncs, 0u);
  uint64_t answered = 0;
  for (int i = 0; i < 3; ++i) answered += g.server(i).stats().http_syncs;
  EXPECT_EQ(answered, g.client(0).stats().http_syncs);
}

TEST(HttpSync, ALateWriteWithAnOlderStampReachesAPollingClient) {
  Grid g(3, 3);
  g.client(0).SetTransport(ClientTransport::kHttp);
  g.client(0).Open("users");
  g.client(2).GoOffline();
  // "late" belongs to the one server that holds no replica of "new"; the owner of "new" runs 50 s
  // ahead.
  const PartitionReplicas& replicas = g.server(0).table().replicas(PartitionOf("new"));
  std::string late = "late";
  for (int i = 0; g.OwnerIndex(late) == g.OwnerIndex("new") ||
                  replicas.backups[0] == g.server_ids[g.OwnerIndex(late)];
       ++i) {
    late = "late" + std::to_string(i);
  }
  ASSERT_TRUE(
      g.server(g.OwnerIndex("new")).hlc().Update(Timestamp{g.now_ms + 50'000, 0, "x"}).ok());
  g.client(1).Set("users", "new", Doc(1));
  g.client(2).Set("users", late, Doc(2));  // Offline: stamped by its own clock, unseen by anyone.
  g.Run(2500);
  ASSERT_NE(g.client(0).Get("users", "new"), nullptr);
  // Arrives later, stamped earlier than everything the polling client has seen: a high-water
  // mark on stamps would skip it; digests do not.
  g.client(2).GoOnline();
  g.Run(2500);
  const LwwRecord* seen_new = g.client(0).maps().at("users")->GetRecord("new");
  const LwwRecord* seen_late = g.client(0).maps().at("users")->GetRecord(late);
  ASSERT_NE(seen_late, nullptr);
  EXPECT_LT(seen_late->ts, seen_new->ts);
  EXPECT_EQ(g.client(0).MapRoot("users"), g.client(1).MapRoot("users"));
}

TEST(HttpSync, ASwitchingClientLosesAndDuplicatesNothing) {
  Grid g(3, 2);
  g.client(1).Open("users");
  for (int i = 0; i < 120; ++i) {
    if (i % 7 == 0) {
      const bool http = g.client(0).transport() == ClientTransport::kWebSocket;
      g.client(0).SetTransport(http ? ClientTransport::kHttp : ClientTransport::kWebSocket);
    }
    if (i == 50) g.client(0).GoOffline();
    if (i == 80) g.client(0).GoOnline();
    g.client(0).Set("users", "k" + std::to_string(i % 40), Doc(i),
                    static_cast<msg::WriteConcern>(i % 3));
    g.Run(30);
  }
  g.Run(4000);
  EXPECT_TRUE(g.client(0).op_log().empty());
  EXPECT_EQ(g.applied.size(), 120u);
  for (const auto& [op, count] : g.applied) EXPECT_EQ(count, 1) << op.first << " " << op.second;
  EXPECT_EQ(g.client(0).MapRoot("users"), g.client(1).MapRoot("users"));
}

TEST(HttpSync, ALargePullIsPagedByCursorAndCoversEveryRecord) {
  Grid g(3, 1);
  for (int i = 0; i < 300; ++i) g.client(0).Set("users", "k" + std::to_string(i), Doc(i));
  g.Run(3000);
  ASSERT_TRUE(g.client(0).op_log().empty());
  std::set<std::string> keys;
  msg::HttpSyncRequest r{"curl", 1, {}, {msg::MapMarks{"users", {}, {}}}, {}, ""};
  int pages = 0;
  do {
    const msg::HttpSyncResponse resp = SyncAt(g, 1, r);
    ASSERT_EQ(resp.status, 200) << resp.error;
    EXPECT_LE(resp.leaves.size(), 32u);
    for (const msg::PartitionState& leaf : resp.leaves) {
      EXPECT_EQ(leaf.purpose, msg::StatePurpose::kClientLeaf);
      for (const msg::MapRecords& m : leaf.maps) {
        for (const msg::LwwEntry& e : m.lww) keys.insert(e.key);
      }
    }
    r.cursor = resp.cursor;
    ++pages;
  } while (!r.cursor.empty() && pages < 20);
  EXPECT_EQ(keys.size(), 300u);
  EXPECT_GT(pages, 1);
  // The client's own marks make the same pull empty.
  msg::MapMarks mine{"users", {}, {}};
  for (uint32_t p = 0; p < kPartitionCount; ++p) {
    if (const uint64_t d = g.client(0).MapDigest("users", p); d != 0) {
      mine.partitions.push_back(p);
      mine.digests.push_back(d);
    }
  }
  const msg::HttpSyncResponse none = SyncAt(g, 2, {"curl", 2, {}, {mine}, {}, ""});
  EXPECT_EQ(none.status, 200);
  EXPECT_TRUE(none.leaves.empty());
  EXPECT_TRUE(none.cursor.empty());
}

TEST(HttpSync, BadRequestsGetTheirErrorAndChangeNothing) {
  Grid g(3, 0);
  const auto sync = [&g](std::string cursor) {
    return SyncAt(g, 0, {"curl", 9, {}, {msg::MapMarks{"users", {}, {}}}, {}, std::move(cursor)});
  };
  msg::HttpSyncResponse r = sync("nonsense");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.request_id, 9u);
  EXPECT_EQ(r.error, "cursor 'nonsense': not a cursor (expected MAP:PARTITION)");
  EXPECT_EQ(sync("users:271").error, "cursor 'users:271': partition '271' is not 0..270");
  EXPECT_EQ(sync("orders:3").error,
            "cursor 'orders:3': map 'orders' is not one this request syncs");
  EXPECT_EQ(sync("users:3").status, 200);
  msg::HttpSyncRequest many{"curl", 1, {}, {}, {}, ""};
  for (uint64_t s = 1; s <= 4097; ++s) {
    many.ops.push_back({s, msg::WriteConcern::kApplied, "users", "k", Doc(1), {1, 0, "curl"}});
  }
  r = SyncAt(g, 0, many);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.error, "ops: 4097 ops, at most 4096 per request");
  EXPECT_TRUE(g.applied.empty());
  msg::HttpSyncRequest maps{"curl", 1, {}, {}, {}, ""};
  for (int i = 0; i < 257; ++i) maps.marks.push_back({"m" + std::to_string(i), {}, {}});
  EXPECT_EQ(SyncAt(g, 0, maps).error, "marks: 257 maps, at most 256 per request");
  EXPECT_EQ(SyncAt(g, 0, {"s1", 1, {}, {}, {}, ""}).error,
            "client: 's1' is a server of this cluster");
  msg::HttpSyncRequest order{"curl", 1, {}, {}, {}, ""};
  for (uint64_t seq : {2, 1}) {
    order.ops.push_back({seq, msg::WriteConcern::kApplied, "users", "k", Doc(1), {1, 0, "curl"}});
  }
  EXPECT_EQ(SyncAt(g, 0, order).error, "ops[1].seq: 1 after 2; seqs must increase, oldest first");
  msg::HttpSyncRequest twice{"curl", 1, {}, {{"users", {}, {}}, {"users", {}, {}}}, {}, ""};
  EXPECT_EQ(SyncAt(g, 0, twice).error, "marks[1].map: 'users' is listed twice");
  EXPECT_TRUE(g.applied.empty());
  EXPECT_EQ(g.server(0).stats().http_syncs_refused, 8u);
}

TEST(HttpSync, ARepairCannotForgeAnotherClientsAppliedMarks) {
  Grid g(3, 1);
  g.client(0).Set("users", "k", Doc(1));
  g.Run(1000);
  ASSERT_TRUE(g.client(0).op_log().empty());
  const uint32_t p = PartitionOf("k");
  msg::PartitionState forged{0, p, msg::StatePurpose::kClientRepair, {{"users", {}}}, {}, 0};
  forged.applied.push_back({"c0", 1'000'000, 0});
  forged.pruned_below_ms = g.now_ms + 10'000'000;
  EXPECT_EQ(SyncAt(g, 1, {"mallory", 1, {}, {}, {forged}, ""}).status, 200);
  g.Run(500);
  // c0's next write to that partition is applied, not taken for a duplicate of seq 1,000,000.
  g.client(0).Set("users", "k", Doc(2));
  g.Run(1000);
  ASSERT_EQ(g.acks.size(), 2u);
  EXPECT_FALSE(g.acks[1].second.duplicate);
  const LwwRecord* k = g.OwnerRecord("users", "k");
  ASSERT_NE(k, nullptr);  // and no forged watermark hid the live record
  EXPECT_EQ(k->value, Doc(2));
}

TEST(HttpSync, AClientWithMoreMapsThanOneRequestHoldsSyncsThemAllInWindows) {
  Grid g(3, 2);
  g.client(0).SetTransport(ClientTransport::kHttp);
  for (int m = 0; m < 300; ++m) {
    g.client(0).Open("m" + std::to_string(m));
    g.client(1).Set("m" + std::to_string(m), "k", Doc(m));
  }
  g.client(0).Set("m299", "mine", Doc(1));
  g.Run(6000);
  EXPECT_TRUE(g.client(0).op_log().empty());  // Its requests were never refused.
  EXPECT_EQ(g.client(0).stats().http_syncs_refused, 0u);
  for (int m = 0; m < 300; ++m) {
    EXPECT_NE(g.client(0).Get("m" + std::to_string(m), "k"), nullptr) << m;
  }
}

TEST(HttpSync, MessagesOnlyServersMaySendAreRefusedFromAClient) {
  Grid g(3, 1);
  const auto send = [&g](msg::Body body) {
    (void)g.network.Send("c0", "s0", EncodeMessage(msg::Envelope{"c0", std::move(body)}));
    g.Run(100);
  };
  const uint64_t before = g.server(0).stats().protocol_errors;
  send(msg::GridAck{{msg::GridOpAck{1, {5, 0, "s0"}, msg::WriteConcern::kApplied, false}}, "c9"});
  send(msg::PartitionState{1, 3, msg::StatePurpose::kClientLeaf, {{"users", {}}}, {}, 0});
  send(msg::QuerySubscribe{1, "users", Query{}, "s0", {}, false});  // would stream to itself
  EXPECT_EQ(g.server(0).stats().protocol_errors, before + 3);
}

TEST(HttpSync, AServerThatHasNotJoinedAnswers503) {
  Grid g(3, 0);
  g.CrashServer(1);
  g.server_ids.push_back("s9");
  GridServerOptions o = g.ServerOptions("s9");
  o.join = true;
  g.server_hosts.push_back(g.MakeHost());
  auto s9 = GridServer::Open(*g.server_hosts.back()->env, o);
  ASSERT_TRUE(s9.ok());
  std::optional<msg::HttpSyncResponse> got;
  (*s9)->HttpSync({"curl", 3, {}, {}, {}, ""}, [&got](msg::HttpSyncResponse r) { got = r; });
  ASSERT_TRUE(got.has_value());  // At once.
  EXPECT_EQ(got->status, 503);
  EXPECT_EQ(got->error, "this server has not joined a cluster yet; retry");
}

}  // namespace
}  // namespace seedgrid
