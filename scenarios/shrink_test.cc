#include "scenarios/shrink.h"

#include <gtest/gtest.h>

namespace seedgrid::scenarios {
namespace {

TEST(Shrink, APlantedBugShrinksToTheNodesAndTimeItNeeds) {
  absl::StatusOr<Scenario> s = ParseScenario(R"({
    "name": "big", "nodes": 6, "duration_ms": 8000,
    "workload": {"ops_per_sec": 100, "keys": 50},
    "faults": [{"at_ms": 1000, "kind": "split", "nodes": [0, 1]},
               {"at_ms": 3000, "kind": "heal"},
               {"at_ms": 4000, "kind": "crash", "node": 5}],
    "swarm": {"loss_ppm": [1000, 100000], "crashes_per_min": [1, 10], "buggify": true}
  })",
                                             "big.json");
  ASSERT_TRUE(s.ok()) << s.status();
  RunOptions o{.seed = 9};
  // The bug: node 2 writes a key outside the recorded history whenever it starts.
  o.on_node_start = [](int node, ReplicaNode& n) {
    if (node == 2) n.Set("users", "planted", Document{{"city", "Nowhere"}});
  };
  const RunResult failing = RunScenario(*s, o);
  ASSERT_FALSE(failing.pass);
  std::vector<std::string> seen;
  const ShrinkResult r =
      Shrink(*s, o, failing, 500, [&](const ShrinkStep& step) { seen.push_back(step.what); });
  EXPECT_EQ(r.result.violation->invariant, "lww_model");
  EXPECT_EQ(r.scenario.nodes, 3);  // Node 2 must exist; nothing else is needed.
  EXPECT_TRUE(r.scenario.faults.empty());
  EXPECT_EQ(r.scenario.swarm.loss_ppm, Range{});
  EXPECT_FALSE(r.scenario.swarm.buggify);
  EXPECT_LT(r.scenario.duration_ms, 200u);
  EXPECT_EQ(seen.size(), r.steps.size());
  EXPECT_LE(r.runs, 500u);
  // Deterministic, and the result really fails.
  const ShrinkResult again = Shrink(*s, o, failing, 500);
  EXPECT_EQ(again.scenario, r.scenario);
  EXPECT_FALSE(RunScenario(r.scenario, o).pass);
}

// The planted bug: a local remove on node 2 also bumps the counter, outside the history.
void PlantRemoveBumpsCounter(int node, ReplicaNode& n) {
  if (node != 2) return;
  n.replica().lww("users").AddListener([&n](const LwwChange& c) {
    if (c.cause == ChangeCause::kLocalRemove) (void)n.replica().counter("visits").Increment(5);
  });
}

Scenario Busy() {
  absl::StatusOr<Scenario> s = ParseScenario(R"({
    "name": "busy", "nodes": 5, "duration_ms": 6000,
    "workload": {"ops_per_sec": 150, "keys": 40},
    "swarm": {"loss_ppm": [1000, 50000], "crashes_per_min": [20, 40], "pauses_per_min": [20, 40],
              "clogs_per_min": [20, 40]}
  })",
                                             "busy.json");
  EXPECT_TRUE(s.ok()) << s.status();
  return *s;
}

TEST(Shrink, TheScheduleShrinksToTheOneOperationTheBugNeeds) {
  const Scenario s = Busy();
  const RunOptions o{.seed = 7, .on_node_start = PlantRemoveBumpsCounter};
  const RunResult failing = RunScenario(s, o);
  ASSERT_FALSE(failing.pass);
  ASSERT_EQ(failing.violation->invariant, "pn_model");
  ASSERT_GT(failing.ops_generated, 500u);
  ASSERT_GT(failing.faults_generated, 5u);
  const ShrinkResult r = Shrink(s, o, failing, 400);
  EXPECT_EQ(r.result.violation->invariant, "pn_model");
  const ShrinkSize size = SizeOf(r.scenario, r.result);
  EXPECT_EQ(size.ops, 1u);     // One remove on node 2...
  EXPECT_EQ(size.faults, 0u);  // ...and no fault.
  EXPECT_EQ(r.result.ops, 1u);
  EXPECT_EQ(r.scenario.nodes, 3);
  EXPECT_TRUE(r.schedule_minimal);
  EXPECT_LE(r.runs, 400u);
  EXPECT_EQ(r.runs, r.structure_runs + r.fault_runs + r.op_runs);
  EXPECT_GT(r.op_runs, 0u);
  // The result is one self-contained scenario: written and read back, it fails the same way
  // (same trace), and without the bug it passes.
  absl::StatusOr<Scenario> back = ParseScenario(ScenarioToJson(r.scenario), "back.json");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, r.scenario);
  const RunResult again = RunScenario(*back, o);
  EXPECT_EQ(again.trace_hash, r.result.trace_hash);
  EXPECT_EQ(again.ops_generated - again.ops_dropped, 1u);
  EXPECT_TRUE(RunScenario(*back, {.seed = 7}).pass);
}

