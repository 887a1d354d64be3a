#include "scenarios/scenario.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace seedgrid::scenarios {
namespace {

std::string ErrorOf(std::string_view text) {
  absl::StatusOr<Scenario> s = ParseScenario(text, "t.json");
  EXPECT_FALSE(s.ok()) << text;
  return s.ok() ? std::string() : std::string(s.status().message());
}

TEST(ParseScenario, MinimalFileGetsDefaultsAndEveryInvariant) {
  absl::StatusOr<Scenario> s = ParseScenario(R"({"name": "x"})", "t.json");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->nodes, 5);
  EXPECT_EQ(s->invariants.size(), invariants::InvariantsFor(false).size());
  EXPECT_TRUE(s->swarm.buggify);
}

TEST(ParseScenario, ReadsEveryField) {
  absl::StatusOr<Scenario> s = ParseScenario(R"({
    "name": "all", "description": "d", "nodes": 4, "duration_ms": 9000, "liveness_ms": 7000,
    "check_interval_ms": 500, "events_max": 1000000,
    "workload": {"ops_per_sec": 7, "keys": 9, "subscriptions_per_node": 3,
                 "mix": {"lww_set": 1, "lww_remove": 2, "or_add": 3, "or_remove": 4,
                         "counter": 5, "query": 6}},
    "replication": {"flush_interval_ms": 11, "anti_entropy_interval_ms": 12,
                    "anti_entropy_fanout": 2},
    "network": {"latency_min_us": [1, 2], "latency_tail_mean_us": 3},
    "clocks": {"offset_ms": [-5, 5], "drift_ppm": [-6, 6]},
    "swarm": {"loss_ppm": [0, 10], "duplicate_ppm": [1, 2], "reorder_ppm": [3, 4],
              "partitions_per_min": [0, 1], "crashes_per_min": [0, 2], "pauses_per_min": [0, 3],
              "clock_steps_per_min": [0, 4], "clogs_per_min": [0, 5],
              "clock_step_ms": [-7, 7], "fault_duration_ms": [8, 9], "buggify": false,
              "restart_clock_behind_pct": [0, 40], "clock_behind_ms": [10, 20]},
    "faults": [{"at_ms": 100, "kind": "bridge", "left": [0], "right": [2, 3], "node": 1},
               {"at_ms": 200, "kind": "clog", "from": [0], "to": [1], "duration_ms": 50},
               {"at_ms": 300, "kind": "clock_step", "node": 3, "delta_ms": -40},
               {"at_ms": 400, "kind": "restart", "node": 2, "clock_behind_ms": 700}],
    "invariants": ["convergence", "hlc"]
  })",
                                             "t.json");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->nodes, 4);
  EXPECT_EQ(s->mix.query, 6u);
  EXPECT_EQ(s->anti_entropy_fanout, 2);
  EXPECT_EQ(s->latency_min_us, (Range{1, 2}));
  EXPECT_EQ(s->swarm.fault_duration_ms, (Range{8, 9}));
  EXPECT_FALSE(s->swarm.buggify);
  EXPECT_EQ(s->swarm.restart_clock_behind_pct, (Range{0, 40}));
  EXPECT_EQ(s->swarm.clock_behind_ms, (Range{10, 20}));
  ASSERT_EQ(s->faults.size(), 4u);
  EXPECT_EQ(s->faults[3].clock_behind_ms, 700u);
  EXPECT_EQ(s->faults[0].kind, FaultEvent::Kind::kBridge);
  EXPECT_EQ(s->faults[1].to, std::vector<int>{1});
  EXPECT_EQ(s->faults[2].delta_ms, -40);
  EXPECT_EQ(s->invariants.size(), 2u);
}

