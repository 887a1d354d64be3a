// Membership's readiness rule: which replicas a new owner pulls from before it takes client ops.
#include "engine/cluster/membership.h"

#include <gtest/gtest.h>

#include <set>

namespace seedgrid {
namespace {

msg::Heartbeat TableBeat(uint64_t version, std::vector<std::string> members) {
  msg::Heartbeat hb;
  hb.table_version = version;
  hb.table_author = members.front();
  hb.members = std::move(members);
  return hb;
}

// The nodes a readiness pull of `p` goes to (every node not yet answered that is alive).
std::set<NodeId> PulledFrom(Membership& m, uint32_t p, const absl::btree_set<NodeId>& alive) {
  std::set<NodeId> to;
  for (const auto& [node, body] : m.ReadinessPulls(alive).messages) {
    const auto& d = std::get<msg::PartitionDigest>(body);
    for (uint32_t q : d.partitions) {
      if (q == p) to.insert(node);
    }
  }
  return to;
}

// A partition n1 owns under a table of {n0, n1, n2, n3} (backup_count 1).
uint32_t OwnedBy(const PartitionTable& t, const NodeId& node) {
  for (uint32_t p = 0; p < kPartitionCount; ++p) {
    if (t.owner(p) == node) return p;
  }
  ADD_FAILURE() << node << " owns nothing";
  return 0;
}

// A restarted server does not know where its partitions were while it was down: the last owner
// may be any member, not only a replica of the table it adopts (fuzzing found a restarted owner
// that pulled only from its new backup while the previous owner, alive, held the client's marks).
TEST(MembershipReadiness, AFirstTablePullsFromEveryOtherMember) {
  Membership m({.self = "n1", .seeds = {}, .backup_count = 1}, 0);
  m.OnHeartbeat("n0", TableBeat(5, {"n0", "n1", "n2", "n3"}), 10);
  const uint32_t p = OwnedBy(m.table(), "n1");
  EXPECT_FALSE(m.ready(p));
  const absl::btree_set<NodeId> all{"n0", "n1", "n2", "n3"};
  EXPECT_EQ(PulledFrom(m, p, all), (std::set<NodeId>{"n0", "n2", "n3"}));
  m.OnPulled(p, "n0");
  m.OnPulled(p, "n2");
  EXPECT_FALSE(m.ready(p));
  EXPECT_EQ(PulledFrom(m, p, all), (std::set<NodeId>{"n3"}));
  // A source that died is given up: the owner becomes ready without it (docs/architecture.md).
  EXPECT_TRUE(PulledFrom(m, p, {"n0", "n1", "n2"}).empty());
  EXPECT_TRUE(m.ready(p));
}

// A server that already had a table pulls a newly owned partition from the previous table's
// replicas only.
TEST(MembershipReadiness, ANewerTablePullsFromThePreviousReplicas) {
  Membership m({.self = "n1", .seeds = {}, .backup_count = 1}, 0);
  m.OnHeartbeat("n0", TableBeat(5, {"n0", "n2", "n3"}), 10);
  EXPECT_EQ(m.not_ready_count(), 0u);  // Not a member: owns nothing.
  m.OnHeartbeat("n0", TableBeat(6, {"n0", "n1", "n2", "n3"}), 20);
  ASSERT_GT(m.not_ready_count(), 0u);
  const PartitionTable before(5, "n0", {"n0", "n2", "n3"}, 1);
  const uint32_t p = OwnedBy(m.table(), "n1");
  std::set<NodeId> expected{before.owner(p)};
  for (const NodeId& b : before.replicas(p).backups) expected.insert(b);
  EXPECT_EQ(PulledFrom(m, p, {"n0", "n1", "n2", "n3"}), expected);
  EXPECT_LT(expected.size(), 3u);
}

// A source that died is replaced by every live member not asked yet: a server that had dropped the
// partition may hold its applied marks (fuzzing found a new owner whose only source died, ready
// with nothing, applying again an entry it had applied itself before it dropped the partition).
TEST(MembershipReadiness, ASourceThatDiedIsReplacedByEveryLiveMember) {
  Membership m({.self = "n1", .seeds = {}, .backup_count = 1}, 0);
  m.OnHeartbeat("n0", TableBeat(5, {"n0", "n2", "n3"}), 10);
  m.OnHeartbeat("n0", TableBeat(6, {"n0", "n1", "n2", "n3"}), 20);
  const PartitionTable before(5, "n0", {"n0", "n2", "n3"}, 1);
  const uint32_t p = OwnedBy(m.table(), "n1");
  std::set<NodeId> sources{before.owner(p)};
  for (const NodeId& b : before.replicas(p).backups) sources.insert(b);
  ASSERT_EQ(sources.size(), 2u);
  const NodeId answers = *sources.begin();
  const NodeId dies = *sources.rbegin();
  m.OnPulled(p, answers);
  absl::btree_set<NodeId> alive{"n0", "n1", "n2", "n3"};
  alive.erase(dies);
  std::set<NodeId> others(alive.begin(), alive.end());
  others.erase("n1");
  others.erase(answers);
  ASSERT_EQ(others.size(), 1u);
  EXPECT_EQ(PulledFrom(m, p, alive), others);  // not the one that answered, not itself
  EXPECT_FALSE(m.ready(p));
  m.OnPulled(p, *others.begin());
  EXPECT_TRUE(m.ready(p));
}

}  // namespace
}  // namespace seedgrid
