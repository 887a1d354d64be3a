// Merkle benchmarks: incremental upsert cost, and the diff of two 1,000,000-key trees that differ
// in 1,000 keys (leaf diff, and exact key diff).
#include <benchmark/benchmark.h>

#include <memory>

#include "engine/env/xoshiro.h"
#include "engine/merkle/merkle_tree.h"
#include "tools/bench/bench_util.h"

namespace seedgrid {
namespace {

void BM_MerkleUpsert(benchmark::State& state) {
  MerkleTree tree(static_cast<int>(state.range(0)));
  Xoshiro256 random(1);
  std::vector<std::string> keys;
  for (int i = 0; i < 100'000; ++i) keys.push_back(bench::Key(i));
  for (const auto& k : keys) tree.Upsert(k, random.Next64());
  for (auto _ : state) tree.Upsert(keys[random.Uniform(keys.size())], random.Next64());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MerkleUpsert)->Arg(3)->Arg(4);

struct TreePair {
  std::vector<std::string> keys;  // The trees borrow these.
  std::unique_ptr<MerkleTree> a, b;
};

// Built once per depth and reused across benchmark repetitions (building 2M items takes seconds).
const TreePair& Trees(int depth) {
  static std::unique_ptr<TreePair> cached[MerkleTree::kDepthMax + 1];
  if (!cached[depth]) {
    auto pair = std::make_unique<TreePair>();
    pair->a = std::make_unique<MerkleTree>(depth);
    pair->b = std::make_unique<MerkleTree>(depth);
    Xoshiro256 random(42);
    pair->keys.reserve(1'000'000);
    for (uint64_t i = 0; i < 1'000'000; ++i) {
      const std::string& key = pair->keys.emplace_back(bench::Key(i));
      const uint64_t h = random.Next64();
      pair->a->Upsert(key, h);
      // 1,000 keys differ: every 1000th key has another item hash in b.
      pair->b->Upsert(key, i % 1000 == 0 ? h ^ 1 : h);
    }
    cached[depth] = std::move(pair);
  }
  return *cached[depth];
}

void BM_MerkleDiffLeaves1M(benchmark::State& state) {
  const TreePair& t = Trees(static_cast<int>(state.range(0)));
  size_t leaves = 0;
  for (auto _ : state) {
    leaves = t.a->DiffLeaves(*t.b).size();
    benchmark::DoNotOptimize(leaves);
  }
  state.counters["differing_leaves"] = static_cast<double>(leaves);
}
BENCHMARK(BM_MerkleDiffLeaves1M)->Arg(3)->Arg(4)->Arg(5)->Unit(benchmark::kMicrosecond);

void BM_MerkleDiffKeys1M(benchmark::State& state) {
  const TreePair& t = Trees(static_cast<int>(state.range(0)));
  size_t keys = 0;
  for (auto _ : state) {
    keys = t.a->DiffKeys(*t.b).size();
    benchmark::DoNotOptimize(keys);
  }
  if (keys != 1000) state.SkipWithError("diff did not find exactly the 1,000 differing keys");
  state.counters["differing_keys"] = static_cast<double>(keys);
  state.counters["tree_MiB"] = static_cast<double>(t.a->ApproxBytes()) / (1 << 20);
}
BENCHMARK(BM_MerkleDiffKeys1M)->Arg(3)->Arg(4)->Arg(5)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace seedgrid