TEST(ParseScenario, ErrorsNameFileLineColumnAndField) {
  EXPECT_EQ(ErrorOf("{\n  \"name\": \"x\",\n  \"nodes\": 0\n}"),
            "t.json:3:3: nodes: 0 is out of range; expected 1..4096");
  EXPECT_EQ(ErrorOf("{\"name\": \"x\",\n \"network\": {\n   \"latency_min_us\": [5, 1]}}"),
            "t.json:3:4: network.latency_min_us: range [5, 1] has lo > hi");
  EXPECT_EQ(ErrorOf("{\"name\": \"x\", \"nodez\": 3}"),
            "t.json:1:15: nodez: unknown field 'nodez'; known fields: check_interval_ms, clocks, "
            "description, duration_ms, events_max, faults, grid, invariants, liveness_ms, name, "
            "network, nodes, params, regression, replication, schedule, swarm, system, "
            "workload, zones");
  EXPECT_NE(ErrorOf("{\"name\": \"x\",\n \"faults\": [{\"at_ms\": 1, \"kind\": \"heal\"},\n"
                    "  {\"at_ms\": 2, \"kind\": \"explode\"}]}")
                .find("t.json:3:16: faults[1].kind: unknown fault kind 'explode'"),
            std::string::npos);
  EXPECT_NE(ErrorOf("{\"name\": \"x\", \"faults\": [{\"at_ms\": 1, \"kind\": \"crash\", "
                    "\"node\": 9}]}")
                .find("faults[0].node: 9 is out of range; expected 0..4"),
            std::string::npos);
  EXPECT_NE(ErrorOf("{\"name\": \"x\", \"faults\": [{\"at_ms\": 1, \"kind\": \"crash\"}]}")
                .find("a 'crash' fault needs \"node\""),
            std::string::npos);
  EXPECT_NE(ErrorOf("{\"name\": \"x\", \"faults\": [{\"at_ms\": 1, \"kind\": \"crash\", "
                    "\"node\": 1, \"clock_behind_ms\": 50}]}")
                .find("faults[0].clock_behind_ms: only a 'restart' fault takes "
                      "\"clock_behind_ms\", not a 'crash' fault"),
            std::string::npos);
  EXPECT_NE(ErrorOf("{\"name\": \"x\", \"faults\": [{\"at_ms\": 1, \"kind\": \"restart\", "
                    "\"node\": 1, \"clock_behind_ms\": 0}]}")
                .find("faults[0].clock_behind_ms: 0 is out of range"),
            std::string::npos);
  EXPECT_NE(ErrorOf("{\"name\": \"x\", \"swarm\": {\"restart_clock_behind_pct\": [0, 101]}}")
                .find("swarm.restart_clock_behind_pct"),
            std::string::npos);
  EXPECT_NE(ErrorOf("{\"name\": \"x\", \"duration_ms\": 10, \"faults\": [{\"at_ms\": 10, "
                    "\"kind\": \"heal\"}]}")
                .find("not inside the safety phase"),
            std::string::npos);
  EXPECT_NE(ErrorOf("{\"name\": \"x\", \"invariants\": [\"speed\"]}")
                .find("invariants[0]: unknown invariant \"speed\""),
            std::string::npos);
  EXPECT_NE(
      ErrorOf("{\"name\": \"x\", \"nodes\": \"5\"}").find("nodes: expected an integer, got string"),
      std::string::npos);
  EXPECT_NE(ErrorOf("{\"nodes\": 5}").find("a scenario needs a \"name\""), std::string::npos);
  EXPECT_NE(ErrorOf("{\"name\": \"x\", \"swarm\": {\"crash_points_ppm\": [0, 200000]}}")
                .find("swarm.crash_points_ppm: "),
            std::string::npos);
  EXPECT_NE(ErrorOf("{\"name\": \"x\", \"workload\": {\"mix\": {\"lww_set\": 0, \"lww_remove\": "
                    "0, \"or_add\": 0, \"or_remove\": 0, \"counter\": 0, \"query\": 0}}}")
                .find("all weights are zero"),
            std::string::npos);
}

TEST(ParseScenario, CorrelatedFailuresNeedTheirZoneAndDuration) {
  auto s = ParseScenario(R"({"name": "z", "nodes": 6, "zones": 3,
    "swarm": {"power_losses_per_min": [0, 4], "zone_losses_per_min": [1, 2]},
    "faults": [{"at_ms": 100, "kind": "power_loss", "duration_ms": 500},
               {"at_ms": 200, "kind": "zone_loss", "zone": 2, "duration_ms": 50}]})",
                         "z.json");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->faults[1].kind, FaultEvent::Kind::kZoneLoss);
  EXPECT_EQ(s->faults[1].zone, 2);
  EXPECT_EQ(s->swarm.zone_losses_per_min, (Range{1, 2}));
  EXPECT_EQ(s->ZoneOf(4), 1);
  EXPECT_EQ(ErrorOf(R"({"name": "z", "nodes": 6, "zones": 3,
    "faults": [{"at_ms": 100, "kind": "zone_loss", "zone": 3, "duration_ms": 5}]})"),
            "t.json:2:52: faults[0].zone: 3 is out of range; expected 0..2");
  EXPECT_EQ(
      ErrorOf(R"({"name": "z", "faults": [{"at_ms": 1, "kind": "zone_loss", "duration_ms": 5}]})"),
      "t.json:1:39: faults[0].kind: a 'zone_loss' fault needs \"zone\" (0 to zones-1) and "
      "\"duration_ms\"");
  EXPECT_EQ(ErrorOf(R"({"name": "z", "faults": [{"at_ms": 1, "kind": "power_loss"}]})"),
            "t.json:1:39: faults[0].kind: a 'power_loss' fault needs \"duration_ms\" (how long the "
            "nodes stay down)");
}

