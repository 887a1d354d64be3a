#include "scenarios/runner.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace seedgrid::scenarios {
namespace {

Scenario Small() {
  absl::StatusOr<Scenario> s = ParseScenario(R"({
    "name": "small", "nodes": 4, "duration_ms": 6000, "liveness_ms": 30000,
    "workload": {"ops_per_sec": 80, "keys": 30},
    "swarm": {"loss_ppm": [0, 100000], "duplicate_ppm": [0, 50000], "reorder_ppm": [0, 100000],
              "partitions_per_min": [0, 20], "crashes_per_min": [0, 20], "pauses_per_min": [0, 10],
              "clock_steps_per_min": [0, 10], "clogs_per_min": [0, 10]}
  })",
                                             "small.json");
  EXPECT_TRUE(s.ok()) << s.status();
  return *s;
}

TEST(RunScenario, PassesAndIsDeterministicPerSeed) {
  const Scenario s = Small();
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    RunResult a = RunScenario(s, {.seed = seed, .keep_trace_log = true});
    ASSERT_TRUE(a.pass) << "seed " << seed << ": " << a.violation->invariant << ": "
                        << a.violation->detail;
    RunResult b = RunScenario(s, {.seed = seed, .keep_trace_log = true});
    EXPECT_EQ(a.trace_hash, b.trace_hash) << seed;
    EXPECT_EQ(sim::FirstDivergence(a.trace_log, b.trace_log), -1) << seed;
    EXPECT_GT(a.ops, 200u);
    EXPECT_GT(a.messages, 1000u);
  }
  EXPECT_NE(RunScenario(s, {.seed = 1}).trace_hash, RunScenario(s, {.seed = 2}).trace_hash);
}

TEST(RunScenario, SwarmDrawsFaultKindsWithinRanges) {
  const Scenario s = Small();
  int loss_on = 0, crashes_on = 0, buggify_on = 0;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    const SwarmDraw d = DrawSwarm(s, seed);
    EXPECT_LE(d.loss_ppm, 100'000u);
    loss_on += d.loss_ppm > 0;
    crashes_on += d.crashes_per_min > 0;
    buggify_on += d.buggify;
  }
  EXPECT_GT(loss_on, 60);  // About half the seeds turn each kind on.
  EXPECT_LT(loss_on, 140);
  EXPECT_GT(crashes_on, 60);
  EXPECT_GT(buggify_on, 60);
}

TEST(RunScenario, GridSwarmDrawsStorageErrorsOfflineAndTornWrites) {
  absl::StatusOr<Scenario> g = ParseScenario(
      R"({"name": "g", "grid": {"storage_errors_ppm": [100, 200], "offline_per_min": [0, 6]}})",
      "g.json");
  ASSERT_TRUE(g.ok()) << g.status();
  int offline_on = 0, torn_on = 0;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    const SwarmDraw d = DrawSwarm(*g, seed);
    EXPECT_GE(d.storage_errors_ppm, 100u);  // lo > 0: always on
    EXPECT_LE(d.storage_errors_ppm, 200u);
    offline_on += d.offline_per_min > 0;
    torn_on += d.torn_writes;
  }
  EXPECT_GT(offline_on, 60);
  EXPECT_LT(offline_on, 140);
  EXPECT_GT(torn_on, 60);
  EXPECT_LT(torn_on, 140);
  const SwarmDraw replica = DrawSwarm(Small(), 3);
  EXPECT_EQ(replica.storage_errors_ppm, 0u);
  EXPECT_FALSE(replica.torn_writes);
}

TEST(RunScenario, AWriteOutsideTheHistoryIsCaughtByTheLwwModel) {
  const Scenario s = Small();
  RunOptions o{.seed = 3};
  o.on_node_start = [](int node, ReplicaNode& n) {
    if (node == 2) n.Set("users", "planted", Document{{"city", "Nowhere"}});
  };
  RunResult r = RunScenario(s, o);
  ASSERT_FALSE(r.pass);
  EXPECT_EQ(r.violation->invariant, "lww_model");
  EXPECT_NE(r.violation->detail.find("'planted'"), std::string::npos) << r.violation->detail;
  EXPECT_GT(r.violation->event_index, 0u);
}

TEST(RunScenario, ALostReplicaIsALivenessViolation) {
  Scenario s = Small();
  s.swarm = Swarm{};
  s.faults = {FaultEvent{.at_ms = 1000, .kind = FaultEvent::Kind::kIsolate, .node = 1}};
  s.liveness_ms = 50;  // Far too short to repair five seconds of isolation.
  RunResult r = RunScenario(s, {.seed = 1});
  ASSERT_FALSE(r.pass);
  EXPECT_EQ(r.violation->invariant, "liveness");
  EXPECT_NE(r.violation->detail.find("did not converge within 50 ms"), std::string::npos)
      << r.violation->detail;
}

