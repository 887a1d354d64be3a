// BM_Sim*: the simulator's own speed. The event queue must schedule + dispatch >= 20 M events/s
// on one core; BM_SimBenchScenario runs scenarios/bench.json and reports the virtual/wall
// compression.
#include <benchmark/benchmark.h>

#include <chrono>

#include "scenarios/runner.h"
#include "sim/event_queue.h"
#include "sim/random.h"
#include "sim/simulator.h"

namespace seedgrid {
namespace {

// Steady state: `pending` events queued; each iteration dispatches the earliest (a switch on its
// kind, as the simulator does) and schedules one more at a random later time.
void BM_SimEventQueue(benchmark::State& state) {
  const auto pending = static_cast<size_t>(state.range(0));
  sim::EventQueue q;
  Xoshiro256 r(1);
  for (size_t i = 0; i < pending; ++i) q.Push(r.Uniform(1'000'000), i % 3, 0, i);
  uint64_t sum = 0;
  for (auto _ : state) {
    const sim::Event e = q.Pop();
    switch (e.kind) {
      case 0:
        sum += e.a;
        break;
      case 1:
        sum ^= e.a;
        break;
      default:
        sum -= e.a;
        break;
    }
    q.Push(e.time_ns + 1 + (r.Next64() & 0xfffff), e.kind, e.node, e.a);
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SimEventQueue)->Arg(64)->Arg(1024)->Arg(65536);

// A node's timer re-arming itself: Timers::Schedule + dispatch through the simulator (slot reuse,
// drift scaling, trace hash).
void BM_SimTimer(benchmark::State& state) {
  sim::Simulator sim(
      sim::SimulatorOptions{.seed = 1, .nodes = 1, .clocks = {{0, 50}}, .events_max = UINT64_MAX});
  sim.StartAll();
  uint64_t fired = 0;
  std::function<void()> arm = [&] {
    ++fired;
    sim.env(0).timers.Schedule(1, arm);
  };
  sim.env(0).timers.Schedule(1, arm);
  const std::function<bool()> stop = [] { return true; };  // One event per iteration.
  for (auto _ : state) sim.RunUntil(UINT64_MAX, stop);
  state.SetItemsProcessed(static_cast<int64_t>(fired));
}
BENCHMARK(BM_SimTimer);

// A message bounced between two nodes through the simulated network (latency draw, message slab,
// delivery, trace hash), 64-byte payload.
void BM_SimMessage(benchmark::State& state) {
  sim::Simulator sim(sim::SimulatorOptions{.seed = 1, .nodes = 2, .events_max = UINT64_MAX});
  const std::string payload(64, 'x');
  uint64_t delivered = 0;
  sim.SetNodeCallbacks(
      [&](int i) {
        sim.env(i).network.SetHandler(sim.node_id(i), [&, i](const NodeId& from, std::string_view) {
          ++delivered;
          (void)sim.env(i).network.Send(sim.node_id(i), from, payload);
        });
      },
      [](int) {});
  sim.StartAll();
  (void)sim.env(0).network.Send("n0", "n1", payload);
  const std::function<bool()> stop = [] { return true; };  // One delivery per iteration.
  for (auto _ : state) sim.RunUntil(UINT64_MAX, stop);
  state.SetItemsProcessed(static_cast<int64_t>(delivered));
}
BENCHMARK(BM_SimMessage);

// The performance reference scenario, whole: 32 replica nodes, 10 virtual minutes.
void BM_SimBenchScenario(benchmark::State& state) {
  absl::StatusOr<scenarios::Scenario> s =
      scenarios::LoadScenario(SEEDGRID_SOURCE_DIR "/scenarios/bench.json");
  if (!s.ok()) {
    state.SkipWithError(std::string(s.status().message()).c_str());
    return;
  }
  uint64_t virtual_ms = 0, events = 0, messages = 0;
  double wall_ms = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    const scenarios::RunResult r = scenarios::RunScenario(*s, {.seed = 1});
    wall_ms +=
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (!r.pass) state.SkipWithError(r.violation->detail.c_str());
    virtual_ms += r.virtual_ms;
    events += r.sim_events;
    messages += r.messages;
  }
  state.counters["compression_x"] = static_cast<double>(virtual_ms) / wall_ms;
  state.counters["sim_events_per_s"] =
      benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
  state.counters["messages_per_s"] =
      benchmark::Counter(static_cast<double>(messages), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_SimBenchScenario)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace
}  // namespace seedgrid
