// Replication's handoffs: a resend keeps its id, so acks slower than the resend interval count.
#include "engine/cluster/replication.h"

#include <gtest/gtest.h>

#include "engine/cluster/partition.h"
#include "engine/env/testing/manual_env.h"

namespace seedgrid {
namespace {

// "n3" holds one partition of a table {n0, n1, n2} it is not a member of: it must hand it off.
struct HandoffFixture {
  HandoffFixture() {
    msg::Heartbeat beat;
    beat.table_version = 5;
    beat.table_author = "n0";
    beat.members = {"n0", "n1", "n2"};
    membership.OnHeartbeat("n0", beat, 10);
    (void)set.MapOf(p, "users").Set(key, Document{{"v", int64_t{1}}});
  }
  // (destination, handoff id) of every handoff state in `out`.
  static std::vector<std::pair<NodeId, uint64_t>> Handoffs(const Effects& out) {
    std::vector<std::pair<NodeId, uint64_t>> sent;
    for (const auto& [to, body] : out.messages) {
      if (const auto* s = std::get_if<msg::PartitionState>(&body)) sent.emplace_back(to, s->id);
    }
    return sent;
  }
  ManualClock clock{1'700'000'000'000};
  Hlc hlc{clock, {.node_id = "n3"}};
  PartitionSet set{hlc, nullptr, nullptr, {}};
  Membership membership{{.self = "n3", .seeds = {}, .backup_count = 1}, 0};
  Replication replication{200};
  std::string key = "k1";
  uint32_t p = PartitionOf(key);
};

TEST(ReplicationHandoff, AResendKeepsItsIdAndGoesOnlyToReplicasThatHaveNotAcknowledged) {
  HandoffFixture f;
  const PartitionReplicas& r = f.membership.table().replicas(f.p);
  ASSERT_EQ(r.backups.size(), 1u);
  const NodeId owner = r.owner, backup = r.backups[0];
  const auto first = HandoffFixture::Handoffs(f.replication.Tick(1000, f.membership, f.set, true));
  ASSERT_EQ(first.size(), 2u);
  const uint64_t id = first[0].second;
  EXPECT_EQ(first[1].second, id);
  EXPECT_TRUE(
      HandoffFixture::Handoffs(f.replication.Tick(1100, f.membership, f.set, true)).empty());
  // The owner's ack comes after a resend (a slow link): it still counts.
  const auto resent = HandoffFixture::Handoffs(f.replication.Tick(1200, f.membership, f.set, true));
  EXPECT_EQ(resent, first);
  EXPECT_FALSE(
      f.replication.OnAck(owner, msg::Ack{id, 0, ""}, f.membership, f.set, true).handed_off);
  const auto again = HandoffFixture::Handoffs(f.replication.Tick(1400, f.membership, f.set, true));
  EXPECT_EQ(again, (std::vector<std::pair<NodeId, uint64_t>>{{backup, id}}));
  EXPECT_EQ(f.replication.OnAck(backup, msg::Ack{id, 0, ""}, f.membership, f.set, true).handed_off,
            f.p);
}

TEST(ReplicationHandoff, NewContentsStartTheHandoffOverUnderANewId) {
  HandoffFixture f;
  const auto first = HandoffFixture::Handoffs(f.replication.Tick(1000, f.membership, f.set, true));
  ASSERT_EQ(first.size(), 2u);
  const uint64_t id = first[0].second;
  // The owner acknowledged the old contents; a record merged since must reach it too.
  (void)f.replication.OnAck(first[0].first, msg::Ack{id, 0, ""}, f.membership, f.set, true);
  (void)f.set.MapOf(f.p, "users").Set(f.key, Document{{"v", int64_t{2}}});
  const auto restarted =
      HandoffFixture::Handoffs(f.replication.Tick(1200, f.membership, f.set, true));
  ASSERT_EQ(restarted.size(), 2u);
  EXPECT_NE(restarted[0].second, id);
  EXPECT_FALSE(f.replication.OnAck(first[1].first, msg::Ack{id, 0, ""}, f.membership, f.set, true)
                   .handed_off);  // The old id no longer completes anything.
}

TEST(ReplicationHandoff, AStateMergedAfterTheLastSendKeepsThePartition) {
  HandoffFixture f;
  const auto sent = HandoffFixture::Handoffs(f.replication.Tick(1000, f.membership, f.set, true));
  ASSERT_EQ(sent.size(), 2u);
  const uint64_t id = sent[0].second;
  (void)f.replication.OnAck(sent[0].first, msg::Ack{id, 0, ""}, f.membership, f.set, true);
  (void)f.set.MapOf(f.p, "users").Set(f.key, Document{{"v", int64_t{3}}});  // A late state.
  EXPECT_FALSE(f.replication.OnAck(sent[1].first, msg::Ack{id, 0, ""}, f.membership, f.set, true)
                   .handed_off);
  // Handed off again, with the new contents.
  const auto again = HandoffFixture::Handoffs(f.replication.Tick(1100, f.membership, f.set, true));
  ASSERT_EQ(again.size(), 2u);
  EXPECT_NE(again[0].second, id);
}

}  // namespace
}  // namespace seedgrid
