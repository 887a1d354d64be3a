// Crash points under the simulator (engine/base/crash_point.h, sim/simulator.h): a node that
// crashes at a point has no effect after it, is crashed when the event returns, and restarts
// when its owner says; without a sink, or with the owner's veto, nothing happens at all.
#include "engine/base/crash_point.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sim/simulator.h"

namespace seedgrid::sim {
namespace {

// Node 0 pings node 1 every 10 ms. Node 1, on each ping, writes and syncs page "pre", writes
// page "unsynced", reaches a crash point, then answers, writes and syncs page "post" and sets a
// timer: everything after the point must vanish when the point fires.
struct World {
  explicit World(uint64_t seed) : sim(SimulatorOptions{.seed = seed, .nodes = 2}) {
    sim.SetNodeCallbacks([this](int i) { Start(i); }, [](int) {});
    sim.StartAll();
  }

  void Start(int i) {
    Env& env = sim.env(i);
    env.network.SetHandler(sim.node_id(i), [this, i](const NodeId& from, std::string_view) {
      if (i == 0) {
        ++pongs;
        return;
      }
      Env& e = sim.env(1);
      EXPECT_TRUE(e.storage.Write("pre", std::to_string(pings)).ok());
      EXPECT_TRUE(e.storage.Sync().ok());
      EXPECT_TRUE(e.storage.Write("unsynced", "u").ok());
      ++pings;
      SG_CRASH_POINT("simtest.handler");
      after_point_status.push_back(e.storage.Write("post", "p"));
      after_point_status.push_back(e.storage.Sync());
      (void)e.network.Send(sim.node_id(1), from, "pong");
      e.timers.Schedule(1, [this] { ++timers_fired; });
    });
    if (i == 0) Ping();
  }

  void Ping() {
    if (!sim.alive(0)) return;
    (void)sim.env(0).network.Send(sim.node_id(0), sim.node_id(1), "ping");
    sim.env(0).timers.Schedule(10, [this] { Ping(); });
  }

