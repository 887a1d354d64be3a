#include "tools/seedgrid/fleet.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "tools/seedgrid/command.h"

namespace seedgrid::tools {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

ShardSummary Shard(uint64_t shard, uint64_t shards) {
  ShardSummary s{.commit = "abc",
                 .scenario = "flaky",
                 .scenario_path = "f.json",
                 .shard = shard,
                 .shards = shards,
                 .seed_base = 1000,
                 .runs = 8,
                 .wall_s = 1.5};
  return s;
}

FailureGroup Group(const std::string& sig, std::vector<std::tuple<uint64_t, uint64_t>> runs) {
  FailureGroup g{.signature = sig, .invariant = "liveness"};
  for (const auto& [seed, events] : runs) {
    if (g.Add("flaky", seed, events, "detail of " + std::to_string(seed))) {
      g.repro = "flaky-seed-" + std::to_string(seed) + ".repro.json";
    }
  }
  return g;
}

TEST(Fleet, AGroupKeepsTheSmallestRunAndTheLowestSeeds) {
  FailureGroup g;
  EXPECT_TRUE(g.Add("s", 50, 900, "a"));
  EXPECT_FALSE(g.Add("s", 40, 901, "b"));  // more events
  EXPECT_TRUE(g.Add("s", 60, 800, "c"));
  EXPECT_TRUE(g.Add("s", 30, 800, "d"));   // same events, lower seed
  EXPECT_FALSE(g.Add("s", 70, 800, "e"));  // same events, higher seed
  EXPECT_EQ(g.seed, 30u);
  EXPECT_EQ(g.detail, "d");
  EXPECT_EQ(g.count, 5u);
  EXPECT_THAT(g.seeds, ElementsAre(30, 40, 50, 60, 70));
  for (uint64_t s = 100; s > 0; --s) g.Add("s", s, 10'000, "x");
  EXPECT_EQ(g.seeds.size(), kSeedsListedMax);
  EXPECT_EQ(g.seeds.front(), 1u);
  EXPECT_EQ(g.seeds.back(), 20u);
}

TEST(Fleet, SummaryJsonRoundTrips) {
  ShardSummary s = Shard(2, 4);
  s.failures = 3;
  s.distinct.push_back(Group("liveness: x", {{1002, 500}, {1006, 400}}));
  s.probes.emplace_back("gc.watermark_raised", ProbeCount{7, 3});
  const ShardSummary back = SummaryFromJson(SummaryJson(s), "s.json");
  EXPECT_EQ(SummaryJson(back), SummaryJson(s));
}

TEST(Fleet, MalformedSummariesNameTheFileAndField) {
  nlohmann::json j = SummaryJson(Shard(0, 1));
  j.erase("runs");
  try {
    SummaryFromJson(j, "dir/summary.json");
    FAIL() << "accepted a summary without runs";
  } catch (const InputError& e) {
    EXPECT_THAT(e.message, HasSubstr("dir/summary.json: missing field 'runs'"));
  }
  j = SummaryJson(Shard(0, 1));
  j["shard"] = 5;
  EXPECT_THROW(SummaryFromJson(j, "f"), InputError);
  j = SummaryJson(Shard(0, 1));
  j["format"] = "other";
  EXPECT_THROW(SummaryFromJson(j, "f"), InputError);
  j["format"] = 7;
  EXPECT_THROW(SummaryFromJson(j, "f"), InputError);
  j = SummaryJson(Shard(0, 1));
  j["shards"] = uint64_t{1} << 60;  // a merge would list that many missing shards
  EXPECT_THROW(SummaryFromJson(j, "f"), InputError);
  ShardSummary escaping = Shard(0, 1);
  escaping.distinct.push_back(Group("sig", {{1000, 5}}));
  escaping.distinct[0].repro = "../../etc/passwd";
  try {
    SummaryFromJson(SummaryJson(escaping), "f");
    FAIL() << "accepted a repro outside the shard's directory";
  } catch (const InputError& e) {
    EXPECT_THAT(e.message, HasSubstr("must be a file name in the shard's directory"));
  }
  j = SummaryJson(Shard(0, 1));
  j["distinct"] = nlohmann::json::array({{{"signature", "x"}}});
  try {
    SummaryFromJson(j, "f");
    FAIL() << "accepted a failure without fields";
  } catch (const InputError& e) {
    EXPECT_THAT(e.message, HasSubstr("f: distinct[0]: missing field"));
  }
}

TEST(Fleet, MergeFoldsShardsWhateverTheirOrder) {
  ShardSummary a = Shard(0, 3), b = Shard(2, 3);
  a.failures = 2;
  b.failures = 1;
  a.distinct.push_back(Group("sig", {{1000, 900}, {1003, 700}}));
  b.distinct.push_back(Group("sig", {{1002, 700}}));
  a.probes.emplace_back("p", ProbeCount{4, 2});
  b.probes.emplace_back("p", ProbeCount{1, 1});
  const MergedResults m = MergeShards({{"da", a}, {"db", b}});
  const MergedResults r = MergeShards({{"db", b}, {"da", a}});
  EXPECT_EQ(MergedJson(m, "repros"), MergedJson(r, "repros"));
  EXPECT_EQ(MergedJson(m, "repros")["distinct"][0]["repro"], "repros/flaky-seed-1002.repro.json");
  ASSERT_EQ(m.distinct.size(), 1u);
  EXPECT_EQ(m.distinct[0].count, 3u);
  EXPECT_EQ(m.distinct[0].seed, 1002u);  // 700 events as 1003, lower seed
  EXPECT_EQ(m.distinct[0].repro, "db/flaky-seed-1002.repro.json");
  EXPECT_THAT(m.distinct[0].seeds, ElementsAre(1000, 1002, 1003));
  EXPECT_EQ(m.runs, 16u);
  EXPECT_EQ(m.failures, 3u);
  ASSERT_EQ(m.campaigns.size(), 1u);
  EXPECT_THAT(m.campaigns[0].present, ElementsAre(0, 2));
  EXPECT_THAT(m.campaigns[0].missing, ElementsAre(1));
  ASSERT_EQ(m.probes.size(), 1u);
  EXPECT_EQ(m.probes[0].second.hits, 5u);
  EXPECT_EQ(m.probes[0].second.runs, 3u);
  EXPECT_THAT(MergedMarkdown(m, "repros"), HasSubstr("| flaky | 1000 | 3 | 16 | 3 | 3.0 | 1 |"));
  EXPECT_THAT(MergedJUnitXml(m, "repros"),
              HasSubstr("replay: seedgrid replay repros/flaky-seed-1002.repro.json"));
}

TEST(Fleet, MergeRefusesTheSameShardTwiceAndTwoShardCounts) {
  EXPECT_THROW(MergeShards({{"a", Shard(1, 4)}, {"b", Shard(1, 4)}}), InputError);
  try {
    MergeShards({{"a", Shard(0, 4)}, {"b", Shard(0, 2)}});
    FAIL() << "merged one campaign with two shard counts";
  } catch (const InputError& e) {
    EXPECT_THAT(e.message, HasSubstr("has 2 shards here and another count in a"));
  }
}

TEST(Fleet, JUnitHasAPassingCaseForAScenarioWithoutFailures) {
  const MergedResults m = MergeShards({{"a", Shard(0, 1)}});
  const std::string xml = MergedJUnitXml(m, "repros");
  EXPECT_THAT(xml, HasSubstr("tests=\"1\" failures=\"0\""));
  EXPECT_THAT(xml, HasSubstr("name=\"8 runs\""));
  EXPECT_THAT(MergedMarkdown(m, "repros"), HasSubstr("## Distinct failures\n\nNone."));
}

}  // namespace
}  // namespace seedgrid::tools
