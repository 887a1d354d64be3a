#include "sim/simulator.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "sim/event_queue.h"
#include "sim/random.h"

namespace seedgrid::sim {
namespace {

TEST(EventQueue, OrdersByTimeThenSequence) {
  EventQueue q;
  q.Push(30, 1, 0);
  q.Push(10, 2, 0);
  q.Push(10, 3, 0);
  q.Push(20, 4, 0);
  std::vector<uint32_t> kinds;
  while (!q.empty()) kinds.push_back(q.Pop().kind);
  EXPECT_EQ(kinds, (std::vector<uint32_t>{2, 3, 4, 1}));
  EXPECT_EQ(q.now_ns(), 30u);
}

RC_GTEST_PROP(EventQueue, PopsInTimeSequenceOrder, (std::vector<uint16_t> times)) {
  EventQueue q;
  for (uint16_t t : times) q.Push(t, 0, 0);
  uint64_t last_time = 0, last_seq = 0;
  bool first = true;
  while (!q.empty()) {
    const Event e = q.Pop();
    if (!first) {
      RC_ASSERT(e.time_ns >= last_time);
      if (e.time_ns == last_time) RC_ASSERT(e.seq > last_seq);
    }
    first = false;
    last_time = e.time_ns;
    last_seq = e.seq;
  }
}

TEST(Exponential, MeanIsCloseAndDrawsAreBounded) {
  Xoshiro256 r(5);
  uint64_t sum = 0;
  for (int i = 0; i < 100'000; ++i) {
    const uint64_t d = Exponential(r, 1000);
    ASSERT_LE(d, 20'000u);
    sum += d;
  }
  EXPECT_NEAR(static_cast<double>(sum) / 100'000, 1000.0, 20.0);
  // Fixed algorithm: the same seed gives these exact values everywhere.
  Xoshiro256 again(5);
  Xoshiro256 once_more(5);
  EXPECT_EQ(Exponential(again, 1'000'000), Exponential(once_more, 1'000'000));
}

// A ping-pong app: each node answers every message with its own until a hop budget runs out.
struct PingWorld {
  explicit PingWorld(SimulatorOptions o) : sim(std::move(o)) {
    sim.SetNodeCallbacks(
        [this](int i) {
          sim.env(i).network.SetHandler(
              sim.node_id(i), [this, i](const NodeId& from, std::string_view bytes) {
                ++received[i];
                const int hops = std::stoi(std::string(bytes));
                if (hops > 0)
                  (void)sim.env(i).network.Send(sim.node_id(i), from, std::to_string(hops - 1));
              });
        },
        [](int) {});
    received.assign(sim.nodes(), 0);
    sim.StartAll();
  }
  Simulator sim;
  std::vector<int> received;
};

TEST(Simulator, SameSeedSameTraceDifferentSeedDifferentTrace) {
  const auto run = [](uint64_t seed) {
    PingWorld w(SimulatorOptions{.seed = seed, .nodes = 4});
    w.sim.SetFaultRates({.loss_ppm = 100'000, .duplicate_ppm = 100'000, .reorder_ppm = 100'000});
    for (int i = 0; i < 4; ++i)
      (void)w.sim.env(i).network.Send(w.sim.node_id(i), w.sim.node_id((i + 1) % 4), "50");
    EXPECT_TRUE(w.sim.RunUntil(10'000'000'000));
    return std::pair{w.sim.trace().hash(), w.sim.stats().messages_delivered};
  };
  EXPECT_EQ(run(1), run(1));
  EXPECT_NE(run(1).first, run(2).first);
  EXPECT_GT(run(1).second, 10u);
}

TEST(Simulator, PartitionsBlockAndHealRestores) {
  PingWorld w(SimulatorOptions{.seed = 1, .nodes = 3});
  w.sim.Split({0});
  EXPECT_TRUE(w.sim.blocked(0, 1) && w.sim.blocked(1, 0) && !w.sim.blocked(1, 2));
  (void)w.sim.env(0).network.Send("n0", "n1", "0");
  w.sim.RunUntil(1'000'000'000);
  EXPECT_EQ(w.received[1], 0);
  EXPECT_EQ(w.sim.stats().dropped_partition, 1u);
  w.sim.HealAll();
  w.sim.Block(0, 1);  // One way: 1 -> 0 still works.
  (void)w.sim.env(1).network.Send("n1", "n0", "0");
  (void)w.sim.env(0).network.Send("n0", "n1", "0");
  w.sim.RunUntil(2'000'000'000);
  EXPECT_EQ(w.received[0], 1);
  EXPECT_EQ(w.received[1], 0);
  w.sim.HealAll();
  w.sim.Bridge({0, 1}, {2, 1}, 1);  // n1 bridges; n0 and n2 cannot talk.
  EXPECT_TRUE(w.sim.blocked(0, 2) && w.sim.blocked(2, 0));
  EXPECT_FALSE(w.sim.blocked(0, 1) || w.sim.blocked(1, 2) || w.sim.blocked(2, 1));
}

TEST(Simulator, CrashDropsInFlightAndTimersRestartStartsAgain) {
  PingWorld w(SimulatorOptions{.seed = 1, .nodes = 2});
  int fired = 0;
  w.sim.env(1).timers.Schedule(5, [&] { ++fired; });
  (void)w.sim.env(0).network.Send("n0", "n1", "0");
  w.sim.Crash(1);
  w.sim.Restart(1);
  w.sim.RunUntil(1'000'000'000);
  EXPECT_EQ(w.received[1], 0);  // Sent to the old incarnation: dropped.
  EXPECT_EQ(fired, 0);
  EXPECT_EQ(w.sim.stats().dropped_dead, 1u);
  (void)w.sim.env(0).network.Send("n0", "n1", "0");
  w.sim.RunUntil(2'000'000'000);
  EXPECT_EQ(w.received[1], 1);
}

TEST(Simulator, PauseHoldsMessagesAndMakesTimersLate) {
  PingWorld w(SimulatorOptions{.seed = 1, .nodes = 2});
  uint64_t fired_at = 0;
  w.sim.env(1).timers.Schedule(10, [&] { fired_at = w.sim.now_ns(); });
  w.sim.Pause(1, 500'000'000);
  (void)w.sim.env(0).network.Send("n0", "n1", "0");
  w.sim.RunUntil(400'000'000);
  EXPECT_EQ(w.received[1], 0);
  EXPECT_EQ(fired_at, 0u);
  w.sim.RunUntil(1'000'000'000);
  EXPECT_EQ(w.received[1], 1);
  EXPECT_EQ(fired_at, 500'000'000u);
}

TEST(Simulator, DriftScalesTimersAndStepsMoveTheClock) {
  Simulator sim(SimulatorOptions{.seed = 1, .nodes = 1, .clocks = {{0, 100'000}}});  // +10%
  uint64_t fired_at = 0;
  sim.env(0).timers.Schedule(1100, [&] { fired_at = sim.now_ns(); });
  sim.StartAll();
  sim.RunUntil(5'000'000'000);
  EXPECT_EQ(fired_at, 1'000'000'000u);  // 1100 ms of a clock 10% fast is 1 s of virtual time.
  const uint64_t before = sim.env(0).clock.NowMs();
  sim.StepClock(0, -2000);
  EXPECT_EQ(sim.env(0).clock.NowMs(), before - 2000);
}

TEST(Simulator, CloggedLinkDelaysUntilUnclogged) {
  PingWorld w(SimulatorOptions{.seed = 1, .nodes = 2});
  w.sim.Clog(0, 1, 3'000'000'000);
  (void)w.sim.env(0).network.Send("n0", "n1", "0");
  w.sim.RunUntil(2'900'000'000);
  EXPECT_EQ(w.received[1], 0);
  w.sim.RunUntil(4'000'000'000);
  EXPECT_EQ(w.received[1], 1);
  EXPECT_EQ(w.sim.stats().clogged, 1u);
}

}  // namespace
}  // namespace seedgrid::sim

namespace seedgrid::sim {
namespace {

// Per-link classes: links between zones take their minimum and tail from the cross-zone class.
TEST(Simulator, CrossZoneLinksUseTheirOwnLatencyClass) {
  SimulatorOptions o{.seed = 9, .nodes = 4};
  o.latency_min_lo_ns = 100'000;
  o.latency_min_hi_ns = 200'000;
  o.latency_tail_mean_ns = 50'000;
  o.zone_of = {0, 0, 1, 1};
  o.cross_zone = true;
  o.cross_latency_min_lo_ns = 50'000'000;
  o.cross_latency_min_hi_ns = 60'000'000;
  o.cross_tail = {TailKind::kPareto, 10'000'000, 2000};
  Simulator sim(o);
  std::vector<std::pair<int, uint64_t>> arrivals;  // (receiver, time)
  sim.SetNodeCallbacks(
      [&](int i) {
        sim.env(i).network.SetHandler(sim.node_id(i), [&, i](const NodeId&, std::string_view) {
          arrivals.emplace_back(i, sim.now_ns());
        });
      },
      [](int) {});
  sim.StartAll();
  for (int k = 0; k < 200; ++k) {
    (void)sim.env(0).network.Send("n0", k % 2 == 0 ? "n1" : "n2", "x");
  }
  ASSERT_TRUE(sim.RunUntil(100'000'000'000));
  ASSERT_EQ(arrivals.size(), 200u);
  uint64_t cross_max = 0;
  for (const auto& [node, at] : arrivals) {
    if (node == 1) {
      EXPECT_LT(at, 100'000 + 200'000 + 20 * 50'000 + 1) << "same zone";
    } else {
      EXPECT_GE(at, 50'000'000u) << "across zones";
      EXPECT_LE(at, 60'000'000u + 200 * 10'000'000u);
      cross_max = std::max(cross_max, at);
    }
  }
  EXPECT_GT(cross_max, 60'000'000u + 10'000'000u);  // the Pareto tail reaches past its mean
}

}  // namespace
}  // namespace seedgrid::sim
