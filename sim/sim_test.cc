#include <gtest/gtest.h>

#include "engine/env/testing/manual_env.h"
#include "sim/random.h"
#include "sim/sim_storage.h"
#include "sim/skewed_clock.h"

namespace seedgrid::sim {
namespace {

TEST(Substream, IndependentOfOtherStreamsAndStablePerName) {
  Xoshiro256 a = Substream(7, "network");
  Xoshiro256 b = Substream(7, "network");
  Xoshiro256 c = Substream(7, "workload");
  Xoshiro256 d = Substream(8, "network");
  const uint64_t va = a.Next64();
  EXPECT_EQ(va, b.Next64());
  EXPECT_NE(va, c.Next64());
  EXPECT_NE(va, d.Next64());
}

TEST(UniformIn, CoversClosedRange) {
  Xoshiro256 r(1);
  bool saw_lo = false, saw_hi = false;
  for (int i = 0; i < 1000; ++i) {
    const uint64_t v = UniformIn(r, 5, 8);
    ASSERT_GE(v, 5u);
    ASSERT_LE(v, 8u);
    saw_lo |= v == 5;
    saw_hi |= v == 8;
  }
  EXPECT_TRUE(saw_lo && saw_hi);
  EXPECT_EQ(UniformIn(r, 3, 3), 3u);
}

TEST(SkewedClock, AppliesOffsetDriftAndSteps) {
  ManualClock truth(1'000'000);
  SkewedClock fast(truth, 250, 100);          // +250 ms, +100 ppm
  EXPECT_EQ(fast.NowMs(), 1'000'000u + 250);  // No drift accrued yet.
  truth.AdvanceMs(1'000'000);
  EXPECT_EQ(fast.NowMs(), 2'000'000u + 250 + 100);
  fast.Step(-2'000);  // NTP steps it back.
  EXPECT_EQ(fast.NowMs(), 2'000'000u + 250 + 100 - 2'000);
  SkewedClock behind(truth, -5'000'000, 0);
  EXPECT_EQ(behind.NowMs(), 0u);  // Clamped at the epoch.
}

TEST(SimStorage, CrashLosesUnsyncedWritesAndMayTearTheLast) {
  Xoshiro256 random{1};
  SimStorage plain;
  ASSERT_TRUE(plain.Write("a", "durable").ok());
  ASSERT_TRUE(plain.Sync().ok());
  ASSERT_TRUE(plain.Write("a", "lost").ok());
  ASSERT_TRUE(plain.Write("b", "lost").ok());
  EXPECT_FALSE(plain.Crash(false, random));
  EXPECT_EQ(*plain.Read("a"), "durable");
  EXPECT_FALSE(plain.Read("b").ok());

  int torn = 0;
  for (int i = 0; i < 50; ++i) {
    SimStorage s;
    ASSERT_TRUE(s.Write("a", "durable").ok());
    ASSERT_TRUE(s.Sync().ok());
    ASSERT_TRUE(s.Write("b", "first").ok());
    ASSERT_TRUE(s.Write("a", "0123456789").ok());  // The last write: torn.
    ASSERT_TRUE(s.Crash(true, random));
    EXPECT_FALSE(s.Read("b").ok());
    const std::string a = *s.Read("a");
    EXPECT_LT(a.size(), 10u);
    EXPECT_EQ(a, std::string("0123456789").substr(0, a.size()));
    torn += a.size() > 0 ? 1 : 0;
  }
  EXPECT_GT(torn, 30);  // Prefix lengths are drawn, not always empty.
  SimStorage synced;
  ASSERT_TRUE(synced.Write("a", "x").ok());
  ASSERT_TRUE(synced.Sync().ok());
  EXPECT_FALSE(synced.Crash(true, random));  // Nothing unsynced: nothing to tear.
  EXPECT_EQ(*synced.Read("a"), "x");
}

// Every write and sync fails: a failed write leaves the old page; a failed sync drops every
// unsynced write, and the disk stays failed until what was dropped is written again and synced.
TEST(SimStorage, InjectedErrorsDropWritesUntilRewrittenAndSynced) {
  SimStorage s;
  ASSERT_TRUE(s.Write("a", "old").ok());
  ASSERT_TRUE(s.Sync().ok());
  s.InjectErrors(1'000'000, Xoshiro256{7});
  EXPECT_FALSE(s.Write("a", "new").ok());
  EXPECT_EQ(*s.Read("a"), "old");
  EXPECT_TRUE(s.failed());
  s.InjectErrors(0, Xoshiro256{7});
  ASSERT_TRUE(s.Write("b", "b1").ok());
  EXPECT_EQ(s.clean_syncs(), 1u);
  ASSERT_TRUE(s.Sync().ok());
  EXPECT_TRUE(s.failed());         // "a" was dropped and not written again.
  EXPECT_EQ(s.clean_syncs(), 1u);  // A good sync, not a clean one.
  ASSERT_TRUE(s.Write("a", "new").ok());
  ASSERT_TRUE(s.Sync().ok());
  EXPECT_FALSE(s.failed());
  EXPECT_EQ(s.clean_syncs(), 2u);

  ASSERT_TRUE(s.Write("c", "c1").ok());
  s.InjectErrors(1'000'000, Xoshiro256{8});
  EXPECT_FALSE(s.Sync().ok());  // Drops "c" (fsyncgate): a later good sync does not bring it back.
  EXPECT_FALSE(s.Read("c").ok());
  s.InjectErrors(0, Xoshiro256{8});
  ASSERT_TRUE(s.Sync().ok());
  EXPECT_TRUE(s.failed());
  EXPECT_EQ(s.write_errors(), 1u);
  EXPECT_EQ(s.sync_errors(), 1u);
  Xoshiro256 random{1};
  s.Crash(false, random);
  EXPECT_FALSE(s.failed());  // The node restarts from what the disk holds.
}

TEST(SimStorage, ErrorRateIsRoughlyTheDrawnPpm) {
  SimStorage s;
  s.InjectErrors(100'000, Xoshiro256{3});  // 10%
  int failed = 0;
  for (int i = 0; i < 2000; ++i) failed += s.Write("p", "x").ok() ? 0 : 1;
  EXPECT_GT(failed, 120);
  EXPECT_LT(failed, 280);
}

}  // namespace
}  // namespace seedgrid::sim
