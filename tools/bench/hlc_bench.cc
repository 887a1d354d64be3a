#include <benchmark/benchmark.h>

#include "engine/env/real/real_env.h"
#include "engine/env/testing/manual_env.h"
#include "engine/hlc/hlc.h"

namespace seedgrid {
namespace {

// Physical clock frozen: every call takes the counter path (the common case under load, when
// many events share a millisecond).
void BM_HlcNow(benchmark::State& state) {
  ManualClock clock(1'700'000'000'000);
  Hlc hlc(clock, {.node_id = "node-1"});
  for (auto _ : state) benchmark::DoNotOptimize(hlc.Now().counter);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HlcNow);

// Physical clock advancing every call: the (physical, 0) path.
void BM_HlcNowAdvancingClock(benchmark::State& state) {
  ManualClock clock(1'700'000'000'000);
  Hlc hlc(clock, {.node_id = "node-1"});
  for (auto _ : state) {
    clock.AdvanceMs(1);
    benchmark::DoNotOptimize(hlc.Now().millis);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HlcNowAdvancingClock);

// With the real system clock: includes clock_gettime (vDSO).
void BM_HlcNowSystemClock(benchmark::State& state) {
  SystemClock clock;
  Hlc hlc(clock, {.node_id = "node-1"});
  for (auto _ : state) benchmark::DoNotOptimize(hlc.Now().counter);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HlcNowSystemClock);

void BM_HlcUpdate(benchmark::State& state) {
  ManualClock clock(1'700'000'000'000);
  Hlc hlc(clock, {.node_id = "node-1"});
  Timestamp remote{1'700'000'000'000, 0, "node-2"};
  for (auto _ : state) {
    ++remote.counter;
    benchmark::DoNotOptimize(hlc.Update(remote).ok());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HlcUpdate);

}  // namespace
}  // namespace seedgrid
