// LWW / OR benchmarks. Every write includes the HLC step, the Merkle update (O(depth)) and the
// change-event dispatch check; the merge benchmarks move pre-built records in, as a decoder does.
#include <benchmark/benchmark.h>

#include <vector>

#include "absl/container/btree_map.h"
#include "engine/crdt/lww_map.h"
#include "engine/crdt/or_map.h"
#include "engine/env/testing/manual_env.h"
#include "tools/bench/bench_util.h"

namespace seedgrid {
namespace {

using bench::Doc;
using bench::Key;

using bench::kStartMs;

// Local Set into a map of `range(0)` keys (overwrites, random key order).
void BM_LwwSetLocal(benchmark::State& state) {
  const uint64_t keys = state.range(0);
  ManualClock clock(kStartMs);
  Hlc hlc(clock, {.node_id = "node-1"});
  LwwMap map(hlc);
  std::vector<std::string> names;
  for (uint64_t i = 0; i < keys; ++i) names.push_back(Key(i));
  for (uint64_t i = 0; i < keys; ++i) map.Set(names[i], Doc(i));
  Xoshiro256 random(1);
  const Document doc = Doc(7);
  for (auto _ : state) map.Set(names[random.Uniform(keys)], doc);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LwwSetLocal)->Arg(10'000)->Arg(1'000'000);

// Remote merge (accepted: newer timestamps) into a map of `range(0)` keys. Records are pre-built
// outside the timed loop and moved in; the loop is fixed at 1M iterations to match them.
void BM_LwwMergeRemote(benchmark::State& state) {
  const uint64_t keys = state.range(0);
  constexpr uint64_t kRecords = 1'000'000;
  ManualClock clock(kStartMs);
  Hlc hlc(clock, {.node_id = "node-1", .drift_mode = DriftMode::kLenient});
  LwwMap map(hlc);
  std::vector<std::string> names;
  for (uint64_t i = 0; i < keys; ++i) names.push_back(Key(i));
  for (uint64_t i = 0; i < keys; ++i) map.Set(names[i], Doc(i));
  Xoshiro256 random(2);
  std::vector<std::pair<std::string, LwwRecord>> incoming;
  incoming.reserve(kRecords);
  const Document doc = Doc(3);
  for (uint64_t i = 0; i < kRecords; ++i) {
    incoming.emplace_back(
        names[random.Uniform(keys)],
        LwwRecord{doc, Timestamp{kStartMs + 1, static_cast<uint32_t>(i), "node-2"}, std::nullopt});
  }
  size_t next = 0;
  for (auto _ : state) {
    auto& [key, record] = incoming[next++];
    benchmark::DoNotOptimize(map.Merge(std::move(key), std::move(record)).ok());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LwwMergeRemote)->Arg(10'000)->Arg(1'000'000)->Iterations(1'000'000);

// Baseline in the same run: the same inserts into a bare btree_map (no HLC, no Merkle, no
// events), to show what the CRDT machinery costs on top of the container.
void BM_LwwBaselineBtreeAssign(benchmark::State& state) {
  const uint64_t keys = state.range(0);
  absl::btree_map<std::string, LwwRecord> map;
  std::vector<std::string> names;
  for (uint64_t i = 0; i < keys; ++i) names.push_back(Key(i));
  for (uint64_t i = 0; i < keys; ++i) map[names[i]] = LwwRecord{Doc(i), {kStartMs, 0, "n"}, {}};
  Xoshiro256 random(2);
  std::vector<LwwRecord> incoming(1'000'000,
                                  LwwRecord{Doc(3), Timestamp{kStartMs + 1, 0, "node-2"}, {}});
  size_t next = 0;
  for (auto _ : state) map[names[random.Uniform(keys)]] = std::move(incoming[next++]);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LwwBaselineBtreeAssign)->Arg(10'000)->Arg(1'000'000)->Iterations(1'000'000);

void BM_OrAdd(benchmark::State& state) {
  ManualClock clock(kStartMs);
  Hlc hlc(clock, {.node_id = "node-1"});
  OrMap map(hlc);
  Xoshiro256 random(3);
  const Document doc = Doc(1);
  for (auto _ : state) {
    const uint64_t k = random.Uniform(10'000);
    map.Add(Key(k), doc);
    if (map.GetEntry(Key(k))->items.size() > 8) {  // Keep sets small, as real tags are.
      state.PauseTiming();
      map.Remove(Key(k), doc);
      map.PruneTombstones(hlc.Now());
      state.ResumeTiming();
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_OrAdd);

// Add then remove of the same value: one add + one observed remove per iteration.
void BM_OrAddRemove(benchmark::State& state) {
  ManualClock clock(kStartMs);
  Hlc hlc(clock, {.node_id = "node-1"});
  OrMap map(hlc);
  Xoshiro256 random(4);
  const Document doc = Doc(1);
  uint64_t ops = 0;
  for (auto _ : state) {
    const std::string key = Key(random.Uniform(10'000));
    map.Add(key, doc);
    benchmark::DoNotOptimize(map.Remove(key, doc).size());
    if (++ops % 100'000 == 0) {
      state.PauseTiming();
      map.PruneTombstones(hlc.Now());
      state.ResumeTiming();
    }
  }
  state.SetItemsProcessed(state.iterations() * 2);
}
BENCHMARK(BM_OrAddRemove);

// Remote merge of one key's add (a new tag) into a map of 10k keys.
void BM_OrMergeRemote(benchmark::State& state) {
  ManualClock clock(kStartMs);
  Hlc hlc(clock, {.node_id = "node-1", .drift_mode = DriftMode::kLenient});
  OrMap map(hlc);
  Xoshiro256 random(5);
  const Document doc = Doc(2);
  uint32_t counter = 0;
  for (auto _ : state) {
    const std::string key = Key(random.Uniform(10'000));
    std::vector<OrRecord> items{{Timestamp{kStartMs, counter++, "node-2"}, doc, std::nullopt}};
    std::vector<Timestamp> tombstones;
    if (const OrEntry* e = map.GetEntry(key); e != nullptr && e->items.size() >= 4) {
      tombstones.push_back(e->items.begin()->first);  // Remove the oldest tag, keep sets small.
    }
    benchmark::DoNotOptimize(map.Merge(key, items, tombstones).ok());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_OrMergeRemote);

}  // namespace
}  // namespace seedgrid