TEST(ParseScenario, GridSectionSetsNodesAndItsOwnInvariants) {
  absl::StatusOr<Scenario> s = ParseScenario(
      R"({"name": "g", "grid": {"servers": 3, "joins_at_ms": [100], "clients": 4,
          "leaves": [{"at_ms": 200, "server": 3}], "concerns": {"replicated": 1},
          "disk_loss_pct": 10, "offline_per_min": [0, 5], "storage_errors_ppm": [0, 500]},
          "faults": [{"at_ms": 10, "kind": "crash", "node": 7}]})",
      "g.json");
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_TRUE(s->grid.has_value());
  EXPECT_EQ(s->nodes, 8);  // 3 servers + 1 join + 4 clients
  EXPECT_EQ(s->grid->leaves[0].server, 3);
  EXPECT_EQ(s->grid->replicated, 1u);
  EXPECT_EQ(s->grid->storage_errors_ppm, (Range{0, 500}));
  EXPECT_TRUE(s->invariants.contains(invariants::Invariant::kGridExactlyOnce));
  EXPECT_FALSE(s->invariants.contains(invariants::Invariant::kLwwModel));
  absl::StatusOr<Scenario> again = ParseScenario(ScenarioToJson(*s), "again.json");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, *s);
}

TEST(ParseScenario, GridErrorsNameTheField) {
  const auto error_of = [](const std::string& text) {
    return std::string(ParseScenario(text, "g.json").status().message());
  };
  EXPECT_EQ(
      error_of(R"({"name": "g", "grid": {"heartbeat_interval_ms": 500, "suspect_after_ms": 400}})"),
      "g.json:1:54: grid.suspect_after_ms: must exceed heartbeat_interval_ms");
  EXPECT_EQ(
      error_of(R"({"name": "g", "grid": {"servers": 2, "leaves": [{"at_ms": 1, "server": 2}]}})"),
      "g.json:1:62: grid.leaves[0].server: 2 is out of range; expected 0..1");
  EXPECT_EQ(error_of(R"({"name": "g", "duration_ms": 50, "grid": {"joins_at_ms": [60]}})"),
            "g.json:1:59: grid.joins_at_ms[0]: 60 is not a time inside the safety phase "
            "(duration_ms is 50)");
  EXPECT_EQ(error_of(R"({"name": "g", "grid": {}, "invariants": ["lww_model"]})"),
            "g.json:1:42: invariants[0]: unknown invariant \"lww_model\"; expected one of hlc, "
            "grid_table, grid_convergence, grid_durability, grid_exactly_once, grid_live_queries, "
            "grid_storage_acks, grid_lost_update, grid_lww_model, grid_pn_model, grid_or_model, "
            "liveness");
}

TEST(ParseScenario, SyntaxErrorsGiveLineAndColumn) {
  const std::string e = ErrorOf("{\n  \"name\": \"x\",\n  \"nodes\": 5,,\n}");
  EXPECT_EQ(e.rfind("t.json:3:", 0), 0u) << e;
  EXPECT_NE(e.find("not valid JSON"), std::string::npos) << e;
  EXPECT_NE(ErrorOf("").find("not valid JSON"), std::string::npos);
  EXPECT_NE(ErrorOf("[1, 2]").find("expected an object"), std::string::npos);
}

TEST(LoadScenario, MissingFileIsNotFound) {
  EXPECT_EQ(LoadScenario("/nonexistent/x.json").status().code(), absl::StatusCode::kNotFound);
}

TEST(LoadScenario, EveryShippedScenarioParses) {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(SEEDGRID_SCENARIO_DIR)) {
    if (entry.path().extension() != ".json") continue;
    absl::StatusOr<Scenario> s = LoadScenario(entry.path().string());
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(s->name + ".json", entry.path().filename().string());
    ++count;
  }
  EXPECT_GE(count, 11);
}

}  // namespace
}  // namespace seedgrid::scenarios

namespace seedgrid::scenarios {
namespace {

TEST(ScenarioToJson, RoundTripsEveryShippedScenario) {
  for (const auto& entry : std::filesystem::directory_iterator(SEEDGRID_SCENARIO_DIR)) {
    if (entry.path().extension() != ".json") continue;
    absl::StatusOr<Scenario> s = LoadScenario(entry.path().string());
    ASSERT_TRUE(s.ok()) << s.status();
    absl::StatusOr<Scenario> again = ParseScenario(ScenarioToJson(*s), "again.json");
    ASSERT_TRUE(again.ok()) << again.status() << "\n" << ScenarioToJson(*s);
    EXPECT_EQ(*again, *s) << entry.path();
  }
}

}  // namespace
}  // namespace seedgrid::scenarios