// Crash points: a node crashes exactly at an SG_CRASH_POINT; every model still holds, the run is
// a pure function of its seed, and turning crash points on moves no other draw of the swarm.
TEST(RunScenario, CrashPointsCrashNodesAtPointsAndKeepTheModels) {
  Scenario s = Small();
  s.swarm = Swarm{};
  s.swarm.crash_points_ppm = Range{20'000, 20'000};
  uint64_t fired = 0;
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    RunResult a = RunScenario(s, {.seed = seed, .keep_trace_log = true});
    ASSERT_TRUE(a.pass) << "seed " << seed << ": " << a.violation->invariant << ": "
                        << a.violation->detail;
    EXPECT_EQ(a.swarm.crash_points_ppm, 20'000u);
    EXPECT_EQ(a.stats.crashes, a.stats.crash_points);  // Every crash here is a crash point's.
    EXPECT_GE(a.stats.restarts + 4, a.stats.crashes);
    EXPECT_GT(a.faults_generated, 0u);  // Each fired point took a fault index.
    fired += a.stats.crash_points;
    EXPECT_TRUE(std::any_of(a.probes.begin(), a.probes.end(),
                            [](const auto& p) { return p.first.starts_with("crash.replica_"); }));
    RunResult b = RunScenario(s, {.seed = seed, .keep_trace_log = true});
    EXPECT_EQ(sim::FirstDivergence(a.trace_log, b.trace_log), -1) << seed;
  }
  EXPECT_GT(fired, 8u);
  Scenario off = s;
  off.swarm.crash_points_ppm = Range{};
  SwarmDraw with = DrawSwarm(s, 9), without = DrawSwarm(off, 9);
  with.crash_points_ppm = 0;
  EXPECT_EQ(with, without);
  EXPECT_FALSE(ValidateSwarm(off, DrawSwarm(s, 9)).ok());
}

TEST(RunScenario, CrashRestartKeepsAcknowledgedWrites) {
  Scenario s = Small();
  s.swarm = Swarm{};
  s.faults = {FaultEvent{.at_ms = 1000, .kind = FaultEvent::Kind::kIsolate, .node = 0},
              FaultEvent{.at_ms = 3000, .kind = FaultEvent::Kind::kCrash, .node = 0},
              FaultEvent{.at_ms = 3500, .kind = FaultEvent::Kind::kHeal},
              FaultEvent{.at_ms = 4000, .kind = FaultEvent::Kind::kRestart, .node = 0}};
  // n0's isolated writes exist only in its storage when it crashes; the models demand them.
  RunResult r = RunScenario(s, {.seed = 5});
  ASSERT_TRUE(r.pass) << r.violation->invariant << ": " << r.violation->detail;
  EXPECT_EQ(r.stats.crashes, 1u);
  EXPECT_EQ(r.stats.restarts, 1u);
}

// The restart fault with `clock_behind_ms`: the node's clock is set below its last stamp before it
// restarts (the trace says so), its next stamps still exceed every one before the crash (`hlc`),
// and the HLC's restored state is what kept them above.
TEST(RunScenario, ARestartWithTheClockBehindNeverReissuesAStamp) {
  for (const bool grid : {false, true}) {
    Scenario s = Small();
    s.swarm = Swarm{};
    if (grid) {
      absl::StatusOr<Scenario> g = ParseScenario(
          R"({"name": "g", "duration_ms": 6000, "workload": {"ops_per_sec": 80, "keys": 30},
              "grid": {"servers": 2, "clients": 2}})",
          "g.json");
      ASSERT_TRUE(g.ok()) << g.status();
      s = *g;
    }
    for (const int node : {0, s.nodes - 1}) {  // replica n0 / n3; grid: a server and a client
      s.faults = {FaultEvent{.at_ms = 2000, .kind = FaultEvent::Kind::kCrash, .node = node},
                  FaultEvent{.at_ms = 2500,
                             .kind = FaultEvent::Kind::kRestart,
                             .node = node,
                             .clock_behind_ms = 3000}};
      std::vector<std::string> lines;
      RunOptions o{.seed = 7};
      o.trace_sink = [&lines](const sim::TraceEvent& e) {
        if (e.kind == sim::TraceKind::kFault) lines.emplace_back(e.detail);
      };
      RunResult r = RunScenario(s, o);
      ASSERT_TRUE(r.pass) << r.violation->invariant << ": " << r.violation->detail;
      const auto behind = std::find_if(lines.begin(), lines.end(), [](const std::string& l) {
        return l.starts_with("clock behind n");
      });
      ASSERT_NE(behind, lines.end()) << (grid ? "grid" : "replica") << " n" << node;
      EXPECT_NE(behind->find("3000 ms below its last issued stamp (1"), std::string::npos)
          << *behind;
      EXPECT_NE(behind->find("clock stepped -"), std::string::npos) << *behind;
      ASSERT_NE(behind + 1, lines.end());
      EXPECT_EQ(*(behind + 1), fmt::format("restart n{}", node));
      const auto probe = std::find_if(r.probes.begin(), r.probes.end(), [](const auto& p) {
        return p.first == "hlc.restart_clock_behind_saved_stamp";
      });
      EXPECT_NE(probe, r.probes.end()) << (grid ? "grid" : "replica") << " n" << node;
    }
  }
}

TEST(RunScenario, SwarmDrawsRestartsWithTheClockBehindFromItsOwnStream) {
  Scenario s = Small();
  Scenario with = s;
  with.swarm.restart_clock_behind_pct = Range{0, 50};
  int on = 0;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    SwarmDraw a = DrawSwarm(s, seed);
    const SwarmDraw b = DrawSwarm(with, seed);
    EXPECT_EQ(a.restart_clock_behind_pct, 0u);
    EXPECT_LE(b.restart_clock_behind_pct, 50u);
    on += b.restart_clock_behind_pct > 0;
    a.restart_clock_behind_pct = b.restart_clock_behind_pct;
    EXPECT_EQ(a, b) << seed;  // No other draw moved.
    EXPECT_TRUE(ValidateSwarm(with, b).ok());
  }
  EXPECT_GT(on, 60);
  EXPECT_LT(on, 140);
}

}  // namespace
}  // namespace seedgrid::scenarios
