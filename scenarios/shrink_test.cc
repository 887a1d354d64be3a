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
