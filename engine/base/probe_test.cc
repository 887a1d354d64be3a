#include "engine/base/probe.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

namespace seedgrid {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

void HitAlpha() { SG_PROBE("probetest.alpha"); }
void HitBeta() { SG_PROBE("probetest.beta"); }
// A second site with the same name: one probe.
void HitAlphaElsewhere() { SG_PROBE("probetest.alpha"); }
// Never called: registered all the same.
[[maybe_unused]] void NeverCalled() { SG_PROBE("probetest.never_called"); }

bool Contains(const std::vector<std::string>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

TEST(Probe, NamesAreCheckedAtCompileTime) {
  static_assert(IsValidProbeName("lww.tie_broken_by_hash"));
  static_assert(IsValidProbeName("a.b"));
  static_assert(IsValidProbeName("hlc.x2"));
  static_assert(!IsValidProbeName("nodot"));
  static_assert(!IsValidProbeName(".what"));
  static_assert(!IsValidProbeName("area."));
  static_assert(!IsValidProbeName("a.b.c"));
  static_assert(!IsValidProbeName("Area.what"));
  static_assert(!IsValidProbeName("area.what-x"));
  static_assert(!IsValidProbeName("1area.what"));
  static_assert(!IsValidProbeName("area._what"));
  static_assert(!IsValidProbeName(""));
}

TEST(Probe, EverySiteIsRegisteredBeforeMainEvenIfNeverHit) {
  const std::vector<std::string> names = ProbeNames();
  EXPECT_TRUE(Contains(names, "probetest.alpha"));
  EXPECT_TRUE(Contains(names, "probetest.beta"));
  EXPECT_TRUE(Contains(names, "probetest.never_called"));
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());  // Each name once.
}

TEST(Probe, HitsInsideAContextCountSortedByName) {
  ProbeContext context;
  {
    ScopedProbes scope(&context);
    HitBeta();
    HitAlpha();
    HitAlphaElsewhere();
    HitAlpha();
  }
  HitBeta();  // After the scope: not counted.
  EXPECT_THAT(context.Hits(), ElementsAre(Pair("probetest.alpha", 3u), Pair("probetest.beta", 1u)));
}

TEST(Probe, OutsideAContextNothingIsCounted) {
  EXPECT_EQ(internal::current_probes, nullptr);
  HitAlpha();  // No context: a no-op.
  ProbeContext context;
  EXPECT_THAT(context.Hits(), IsEmpty());
  { ScopedProbes scope(&context); }
  EXPECT_THAT(context.Hits(), IsEmpty());
}

TEST(Probe, ScopesNestAndRestoreThePreviousContext) {
  ProbeContext outer, inner;
  {
    ScopedProbes a(&outer);
    HitAlpha();
    {
      ScopedProbes b(&inner);
      HitBeta();
      ScopedProbes none(nullptr);
      HitBeta();  // Not counted anywhere.
    }
    HitAlpha();
  }
  EXPECT_EQ(internal::current_probes, nullptr);
  EXPECT_THAT(outer.Hits(), ElementsAre(Pair("probetest.alpha", 2u)));
  EXPECT_THAT(inner.Hits(), ElementsAre(Pair("probetest.beta", 1u)));
}

}  // namespace
}  // namespace seedgrid