  Simulator sim;
  int pings = 0, pongs = 0, timers_fired = 0;
  std::vector<absl::Status> after_point_status;
};

TEST(CrashPoints, TheNodeHasNoEffectAfterThePointThenCrashesAndRestarts) {
  World w(7);
  std::vector<std::string> crashed;
  w.sim.SetCrashPoints(
      1'000'000, CrashPointHooks{.admit = {}, .crashed = [&](int node, std::string_view name) {
                                   crashed.push_back(std::string(name));
                                   w.sim.At(w.sim.now_ns() + 50'000'000,
                                            [&w, node] { w.sim.Restart(node); });
                                 }});
  ScopedCrashPoints scope(&w.sim.crash_point_sink());
  // Until the first ping has been handled (and the node crashed at its end).
  w.sim.RunUntil(UINT64_MAX, [&] { return w.pings == 1; });
  EXPECT_FALSE(w.sim.alive(1));
  EXPECT_FALSE(w.sim.crashing(1));
  EXPECT_EQ(w.sim.stats().crash_points, 1u);
  EXPECT_EQ(w.sim.stats().crashes, 1u);
  EXPECT_EQ(crashed, std::vector<std::string>{"simtest.handler"});
  // Storage after the point failed without touching the disk; before it, synced writes stand.
  ASSERT_EQ(w.after_point_status.size(), 2u);
  EXPECT_TRUE(absl::IsUnavailable(w.after_point_status[0]));
  EXPECT_TRUE(absl::IsUnavailable(w.after_point_status[1]));
  EXPECT_EQ(*w.sim.storage(1).Read("pre"), "0");
  EXPECT_TRUE(absl::IsNotFound(w.sim.storage(1).Read("unsynced").status()));
  EXPECT_TRUE(absl::IsNotFound(w.sim.storage(1).Read("post").status()));
  EXPECT_EQ(w.sim.stats().dropped_crashing, 1u);
  // Its answer never arrives and its timer never fires.
  w.sim.RunUntil(w.sim.now_ns() + 40'000'000);
  EXPECT_EQ(w.pongs, 0);
  EXPECT_EQ(w.timers_fired, 0);
  // Restarted by the owner's hook; crash points off: it answers again.
  w.sim.SetCrashPoints(0);
  w.sim.RunUntil(w.sim.now_ns() + 100'000'000);
  EXPECT_TRUE(w.sim.alive(1));
  EXPECT_EQ(w.sim.stats().restarts, 1u);
  EXPECT_GT(w.pongs, 0);
  EXPECT_GT(w.timers_fired, 0);
}

TEST(CrashPoints, InertWithoutASinkOrWhenOff) {
  for (const bool installed : {false, true}) {
    World w(7);
    w.sim.SetCrashPoints(installed ? 0 : 1'000'000);
    ScopedCrashPoints scope(installed ? &w.sim.crash_point_sink() : nullptr);
    w.sim.RunUntil(200'000'000);
    EXPECT_EQ(w.sim.stats().crash_points, 0u);
    EXPECT_EQ(w.sim.stats().crashes, 0u);
    EXPECT_GT(w.pongs, 10);
    for (const absl::Status& s : w.after_point_status) EXPECT_TRUE(s.ok());
  }
}

TEST(CrashPoints, OnlyTheRunningNodeCrashes) {
  World w(7);
  w.sim.SetCrashPoints(1'000'000);
  ScopedCrashPoints scope(&w.sim.crash_point_sink());
  bool reached = false;
  w.sim.At(1, [&] {
    SG_CRASH_POINT("simtest.task");  // The owner's own code: no node is running.
    Simulator::ActingAs acting(w.sim, 0);
    reached = true;
    SG_CRASH_POINT("simtest.task");  // Now node 0's.
    EXPECT_TRUE(w.sim.crashing(0));
    EXPECT_FALSE(w.sim.crashing(1));
  });
  w.sim.RunUntil(2);
  EXPECT_TRUE(reached);
  EXPECT_EQ(w.sim.stats().crash_points, 1u);
  EXPECT_FALSE(w.sim.alive(0));
  EXPECT_TRUE(w.sim.alive(1));
}

// The owner's veto leaves no trace, and crash-point draws come from their own stream: a run
// whose every crash point is vetoed is the run without crash points, event for event.
TEST(CrashPoints, AVetoedPointChangesNothing) {
  const auto hash = [](bool armed) {
    World w(11);
    int asked = 0;
    if (armed) {
      w.sim.SetCrashPoints(500'000, CrashPointHooks{.admit = [&](int, std::string_view) {
                             ++asked;
                             return false;
                           }});
    }
    ScopedCrashPoints scope(&w.sim.crash_point_sink());
    w.sim.RunUntil(300'000'000);
    if (armed) {
      EXPECT_GT(asked, 0);
    }
    return w.sim.trace().hash();
  };
  EXPECT_EQ(hash(true), hash(false));
}

TEST(CrashPoints, SameSeedSameTrace) {
  const auto run = [](uint64_t seed) {
    World w(seed);
    w.sim.SetCrashPoints(300'000, CrashPointHooks{.crashed = [&w](int node, std::string_view) {
                           w.sim.At(w.sim.now_ns() + 20'000'000,
                                    [&w, node] { w.sim.Restart(node); });
                         }});
    ScopedCrashPoints scope(&w.sim.crash_point_sink());
    w.sim.RunUntil(1'000'000'000);
    return std::pair(w.sim.trace().hash(), w.sim.stats().crash_points);
  };
  const auto a = run(3);
  EXPECT_EQ(a, run(3));
  EXPECT_GT(a.second, 1u);
  EXPECT_NE(a.first, run(4).first);
}

}  // namespace
}  // namespace seedgrid::sim
