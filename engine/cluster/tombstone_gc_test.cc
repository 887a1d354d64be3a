// The GC horizon as a pure function of the clocks the servers reported.
#include "engine/cluster/tombstone_gc.h"

#include <gtest/gtest.h>

namespace seedgrid {
namespace {

struct Cluster {
  absl::btree_map<NodeId, uint64_t> known{{"s1", 0}, {"s2", 0}};
  absl::btree_set<NodeId> leaving;
  absl::btree_set<NodeId> alive{"s0", "s1", "s2"};
  absl::btree_map<NodeId, uint64_t> hlc{{"s1", 50'000}, {"s2", 40'000}};
  GcInputs Inputs(uint64_t now_ms, uint64_t stable_since_ms = 0) const {
    return GcInputs{now_ms, 60'000, 10'000, stable_since_ms, &known, &leaving, &alive, &hlc};
  }
};

TEST(TombstoneGc, HorizonIsTheLowestReportedClockMinusTheGrace) {
  Cluster c;
  EXPECT_EQ(GcHorizon(c.Inputs(60'000)), 30'000u);  // min(60k, 50k, 40k) - 10k
  c.hlc["s2"] = 70'000;
  EXPECT_EQ(GcHorizon(c.Inputs(60'000)), 40'000u);  // s1 is now the lowest
}

TEST(TombstoneGc, NoHorizonUntilStableForAWholeGrace) {
  Cluster c;
  EXPECT_FALSE(GcHorizon(c.Inputs(60'000, /*stable_since_ms=*/55'000)).has_value());
  EXPECT_TRUE(GcHorizon(c.Inputs(65'000, /*stable_since_ms=*/55'000)).has_value());
  EXPECT_FALSE(GcStable(c.Inputs(64'999, 55'000)));
}

TEST(TombstoneGc, ADeadOrSilentServerBlocksGcALeavingOneDoesNot) {
  Cluster c;
  c.alive.erase("s2");
  EXPECT_FALSE(GcHorizon(c.Inputs(60'000)).has_value());
  c.leaving.insert("s2");
  EXPECT_EQ(GcHorizon(c.Inputs(60'000)), 40'000u);  // s2 ignored: min(60k, 50k) - 10k
  c.leaving.clear();
  c.alive.insert("s2");
  c.hlc.erase("s2");  // alive but never reported its clock
  EXPECT_FALSE(GcHorizon(c.Inputs(60'000)).has_value());
}

TEST(TombstoneGc, NoHorizonWhenTheClocksAreWithinTheGraceOfZero) {
  Cluster c;
  c.hlc["s2"] = 10'000;
  EXPECT_FALSE(GcHorizon(c.Inputs(60'000)).has_value());
  c.hlc["s2"] = 10'001;
  EXPECT_EQ(GcHorizon(c.Inputs(60'000)), 1u);
}

TEST(TombstoneGc, OwnClockCountsAndTheLaterOfClockAndHlcIsUsed) {
  Cluster c;
  c.known.clear();
  GcInputs in = c.Inputs(20'000);
  EXPECT_EQ(GcHorizon(in), 50'000u);  // own HLC 60k ahead of the clock
  in.own_hlc_ms = 0;
  EXPECT_EQ(GcHorizon(in), 10'000u);  // the clock
}

}  // namespace
}  // namespace seedgrid
