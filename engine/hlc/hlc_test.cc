#include "engine/hlc/hlc.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <limits>

#include "engine/env/testing/manual_env.h"

namespace seedgrid {
namespace {

constexpr uint32_t kCounterMax = std::numeric_limits<uint32_t>::max();

TEST(Hlc, NowUsesPhysicalTimeWhenAheadElseBumpsCounter) {
  ManualClock clock(1000);
  Hlc hlc(clock, {.node_id = "n1"});
  EXPECT_EQ(hlc.Now(), (Timestamp{1000, 0, "n1"}));
  EXPECT_EQ(hlc.Now(), (Timestamp{1000, 1, "n1"}));
  clock.SetMs(900);  // Physical clock steps backwards: logical time holds.
  EXPECT_EQ(hlc.Now(), (Timestamp{1000, 2, "n1"}));
  clock.SetMs(1001);
  EXPECT_EQ(hlc.Now(), (Timestamp{1001, 0, "n1"}));
}

TEST(Hlc, NowCounterOverflowRollsToNextMillis) {
  ManualClock clock(1000);
  Hlc hlc(clock, {.node_id = "n1"});
  ASSERT_TRUE(hlc.Restore(1000, kCounterMax - 1).ok());
  EXPECT_EQ(hlc.Now(), (Timestamp{1000, kCounterMax, "n1"}));
  EXPECT_EQ(hlc.Now(), (Timestamp{1001, 0, "n1"}));
  EXPECT_EQ(hlc.Now(), (Timestamp{1001, 1, "n1"}));
}

TEST(Hlc, UpdateBothAtMaxTakesMaxCounterPlusOne) {
  ManualClock clock(500);
  Hlc hlc(clock, {.node_id = "n1"});
  ASSERT_TRUE(hlc.Restore(1000, 3).ok());
  ASSERT_TRUE(hlc.Update({1000, 7, "n2"}).ok());
  EXPECT_EQ(hlc.last(), (Timestamp{1000, 8, "n1"}));
  ASSERT_TRUE(hlc.Update({1000, 2, "n2"}).ok());
  EXPECT_EQ(hlc.last(), (Timestamp{1000, 9, "n1"}));
}

TEST(Hlc, UpdateOnlyLocalAtMaxBumpsLocalCounter) {
  ManualClock clock(500);
  Hlc hlc(clock, {.node_id = "n1"});
  ASSERT_TRUE(hlc.Restore(1000, 3).ok());
  ASSERT_TRUE(hlc.Update({999, 50, "n2"}).ok());
  EXPECT_EQ(hlc.last(), (Timestamp{1000, 4, "n1"}));
}

TEST(Hlc, UpdateOnlyRemoteAtMaxBumpsRemoteCounter) {
  ManualClock clock(500);
  Hlc hlc(clock, {.node_id = "n1"});
  ASSERT_TRUE(hlc.Restore(1000, 3).ok());
  ASSERT_TRUE(hlc.Update({1200, 5, "n2"}).ok());
  EXPECT_EQ(hlc.last(), (Timestamp{1200, 6, "n1"}));
}

TEST(Hlc, UpdateWithPhysicalStrictlyAheadResetsCounter) {
  ManualClock clock(2000);
  Hlc hlc(clock, {.node_id = "n1"});
  ASSERT_TRUE(hlc.Restore(1000, 3).ok());
  ASSERT_TRUE(hlc.Update({1500, 9, "n2"}).ok());
  EXPECT_EQ(hlc.last(), (Timestamp{2000, 0, "n1"}));
}

TEST(Hlc, UpdateWithPhysicalEqualToRemoteCountsAsRemoteAtMax) {
  ManualClock clock(1500);
  Hlc hlc(clock, {.node_id = "n1"});
  ASSERT_TRUE(hlc.Update({1500, 9, "n2"}).ok());
  EXPECT_EQ(hlc.last(), (Timestamp{1500, 10, "n1"}));
}

TEST(Hlc, UpdateCounterOverflowRollsToNextMillis) {
  ManualClock clock(0);
  Hlc hlc(clock, {.node_id = "n1"});
  ASSERT_TRUE(hlc.Update({1000, kCounterMax, "n2"}).ok());
  EXPECT_EQ(hlc.last(), (Timestamp{1001, 0, "n1"}));
  EXPECT_GT(hlc.Now(), (Timestamp{1000, kCounterMax, "n2"}));
}

TEST(Hlc, DriftExactlyAtThresholdIsAccepted) {
  ManualClock clock(10'000);
  Hlc hlc(clock, {.node_id = "n1", .max_drift_ms = 60'000});
  EXPECT_TRUE(hlc.Update({70'000, 0, "n2"}).ok());
  EXPECT_EQ(hlc.drift_violations(), 0u);
}

TEST(Hlc, DriftBeyondThresholdRejectedInStrictModeAndClockUnchanged) {
  ManualClock clock(10'000);
  Hlc hlc(clock, {.node_id = "n1", .max_drift_ms = 60'000});
  const Timestamp before = hlc.Now();
  const absl::Status status = hlc.Update({70'001, 0, "n2"});
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.message(),
            "hlc on node 'n1': remote timestamp 70001:0:n2 is 60001 ms ahead of the physical "
            "clock (max drift 60000 ms)");
  EXPECT_EQ(hlc.last(), before);
  EXPECT_EQ(hlc.drift_violations(), 1u);
}

TEST(Hlc, DriftBeyondThresholdCountedAndAppliedInLenientMode) {
  ManualClock clock(10'000);
  Hlc hlc(clock, {.node_id = "n1", .max_drift_ms = 100, .drift_mode = DriftMode::kLenient});
  EXPECT_TRUE(hlc.Update({20'000, 4, "n2"}).ok());
  EXPECT_EQ(hlc.last(), (Timestamp{20'000, 5, "n1"}));
  EXPECT_EQ(hlc.drift_violations(), 1u);
}

TEST(Hlc, RestoreRejectsAbsurdMillisAndNeverMovesBackwards) {
  ManualClock clock(10);
  Hlc hlc(clock, {.node_id = "n1"});
  EXPECT_EQ(hlc.Restore(UINT64_MAX, kCounterMax).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(hlc.Restore(500, 2).ok());
  ASSERT_TRUE(hlc.Restore(400, 9).ok());  // Older: ignored.
  EXPECT_EQ(hlc.Now(), (Timestamp{500, 3, "n1"}));
}

TEST(Hlc, CheckPredictsUpdateWithoutChangingState) {
  ManualClock clock(10'000);
  Hlc hlc(clock, {.node_id = "n1", .max_drift_ms = 100});
  EXPECT_EQ(hlc.Check({20'000, 0, "n2"}).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(hlc.Check({10'100, 0, "n2"}).ok());
  EXPECT_EQ(hlc.drift_violations(), 0u);
  EXPECT_EQ(hlc.last(), (Timestamp{0, 0, "n1"}));
}

TEST(Hlc, AbsurdRemoteMillisRejectedEvenWhenLenient) {
  ManualClock clock(10'000);
  Hlc hlc(clock, {.node_id = "n1", .drift_mode = DriftMode::kLenient});
  EXPECT_EQ(hlc.Update({std::numeric_limits<uint64_t>::max(), kCounterMax, "n2"}).code(),
            absl::StatusCode::kInvalidArgument);
}

// A random walk of the physical clock (forward, backward, big jumps) with interleaved Now() and
// Update(): local timestamps strictly increase, and every accepted remote timestamp is below the
// next local one.
RC_GTEST_PROP(Hlc, NeverGoesBackwardsAndStaysAheadOfReceived, ()) {
  ManualClock clock(*rc::gen::inRange<uint64_t>(0, 1'000'000));
  const auto mode = *rc::gen::element(DriftMode::kStrict, DriftMode::kLenient);
  Hlc hlc(clock, {.node_id = "n1", .max_drift_ms = 60'000, .drift_mode = mode});
  Timestamp previous = hlc.last();
  const int steps = *rc::gen::inRange(1, 200);
  for (int i = 0; i < steps; ++i) {
    const int action = *rc::gen::inRange(0, 4);
    if (action == 0) {
      const int64_t jump = *rc::gen::inRange<int64_t>(-100'000, 100'000);
      const uint64_t now = clock.NowMs();
      clock.SetMs(jump < 0 && uint64_t(-jump) > now ? 0 : now + jump);
    } else if (action == 1) {
      const Timestamp ts = hlc.Now();
      RC_ASSERT(ts > previous);
      previous = ts;
    } else {
      const uint64_t around = hlc.last().millis + clock.NowMs();
      Timestamp remote{*rc::gen::inRange<uint64_t>(around / 2 > 200'000 ? around / 2 - 200'000 : 0,
                                                   around / 2 + 200'000),
                       *rc::gen::element<uint32_t>(0, 1, 7, kCounterMax - 1, kCounterMax), "n2"};
      if (hlc.Update(remote).ok()) {
        RC_ASSERT(hlc.last() > previous);
        const Timestamp next = hlc.Now();
        RC_ASSERT(next > remote);
        RC_ASSERT(next > previous);
        previous = next;
      } else {
        RC_ASSERT(mode == DriftMode::kStrict);
        RC_ASSERT(hlc.last() == previous);
      }
    }
  }
}

TEST(Hlc, SavedStateRestoresAndGarbageIsDataLoss) {
  ManualClock clock(1000);
  Hlc a(clock, HlcOptions{.node_id = "a"});
  a.Now();
  const Timestamp issued = a.Now();  // counter 1
  ManualClock behind(10);
  Hlc b(behind, HlcOptions{.node_id = "a"});
  ASSERT_TRUE(RestoreHlcState(b, SaveHlcState(a)).ok());
  EXPECT_GT(b.Now(), issued);  // Never reissues a timestamp after a restart.
  for (const char* bad : {"", "12", "12 x", "x 1", "1 2 3", "1 99999999999"}) {
    EXPECT_EQ(RestoreHlcState(b, bad).code(), absl::StatusCode::kDataLoss) << bad;
  }
}

}  // namespace
}  // namespace seedgrid
