#include "tools/seedgrid/progress.h"

#include <gtest/gtest.h>

namespace seedgrid::tools {
namespace {

TEST(Progress, DurationPicksTheLargestUnit) {
  EXPECT_EQ(Duration(0), "0s");
  EXPECT_EQ(Duration(59.4), "59s");
  EXPECT_EQ(Duration(62), "1m02s");
  EXPECT_EQ(Duration(3723), "1h02m03s");
  EXPECT_EQ(Duration(-5), "0s");
}

TEST(Progress, LineNamesCountsEtaAndTheRunsInFlight) {
  ProgressState s{.done = 37, .total = 100, .failures = 1, .elapsed_s = 62, .eta_s = 40};
  s.running = {"grid_scale seed 3 (12s)", "lossy seed 2 (1s)"};
  EXPECT_EQ(ProgressLine(s),
            "[37/100] 1 failed  1m02s elapsed  ETA 40s  running: grid_scale seed 3 (12s), lossy "
            "seed 2 (1s)");
}

TEST(Progress, UnknownTotalAndEtaAreLeftOut) {
  ProgressState s{.done = 5, .failures = 0, .elapsed_s = 3, .extra = "distinct=0"};
  EXPECT_EQ(ProgressLine(s), "[5 runs] 0 failed  3s elapsed  distinct=0");
}

}  // namespace
}  // namespace seedgrid::tools
