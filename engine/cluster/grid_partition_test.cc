// PartitionSet: what a dropped partition leaves behind (its applied marks), in memory and on disk.
#include "engine/cluster/grid_partition.h"

#include <gtest/gtest.h>

#include "engine/cluster/effects.h"
#include "engine/cluster/partition_store.h"
#include "engine/env/mem_storage.h"
#include "engine/env/testing/manual_env.h"

namespace seedgrid {
namespace {

struct Fixture {
  ManualClock clock{1'700'000'000'000};
  Hlc hlc{clock, {.node_id = "n1"}};
  MemStorage storage;
  PartitionStore store{storage, "n1"};
  PartitionSet set{hlc, &store, nullptr, {}};
};

// A server that dropped a partition and owns it again must not take entries it applied for new
// ones, even when no server that held the partition since is alive to tell it (fuzzing found an
// entry applied twice that way).
TEST(PartitionSetDrop, AppliedMarksOutliveTheDropAndComeBackWithThePartition) {
  Fixture f;
  const uint32_t p = 7;
  (void)f.set.MapOf(p, "users").Set("k", Document{});
  ASSERT_TRUE(f.set.RaiseMark(p, "c1", 27));
  f.set.Drop(p);
  EXPECT_FALSE(f.set.held(p));
  EXPECT_TRUE(f.set.empty());  // Kept marks are not a held partition.
  GridPartition& again = f.set.Hold(p);
  EXPECT_EQ(again.applied.at("c1"), 27u);
  EXPECT_TRUE(again.maps.empty());             // The records went with the drop.
  EXPECT_FALSE(f.set.RaiseMark(p, "c1", 27));  // #27 is a duplicate, not a first application.
}

TEST(PartitionSetDrop, TheMarkPagesStayOnDiskWhileTheRecordPagesGo) {
  Fixture f;
  const uint32_t p = 7;
  (void)f.set.MapOf(p, "users").Set("k", Document{});
  ASSERT_TRUE(f.set.RaiseMark(p, "c1", 27));
  ASSERT_TRUE(f.store.Sync(f.hlc).ok());
  f.set.Drop(p);
  ASSERT_TRUE(f.store.Sync(f.hlc).ok());
  uint64_t marks = 0, records = 0;
  PartitionStore::RestoreSink sink{
      .mark = [&](uint32_t q, const std::string& client,
                  uint64_t seq) { marks += q == p && client == "c1" && seq == 27; },
      .hlc = [](std::string_view) { return true; },
      .record = [&](const msg::PartitionState&) { ++records; },
      .watermark = [](uint32_t, uint64_t) {}};
  ASSERT_TRUE(PartitionStore(f.storage, "n1").Restore(sink).ok());
  EXPECT_EQ(marks, 1u);
  EXPECT_EQ(records, 0u);
}

msg::PartitionState LeafOf(uint32_t p, size_t records, size_t text_bytes) {
  msg::PartitionState state{1, p, msg::StatePurpose::kClientLeaf, {{"m", {}}}, {}};
  for (size_t i = 0; i < records; ++i) {
    Document doc{{"t", std::string(text_bytes, 'x')}};
    state.maps[0].lww.push_back({"k" + std::to_string(i), {doc, Timestamp{1, 0, "n1"}, {}}});
  }
  return state;
}

TEST(EffectsSendStates, BatchesByRecordsAndBytesAndSendsALoneStatePlain) {
  const auto kinds = [](const Effects& out) {
    std::vector<std::pair<std::string, size_t>> got;  // (body name, states)
    for (const auto& [to, body] : out.messages) {
      const auto* batch = std::get_if<msg::PartitionStates>(&body);
      got.emplace_back(std::string(msg::BodyName(body)), batch ? batch->states.size() : 1);
    }
    return got;
  };
  using Got = std::vector<std::pair<std::string, size_t>>;
  Effects small;
  small.SendStates("c1", {LeafOf(1, 2, 10), LeafOf(2, 2, 10), LeafOf(3, 2, 10)});
  EXPECT_EQ(kinds(small), (Got{{"PartitionStates", 3}}));
  Effects lone;
  lone.SendStates("c1", {LeafOf(1, 2, 10)});
  EXPECT_EQ(kinds(lone), (Got{{"PartitionState", 1}}));
  Effects many;  // 5,000 records in 1-record states: 4,096 per batch at most.
  std::vector<msg::PartitionState> states;
  for (uint32_t p = 0; p < 5000; ++p) states.push_back(LeafOf(p % kPartitionCount, 1, 1));
  many.SendStates("c1", std::move(states));
  EXPECT_EQ(kinds(many), (Got{{"PartitionStates", 4096}, {"PartitionStates", 904}}));
  Effects big;  // 3 MiB per state: each alone, far below a 16 MiB frame.
  big.SendStates("c1", {LeafOf(1, 3, 1 << 20), LeafOf(2, 3, 1 << 20), LeafOf(3, 1, 10)});
  EXPECT_EQ(kinds(big), (Got{{"PartitionState", 1}, {"PartitionStates", 2}}));
  EXPECT_TRUE(small.events.empty());
}

}  // namespace
}  // namespace seedgrid
