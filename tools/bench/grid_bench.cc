// BM_Grid*: the grid's in-process write path. One GridServer (no backups) applies client GridOps
// delivered straight to its handler: decode, partition grouping, dedupe marks, HLC re-stamp, LWW
// apply, a storage page per record and a sync per batch, an ack encoded back. Items = writes.
// BM_GridServerWrites/<batch>/<persist>; compare /1 (a message per write) with /100.
// BM_GridScale: scenarios/grid_scale.json (5 servers, 500 clients) stretched to 10 virtual minutes
// of safety phase: virtual/wall compression, messages/s, and wall time per client op end to end.
#include <benchmark/benchmark.h>

#include <chrono>
#include <memory>

#include "engine/cluster/grid_server.h"
#include "engine/env/mem_storage.h"
#include "engine/env/testing/manual_env.h"
#include "engine/env/xoshiro.h"
#include "engine/wire/codec.h"
#include "scenarios/runner.h"

namespace seedgrid {
namespace {

class NullNetwork final : public Network {
 public:
  absl::Status Send(const NodeId&, const NodeId&, std::string_view bytes) override {
    bytes_ += bytes.size();
    return absl::OkStatus();
  }
  void SetHandler(const NodeId&, Handler) override {}
  uint64_t bytes_ = 0;
};

void BM_GridServerWrites(benchmark::State& state) {
  const auto batch = static_cast<size_t>(state.range(0));
  const bool persist = state.range(1) != 0;
  ManualClock clock{1'700'000'000'000};
  ManualTimers timers{clock};
  Xoshiro256 random{1};
  NullNetwork network;
  MemStorage storage;
  Env env{clock, random, network, timers, storage};
  auto server = GridServer::Open(env, {.node_id = "s0", .seeds = {"s0"}, .persist = persist});
  if (!server.ok()) {
    state.SkipWithError(std::string(server.status().message()).c_str());
    return;
  }
  clock.AdvanceMs(2000);  // Alone: joins after suspect_after_ms and publishes its table.
  timers.RunDue();
  // Pre-encoded batches from 64 clients over 100k keys; seqs increase per client.
  constexpr size_t kBatches = 512;
  std::vector<std::string> messages;
  std::vector<uint64_t> next_seq(64, 1);
  for (size_t b = 0; b < kBatches; ++b) {
    const size_t c = b % 64;
    msg::GridOps ops{"c" + std::to_string(c), "", 0, {}};
    for (size_t i = 0; i < batch; ++i) {
      const uint64_t key = random.Uniform(100'000);
      ops.ops.push_back(msg::GridOp{
          next_seq[c]++, msg::WriteConcern::kApplied, "users", "k" + std::to_string(key),
          Document{{"v", static_cast<int64_t>(key)}}, Timestamp{clock.NowMs(), 0, ops.client}});
    }
    messages.push_back(EncodeMessage(msg::Envelope{ops.client, ops}));
  }
  size_t next = 0;
  uint64_t writes = 0;
  for (auto _ : state) {
    if (next == messages.size()) {
      // Every batch was applied once; later rounds are duplicates (acknowledged, not applied).
      state.PauseTiming();
      server->reset();
      storage = MemStorage();
      server = GridServer::Open(env, {.node_id = "s0", .seeds = {"s0"}, .persist = persist});
      clock.AdvanceMs(2000);
      timers.RunDue();
      next = 0;
      state.ResumeTiming();
    }
    const std::string& m = messages[next++];
    const size_t c = (next - 1) % 64;
    (*server)->HandleMessage("c" + std::to_string(c), m);
    timers.RunDue();  // The group commit (0 ms): the sync and the ack, one per batch.
    writes += batch;
  }
  state.SetItemsProcessed(static_cast<int64_t>(writes));
  state.counters["applied"] = static_cast<double>((*server)->stats().ops_applied);
}
BENCHMARK(BM_GridServerWrites)->Args({1, 1})->Args({100, 1})->Args({100, 0});

void BM_GridScale(benchmark::State& state) {
  absl::StatusOr<scenarios::Scenario> s =
      scenarios::LoadScenario(SEEDGRID_SOURCE_DIR "/scenarios/grid_scale.json");
  if (!s.ok()) {
    state.SkipWithError(std::string(s.status().message()).c_str());
    return;
  }
  s->duration_ms = static_cast<uint64_t>(state.range(0)) * 1000;
  uint64_t virtual_ms = 0, messages = 0, ops = 0;
  double wall_ms = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    const scenarios::RunResult r = scenarios::RunScenario(*s, {.seed = 1});
    wall_ms +=
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (!r.pass) state.SkipWithError(r.violation->detail.c_str());
    virtual_ms += r.virtual_ms;
    messages += r.messages;
    ops += r.ops;
  }
  state.counters["compression_x"] = static_cast<double>(virtual_ms) / wall_ms;
  state.counters["messages_per_s"] =
      benchmark::Counter(static_cast<double>(messages), benchmark::Counter::kIsRate);
  state.counters["us_per_client_op"] = wall_ms * 1000.0 / static_cast<double>(ops);
  state.counters["client_ops"] = static_cast<double>(ops);
}
BENCHMARK(BM_GridScale)->Arg(60)->Arg(600)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace
}  // namespace seedgrid
