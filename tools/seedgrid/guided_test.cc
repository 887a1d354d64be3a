#include "tools/seedgrid/guided.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "engine/env/xoshiro.h"
#include "tools/seedgrid/command.h"
#include "tools/seedgrid/repro.h"

namespace seedgrid::tools {
namespace {

using scenarios::Scenario;
using scenarios::SwarmDraw;
using ::testing::Pair;

Scenario Parse(const std::string& text) {
  auto s = scenarios::ParseScenario(text, "test.json");
  EXPECT_TRUE(s.ok()) << s.status();
  return *s;
}

// Every kind of range: off-able (lo 0), always on (lo > 0), never on (absent), buggify allowed.
Scenario ReplicaScenario() {
  return Parse(R"({"name": "r", "nodes": 3, "duration_ms": 2000,
      "swarm": {"loss_ppm": [0, 100000], "duplicate_ppm": [5000, 20000],
                "crashes_per_min": [2, 4], "partitions_per_min": [0, 6], "buggify": true}})");
}

// A grid with offline periods, storage errors and torn writes; buggify off.
Scenario GridScenario() {
  return Parse(R"({"name": "g", "duration_ms": 2000,
      "grid": {"servers": 3, "clients": 2, "offline_per_min": [20, 60],
               "storage_errors_ppm": [0, 5000]},
      "swarm": {"loss_ppm": [0, 20000], "crashes_per_min": [0, 6], "buggify": false}})");
}

TEST(MutateSwarm, IsDeterministicGivenTheGeneratorSeed) {
  const Scenario s = ReplicaScenario();
  const SwarmDraw base = scenarios::DrawSwarm(s, 7);
  int differ = 0;
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    Xoshiro256 a(seed), b(seed);
    const SwarmDraw x = MutateSwarm(s, base, a);
    EXPECT_EQ(x, MutateSwarm(s, base, b)) << seed;
    Xoshiro256 c(seed + 1000);
    differ += !(x == MutateSwarm(s, base, c));
  }
  EXPECT_GT(differ, 25);  // Other seeds mutate differently.
}

TEST(MutateSwarm, StaysWithinTheScenariosRanges) {
  for (const Scenario& s : {ReplicaScenario(), GridScenario()}) {
    Xoshiro256 random(42);
    int changed = 0;
    for (uint64_t seed = 1; seed <= 50; ++seed) {
      SwarmDraw d = scenarios::DrawSwarm(s, seed);
      ASSERT_TRUE(scenarios::ValidateSwarm(s, d).ok());
      for (int step = 0; step < 100; ++step) {  // Chains of mutations drift but stay valid.
        const SwarmDraw next = MutateSwarm(s, d, random);
        const absl::Status valid = scenarios::ValidateSwarm(s, next);
        ASSERT_TRUE(valid.ok()) << s.name << " seed " << seed << ": " << valid << "\n"
                                << next.ToString();
        changed += !(next == d);
        d = next;
      }
    }
    EXPECT_GT(changed, 3500) << s.name;  // Most mutations change something.
  }
}

TEST(MutateSwarm, TurnsEveryKnobTheScenarioAllowsAndNoOther) {
  const Scenario s = GridScenario();
  Xoshiro256 random(3);
  bool loss_on = false, loss_off = false, storage_on = false, torn = false, offline_moved = false;
  SwarmDraw d = scenarios::DrawSwarm(s, 1);
  for (int i = 0; i < 2000; ++i) {
    const SwarmDraw next = MutateSwarm(s, d, random);
    loss_on |= d.loss_ppm == 0 && next.loss_ppm > 0;
    loss_off |= d.loss_ppm > 0 && next.loss_ppm == 0;
    storage_on |= next.storage_errors_ppm > 0;
    torn |= next.torn_writes != d.torn_writes;
    offline_moved |= next.offline_per_min != d.offline_per_min;
    EXPECT_FALSE(next.buggify);            // The scenario disables buggify.
    EXPECT_EQ(next.reorder_ppm, 0u);       // Not in the scenario's swarm.
    EXPECT_GE(next.offline_per_min, 20u);  // lo > 0: never switched off.
    d = next;
  }
  EXPECT_TRUE(loss_on && loss_off && storage_on && torn && offline_moved);
}