TEST(Shrink, TheScheduleStageRespectsTheRunBudget) {
  const Scenario s = Busy();
  const RunOptions o{.seed = 7, .on_node_start = PlantRemoveBumpsCounter};
  const RunResult failing = RunScenario(s, o);
  ASSERT_FALSE(failing.pass);
  for (uint64_t budget : {1, 4, 8}) {
    const ShrinkResult r = ShrinkSchedule(ShrinkStart(s, failing), o, budget);
    EXPECT_EQ(r.runs, budget);
    EXPECT_FALSE(r.schedule_minimal);
    EXPECT_EQ(r.result.violation->invariant, "pn_model");
    EXPECT_FALSE(RunScenario(r.scenario, o).pass);
  }
}

TEST(Shrink, DroppedFaultsAreDrawnButNotApplied) {
  Scenario s = Busy();
  const RunResult all = RunScenario(s, {.seed = 3});
  ASSERT_TRUE(all.pass);
  ASSERT_GT(all.stats.crashes, 0u);
  s.schedule.faults = IndexSet::OfIndexes({0}).Complement();  // Keep only the first fault.
  s.schedule.ops = IndexSet::Of({{0, kScheduleIndexMax}});    // Drop every op.
  const RunResult few = RunScenario(s, {.seed = 3});
  ASSERT_TRUE(few.pass);
  EXPECT_EQ(few.faults_generated, all.faults_generated);  // The same schedule is generated...
  EXPECT_EQ(few.faults_dropped, all.faults_generated - 1);
  EXPECT_EQ(few.ops_generated, all.ops_generated);
  EXPECT_EQ(few.ops, 0u);  // ...and only what is kept is applied.
  EXPECT_LE(few.stats.crashes + few.stats.pauses, 1u);
}

TEST(Shrink, GridOpsAndFaultsCanBeDropped) {
  absl::StatusOr<Scenario> g = ParseScenario(
      R"({"name": "g", "duration_ms": 3000, "grid": {"servers": 2, "clients": 3,
          "offline_per_min": [6, 12]}, "swarm": {"crashes_per_min": [6, 12]},
          "schedule": {"keep_ops": [], "keep_faults": []}})",
      "g.json");
  ASSERT_TRUE(g.ok()) << g.status();
  const RunResult r = RunScenario(*g, {.seed = 2});
  ASSERT_TRUE(r.pass) << r.violation->invariant << ": " << r.violation->detail;
  EXPECT_GT(r.ops_generated, 100u);
  EXPECT_EQ(r.ops_dropped, r.ops_generated);
  EXPECT_EQ(r.ops, 0u);
  EXPECT_GT(r.faults_generated, 0u);
  EXPECT_EQ(r.faults_dropped, r.faults_generated);
  EXPECT_EQ(r.stats.crashes, 0u);
}

TEST(Shrink, CandidatesKeepFaultsConsistentWhenANodeGoes) {
  Scenario s;
  s.name = "x";
  s.nodes = 3;
  s.invariants = {invariants::Invariant::kConvergence};
  s.faults = {FaultEvent{.at_ms = 1, .kind = FaultEvent::Kind::kSplit, .nodes = {2}},
              FaultEvent{.at_ms = 2, .kind = FaultEvent::Kind::kOneWay, .from = {0}, .to = {1, 2}}};
  for (const auto& [what, c] : ShrinkCandidates(s)) {
    if (what != "nodes 3 -> 2") continue;
    ASSERT_EQ(c.faults.size(), 1u);                  // The split of node 2 alone is gone...
    EXPECT_EQ(c.faults[0].to, std::vector<int>{1});  // ...and node 2 left the one-way cut.
    EXPECT_TRUE(ParseScenario(ScenarioToJson(c), "c.json").ok());
    return;
  }
  FAIL() << "no node-removal candidate";
}

TEST(Shrink, GridCandidatesDropTheLastClientAndKeepNodeCountsConsistent) {
  absl::StatusOr<Scenario> s = ParseScenario(
      R"({"name": "g", "grid": {"servers": 2, "clients": 3},
          "faults": [{"at_ms": 1, "kind": "crash", "node": 4}, {"at_ms": 2, "kind": "crash", "node": 0}]})",
      "g.json");
  ASSERT_TRUE(s.ok()) << s.status();
  bool found = false;
  for (const auto& [what, c] : ShrinkCandidates(*s)) {
    EXPECT_NE(what.rfind("nodes", 0), 0u) << "grid scenarios shrink clients, not raw nodes";
    EXPECT_EQ(c.nodes, c.grid->nodes()) << what;
    absl::StatusOr<Scenario> again = ParseScenario(ScenarioToJson(c), "c.json");
    ASSERT_TRUE(again.ok()) << what << ": " << again.status();
    if (what != "clients 3 -> 2") continue;
    found = true;
    ASSERT_EQ(c.faults.size(), 1u);  // The crash of the dropped client (node 4) is gone.
    EXPECT_EQ(c.faults[0].node, 0);
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace seedgrid::scenarios
