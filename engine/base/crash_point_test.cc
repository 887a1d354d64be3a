#include "engine/base/crash_point.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace seedgrid {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

int Reach() {
  int after = 0;
  SG_CRASH_POINT("crashtest.point");
  ++after;  // Code after a point always runs; the simulator makes its effects inert.
  return after;
}

// Never called: its probe is registered all the same.
[[maybe_unused]] void NeverReached() { SG_CRASH_POINT("crashtest.never_reached"); }

class RecordingSink final : public CrashPointSink {
 public:
  bool Reached(std::string_view name) override {
    names.emplace_back(name);
    return crash;
  }
  std::vector<std::string> names;
  bool crash = false;
};

TEST(CrashPoint, ProbeNameIsCrashDotAreaUnderscoreWhat) {
  constexpr auto literal = internal::CrashProbeLiteral("replica.write_applied");
  static_assert(literal.view() == "crash.replica_write_applied");
}

TEST(CrashPoint, EveryPointIsInTheProbeCatalogue) {
  const std::vector<std::string> names = ProbeNames();
  EXPECT_TRUE(std::find(names.begin(), names.end(), "crash.crashtest_point") != names.end());
  EXPECT_TRUE(std::find(names.begin(), names.end(), "crash.crashtest_never_reached") !=
              names.end());
}

TEST(CrashPoint, InertWithoutASink) {
  ProbeContext probes;
  ScopedProbes probe_scope(&probes);
  EXPECT_EQ(Reach(), 1);
  EXPECT_THAT(probes.Hits(), IsEmpty());
}

TEST(CrashPoint, AsksTheSinkAndCountsOnlyCrashes) {
  ProbeContext probes;
  ScopedProbes probe_scope(&probes);
  RecordingSink sink;
  {
    ScopedCrashPoints scope(&sink);
    EXPECT_EQ(Reach(), 1);
    sink.crash = true;
    EXPECT_EQ(Reach(), 1);
    EXPECT_EQ(Reach(), 1);
  }
  EXPECT_EQ(Reach(), 1);  // Uninstalled: the sink hears nothing more.
  EXPECT_THAT(sink.names, ElementsAre("crashtest.point", "crashtest.point", "crashtest.point"));
  EXPECT_THAT(probes.Hits(), ElementsAre(Pair("crash.crashtest_point", 2)));
}

TEST(CrashPoint, ScopesNest) {
  RecordingSink outer, inner;
  {
    ScopedCrashPoints a(&outer);
    {
      ScopedCrashPoints b(&inner);
      Reach();
    }
    Reach();
  }
  EXPECT_EQ(inner.names.size(), 1u);
  EXPECT_EQ(outer.names.size(), 1u);
}

}  // namespace
}  // namespace seedgrid