TEST(Guide, CorpusKeepsTheFirstRunToHitEachProbe) {
  const Scenario s = ReplicaScenario();
  Guide guide(s, GuideOptions{.seed_base = 9, .keep_per_probe = 1});
  EXPECT_EQ(guide.Plan(0), std::nullopt);  // Nothing learned yet: the seed draws.
  const SwarmDraw d1 = scenarios::DrawSwarm(s, 1), d2 = scenarios::DrawSwarm(s, 2);
  guide.Learn(1, 1, d1, {{"a.common", 4}});
  guide.Learn(2, 2, d2, {{"a.common", 1}});  // Nothing new: not kept.
  guide.Learn(3, 3, d2, {{"a.common", 1}, {"a.rare", 1}});
  const std::vector<Guide::Entry> corpus = guide.corpus();
  ASSERT_EQ(corpus.size(), 2u);
  EXPECT_EQ(corpus[0].seed, 1u);
  EXPECT_EQ(corpus[1].seed, 3u);
  EXPECT_THAT(corpus[1].probes, ::testing::ElementsAre("a.common", "a.rare"));
  EXPECT_EQ(guide.runs_hitting("a.common"), 3u);
  EXPECT_EQ(guide.runs_hitting("a.rare"), 1u);
}

TEST(Guide, PlansAreReproducibleAndFavourRareProbes) {
  const Scenario s = ReplicaScenario();
  SwarmDraw common = scenarios::DrawSwarm(s, 1);
  SwarmDraw rare = common;
  common.crashes_per_min = 2;  // Marks which entry a plan came from (mutations are small).
  rare.crashes_per_min = 4;
  const auto make = [&](Guide& g) {
    g.Learn(1, 1, common, {{"a.common", 1}});
    for (uint64_t i = 2; i < 100; ++i) g.Learn(i, i, common, {{"a.common", 1}});
    g.Learn(100, 100, rare, {{"a.common", 1}, {"a.rare", 1}});
  };
  Guide g1(s, GuideOptions{.seed_base = 5}), g2(s, GuideOptions{.seed_base = 5});
  make(g1);
  make(g2);
  int planned = 0, near_rare = 0;
  for (uint64_t task = 0; task < 400; ++task) {
    const std::optional<SwarmDraw> p = g1.Plan(task);
    EXPECT_EQ(p, g2.Plan(task)) << task;  // Same seed base, task and corpus: same plan.
    if (!p) continue;
    ++planned;
    EXPECT_TRUE(scenarios::ValidateSwarm(s, *p).ok());
    near_rare += p->crashes_per_min >= 3;
  }
  EXPECT_GT(planned, 250);  // guided_ppm 75%.
  EXPECT_LT(planned, 350);
  // Weights 1/100 (common) vs 1/1 (rare): nearly every plan starts from the rare entry.
  EXPECT_GT(near_rare, planned * 3 / 4);
}

TEST(Guide, KeepsSeveralFirstHittersPerProbe) {
  const Scenario s = ReplicaScenario();
  Guide guide(s, GuideOptions{.seed_base = 9, .keep_per_probe = 2});
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    guide.Learn(seed, seed, scenarios::DrawSwarm(s, seed), {{"a.common", 1}});
  }
  guide.Learn(6, 6, scenarios::DrawSwarm(s, 6), {{"a.common", 1}, {"a.rare", 1}});
  std::vector<uint64_t> seeds;
  for (const Guide::Entry& e : guide.corpus()) seeds.push_back(e.seed);
  EXPECT_THAT(seeds, ::testing::ElementsAre(1u, 2u, 6u));
}

