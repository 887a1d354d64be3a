#include "scenarios/schedule.h"

#include <gtest/gtest.h>

#include "scenarios/scenario.h"

namespace seedgrid::scenarios {
namespace {

using Interval = IndexSet::Interval;

TEST(IndexSet, MergesOverlappingAndAdjacentIntervals) {
  const IndexSet s = IndexSet::Of({{10, 12}, {0, 0}, {13, 15}, {11, 11}, {20, 30}, {1, 2}});
  EXPECT_EQ(s.intervals(), (std::vector<Interval>{{0, 2}, {10, 15}, {20, 30}}));
  EXPECT_EQ(s.size(), 3u + 6u + 11u);
  EXPECT_TRUE(s.Contains(0));
  EXPECT_TRUE(s.Contains(15));
  EXPECT_FALSE(s.Contains(16));
  EXPECT_FALSE(s.Contains(31));
  EXPECT_EQ(IndexSet::OfIndexes({5, 3, 4, 9}).intervals(), (std::vector<Interval>{{3, 5}, {9, 9}}));
}

TEST(IndexSet, ComplementCoversEveryIndexOnce) {
  const IndexSet s = IndexSet::OfIndexes({0, 7, 8});
  const IndexSet c = s.Complement();
  EXPECT_EQ(c.intervals(), (std::vector<Interval>{{1, 6}, {9, kScheduleIndexMax}}));
  EXPECT_EQ(c.Complement(), s);
  EXPECT_EQ(s.size() + c.size(), kScheduleIndexMax + 1);
  EXPECT_EQ(IndexSet().Complement().intervals(), (std::vector<Interval>{{0, kScheduleIndexMax}}));
  EXPECT_TRUE(IndexSet().Complement().Complement().empty());
}

TEST(ScheduleCounter, IndexesInOrderAndSkipsTheDropped) {
  const IndexSet drops = IndexSet::OfIndexes({1, 3});
  ScheduleCounter c(drops);
  std::vector<bool> applied;
  for (int i = 0; i < 5; ++i) applied.push_back(c.Next());
  EXPECT_EQ(applied, (std::vector<bool>{true, false, true, false, true}));
  EXPECT_EQ(c.generated(), 5u);
  EXPECT_EQ(c.dropped(), 2u);
}

TEST(ScheduleFile, KeepAndDropListsRoundTrip) {
  absl::StatusOr<Scenario> s = ParseScenario(R"({
    "name": "r",
    "regression": {"seed": 18446744073709551615, "invariant": "lww_model", "found_by": "x.json"},
    "schedule": {"keep_ops": [4, [10, 12]], "drop_faults": [0, [2, 3]]}
  })",
                                             "r.json");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->regression->seed, UINT64_MAX);
  EXPECT_EQ(s->regression->invariant, "lww_model");
  EXPECT_FALSE(s->schedule.ops.Contains(4));
  EXPECT_TRUE(s->schedule.ops.Contains(5));
  EXPECT_FALSE(s->schedule.ops.Contains(11));
  EXPECT_TRUE(s->schedule.ops.Contains(13));
  EXPECT_EQ(s->schedule.faults.intervals(), (std::vector<Interval>{{0, 0}, {2, 3}}));
  const std::string text = ScenarioToJson(*s);
  EXPECT_NE(text.find("\"keep_ops\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"drop_faults\""), std::string::npos) << text;
  absl::StatusOr<Scenario> again = ParseScenario(text, "again.json");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, *s);
  // An empty keep list drops everything.
  absl::StatusOr<Scenario> none =
      ParseScenario(R"({"name": "n", "schedule": {"keep_faults": []}})", "n.json");
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->schedule.faults.Contains(0));
  EXPECT_TRUE(none->schedule.faults.Contains(kScheduleIndexMax));
  EXPECT_NE(ScenarioToJson(*none).find("\"keep_faults\": []"), std::string::npos);
}

TEST(ScheduleFile, BadSectionsAreLocatedErrors) {
  const auto error = [](const char* text) {
    absl::StatusOr<Scenario> s = ParseScenario(text, "f.json");
    return s.ok() ? std::string("ok") : std::string(s.status().message());
  };
  EXPECT_EQ(error(R"({"name": "x", "schedule": {"keep_ops": [1], "drop_ops": [2]}})"),
            "f.json:1:28: schedule.keep_ops: give keep_ops or drop_ops, not both");
  EXPECT_EQ(error(R"({"name": "x", "schedule": {"drop_ops": [[5, 2]]}})"),
            "f.json:1:41: schedule.drop_ops[0]: expected an index 0..1099511627775 or a range "
            "[first, last] with first <= last, got [5,2]");
  EXPECT_EQ(error(R"({"name": "x", "schedule": {"drop_op": [1]}})"),
            "f.json:1:28: schedule.drop_op: unknown field 'drop_op'; known fields: drop_faults, "
            "drop_ops, keep_faults, keep_ops");
  EXPECT_EQ(error(R"({"name": "x", "regression": {"invariant": "hlc"}})"),
            "f.json:1:15: regression.seed: a regression test needs the \"seed\" it runs");
  EXPECT_EQ(error(R"({"name": "x", "regression": {"seed": -1}})"),
            "f.json:1:30: regression.seed: expected a seed 0..2^64-1, got -1");
}

}  // namespace
}  // namespace seedgrid::scenarios