TEST(Guide, LearnsTriggersAndSuppressors) {
  const Scenario s = GridScenario();
  Guide guide(s, GuideOptions{.seed_base = 1, .guided_ppm = 1'000'000});
  for (uint64_t i = 0; i < 80; ++i) {
    SwarmDraw d = scenarios::DrawSwarm(s, i);
    d.torn_writes = i % 2 == 0;
    std::vector<std::pair<std::string, uint64_t>> probes = {{"a.all", 1}};
    if (d.torn_writes && i % 4 == 0) probes.emplace_back("a.torn", 1);  // only with torn writes
    if (!d.torn_writes) probes.emplace_back("a.untorn", 1);             // only without
    std::sort(probes.begin(), probes.end());
    guide.Learn(i, i, d, probes);
  }
  EXPECT_THAT(guide.Influences("a.torn"), ::testing::Contains(Pair("torn_writes", 1)));
  EXPECT_THAT(guide.Influences("a.untorn"), ::testing::Contains(Pair("torn_writes", -1)));
  EXPECT_THAT(guide.Influences("a.all"), ::testing::IsEmpty());
  EXPECT_THAT(guide.Influences("a.unknown"), ::testing::IsEmpty());
  int torn = 0;
  for (uint64_t task = 0; task < 300; ++task) {
    const std::optional<SwarmDraw> p = guide.Plan(task);
    ASSERT_TRUE(p.has_value());
    EXPECT_TRUE(scenarios::ValidateSwarm(s, *p).ok());
    torn += p->torn_writes;
  }
  // Targets: a.torn (20 runs) is picked most, a.untorn (40) half as often, a.all (80) least.
  EXPECT_GT(torn, 150);
}

// A probe that planned runs do not reach more often than unplanned ones stops being a target;
// with no target left, every seed draws its own swarm again (as without --guided).
TEST(Guide, StopsAimingWhereGuidanceDoesNotPay) {
  const Scenario s = ReplicaScenario();
  Guide guide(s, GuideOptions{.seed_base = 3});
  for (uint64_t i = 0; i < 100; ++i) {  // Unplanned: a.timing in every tenth run.
    std::vector<std::pair<std::string, uint64_t>> probes = {{"a.common", 1}};
    if (i % 10 == 0) probes.emplace_back("a.timing", 1);
    guide.Learn(i, i, scenarios::DrawSwarm(s, i), probes);
  }
  uint64_t task = 1000, planned = 0;
  for (; task < 1400; ++task) {
    const std::optional<SwarmDraw> p = guide.Plan(task);
    if (p) ++planned;
    // Planned runs reach a.common as always and a.timing never; unplanned ones as before.
    std::vector<std::pair<std::string, uint64_t>> probes = {{"a.common", 1}};
    if (!p && task % 10 == 0) probes.emplace_back("a.timing", 1);
    guide.Learn(task, task, p ? *p : scenarios::DrawSwarm(s, task), probes);
  }
  EXPECT_GE(planned, 2 * Guide::kTriesMin);  // Each target got its tries...
  EXPECT_LT(planned, 100u);                  // ...and then no more.
  for (uint64_t t = task; t < task + 100; ++t) EXPECT_EQ(guide.Plan(t), std::nullopt) << t;
}

// Planned runs that reach their target more often than unplanned ones keep it a target.
TEST(Guide, KeepsAimingWhereGuidancePays) {
  const Scenario s = ReplicaScenario();
  Guide guide(s, GuideOptions{.seed_base = 4});
  for (uint64_t i = 0; i < 100; ++i) {
    std::vector<std::pair<std::string, uint64_t>> probes = {{"a.common", 1}};
    if (i % 10 == 0) probes.emplace_back("a.knob", 1);
    guide.Learn(i, i, scenarios::DrawSwarm(s, i), probes);
  }
  uint64_t planned_late = 0;
  for (uint64_t task = 1000; task < 1400; ++task) {
    const std::optional<SwarmDraw> p = guide.Plan(task);
    if (p && task >= 1300) ++planned_late;
    std::vector<std::pair<std::string, uint64_t>> probes = {{"a.common", 1}};
    if (p || task % 10 == 0) probes.emplace_back("a.knob", 1);  // Planned runs always reach it.
    guide.Learn(task, task, p ? *p : scenarios::DrawSwarm(s, task), probes);
  }
  EXPECT_GT(planned_late, 50u);  // Still about 3 in 4 of the last 100 tasks.
}

TEST(Guide, NoGuidanceAtZeroPpm) {
  const Scenario s = ReplicaScenario();
  Guide guide(s, GuideOptions{.seed_base = 5, .guided_ppm = 0});
  guide.Learn(1, 1, scenarios::DrawSwarm(s, 1), {{"a.x", 1}});
  for (uint64_t task = 0; task < 50; ++task) EXPECT_EQ(guide.Plan(task), std::nullopt);
}

// --- Repro files record a given swarm and give it back.

TEST(ReproSwarm, JsonRoundTripsEveryField) {
  SwarmDraw d;
  d.loss_ppm = 1, d.duplicate_ppm = 2, d.reorder_ppm = 3, d.partitions_per_min = 4;
  d.crashes_per_min = 5, d.pauses_per_min = 6, d.clock_steps_per_min = 7, d.clogs_per_min = 8;
  d.offline_per_min = 9, d.storage_errors_ppm = 10, d.buggify = true, d.torn_writes = true;
  d.crash_points_ppm = 11;
  EXPECT_EQ(SwarmFromJson(SwarmJson(d), "x"), d);
  // A repro file written before crash points existed has no crash_points_ppm: it means off.
  nlohmann::json old = SwarmJson(d);
  old.erase("crash_points_ppm");
  d.crash_points_ppm = 0;
  EXPECT_EQ(SwarmFromJson(old, "x"), d);
  nlohmann::json bad = SwarmJson(d);
  bad["crash_points_ppm"] = "many";
  EXPECT_THROW(SwarmFromJson(bad, "x"), InputError);
  bad = SwarmJson(d);
  bad["loss_ppm"] = -1;
  EXPECT_THROW(SwarmFromJson(bad, "x"), InputError);
  bad = SwarmJson(d);
  bad.erase("torn_writes");
  EXPECT_THROW(SwarmFromJson(bad, "x"), InputError);
}

TEST(ReproSwarm, AGivenSwarmIsRecordedAndLoadedBack) {
  const std::string text = R"({"name": "r", "nodes": 3, "duration_ms": 1000,
      "swarm": {"loss_ppm": [0, 100000], "crashes_per_min": [0, 4]}})";
  const Loaded loaded{Parse(text), "r.json", text};
  const std::string path =
      (std::filesystem::temp_directory_path() / "seedgrid_guided_test.repro.json").string();
  Outcome drawn;
  drawn.result.pass = true;
  drawn.result.swarm = scenarios::DrawSwarm(loaded.scenario, 11);
  WriteRepro(path, drawn, loaded, 11, "abc");
  Repro r = LoadRepro(path);
  EXPECT_EQ(r.seed, 11u);
  EXPECT_EQ(r.swarm, std::nullopt);  // The seed's own draw: nothing to give.
  EXPECT_EQ(r.record["swarm_given"], false);

  Outcome given = drawn;
  Xoshiro256 random(1);
  while (given.result.swarm == drawn.result.swarm) {
    given.result.swarm = MutateSwarm(loaded.scenario, drawn.result.swarm, random);
  }
  WriteRepro(path, given, loaded, 11, "abc");
  r = LoadRepro(path);
  EXPECT_EQ(r.record["swarm_given"], true);
  EXPECT_EQ(r.swarm, given.result.swarm);

  r.record["swarm_draw"]["crashes_per_min"] = 99;  // Outside the scenario's [0, 4].
  WriteFileOrThrow(path, r.record.dump());
  try {
    LoadRepro(path);
    ADD_FAILURE() << "an out-of-range swarm_draw loaded";
  } catch (const InputError& e) {
    EXPECT_THAT(e.message, ::testing::HasSubstr("swarm_draw: swarm crashes_per_min=99"));
  }
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace seedgrid::tools
