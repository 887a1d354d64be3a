// Memory per record and large query results, on the data set of the side-by-side comparison with
// TopGun's TypeScript core (docs/performance.md, "Memory per record"): 1,000,000 records of 8
// fields, hash indexes on `city` (100 values, ~10k rows each) and `status` (10 values, ~100k rows
// each) and a navigable index on `score`.
//
//   BM_MemoryPerRecord   bytes per record in use by the allocator (glibc mallinfo2, not an
//                        estimate): the map alone, then with a query engine and 0, 1 and 3 indexes.
//   BM_QueryHashEqLarge  a hash eq query returning ~10k (Arg 10000) or ~100k (Arg 100000) rows.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <memory>
#include <string>

#include "engine/base/assert.h"
#include "engine/crdt/lww_map.h"
#include "engine/env/testing/manual_env.h"
#include "engine/query/indexed_map.h"
#include "tools/bench/bench_util.h"

// Its own namespace: the dev preset's unity build puts every benchmark file into one TU.
namespace seedgrid::memory_bench {
namespace {

constexpr uint64_t kRecords = 1'000'000;
constexpr uint64_t kCities = 100;
constexpr uint64_t kStatuses = 10;

Document RecordDoc(uint64_t i, Xoshiro256& random) {
  return Document{{"id", static_cast<int64_t>(i)},
                  {"name", fmt::format("name-{}", i)},
                  {"email", fmt::format("user{}@example.com", i)},
                  {"age", static_cast<int64_t>(18 + random.Uniform(62))},
                  {"score", static_cast<double>(random.Uniform(1'000'000)) / 10.0},
                  {"city", fmt::format("city{}", random.Uniform(kCities))},
                  {"status", fmt::format("status{}", random.Uniform(kStatuses))},
                  {"active", random.Uniform(2) == 0}};
}

// Bytes the allocator has handed out and not taken back: small blocks from the arenas plus large
// ones (vectors and hash tables of a million rows) served by mmap.
size_t HeapInUse() {
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

struct Records {
  explicit Records(bool merkle) : map(hlc, {.merkle = merkle}) {}
  ManualClock clock{bench::kStartMs};
  Hlc hlc{clock, {.node_id = "bench"}};
  LwwMap map;
  std::unique_ptr<IndexedLwwMap> indexed;

  void Fill() {
    Xoshiro256 random(19);
    for (uint64_t i = 0; i < kRecords; ++i) map.Set(bench::Key(i), RecordDoc(i, random));
  }
};

double PerRecord(size_t bytes) { return static_cast<double>(bytes) / kRecords; }

// One pass builds the map, attaches the query engine, then adds the indexes one by one, reading
// the allocator after each step. Counters are bytes per record. Arg 1: the map keeps its Merkle
// tree (replica nodes); Arg 0: it does not (grid partitions keep their own digests).
void BM_MemoryPerRecord(benchmark::State& state) {
  for (auto _ : state) {
    const size_t base = HeapInUse();
    auto r = std::make_unique<Records>(state.range(0) == 1);
    r->Fill();
    const size_t map = HeapInUse();
    r->indexed = std::make_unique<IndexedLwwMap>(r->map, IndexedMapOptions{.instance_id = 1});
    const size_t engine = HeapInUse();
    SG_ASSERT(r->indexed->AddIndex(IndexKind::kHash, {"city"}).ok());
    const size_t city = HeapInUse();
    SG_ASSERT(r->indexed->AddIndex(IndexKind::kHash, {"status"}).ok());
    const size_t status = HeapInUse();
    SG_ASSERT(r->indexed->AddIndex(IndexKind::kNavigable, {"score"}).ok());
    const size_t score = HeapInUse();
    benchmark::DoNotOptimize(r.get());
    state.counters["map"] = PerRecord(map - base);
    state.counters["engine_rows"] = PerRecord(engine - map);
    state.counters["hash_city"] = PerRecord(city - engine);
    state.counters["hash_status"] = PerRecord(status - city);
    state.counters["nav_score"] = PerRecord(score - status);
    state.counters["total_0_indexes"] = PerRecord(engine - base);
    state.counters["total_1_index"] = PerRecord(city - base);
    state.counters["total_3_indexes"] = PerRecord(score - base);
  }
}
BENCHMARK(BM_MemoryPerRecord)->Arg(1)->Arg(0)->Iterations(1)->Unit(benchmark::kMillisecond);

Records& Indexed() {
  static Records* records = [] {
    auto* r = new Records(/*merkle=*/true);  // Built once, shared by every BM_QueryHashEqLarge.
    r->Fill();
    r->indexed = std::make_unique<IndexedLwwMap>(r->map, IndexedMapOptions{.instance_id = 1});
    SG_ASSERT(r->indexed->AddIndex(IndexKind::kHash, {"city"}).ok());
    SG_ASSERT(r->indexed->AddIndex(IndexKind::kHash, {"status"}).ok());
    SG_ASSERT(r->indexed->AddIndex(IndexKind::kNavigable, {"score"}).ok());
    return r;
  }();
  return *records;
}

// range(0): the expected row count; 10000 asks for one city, 100000 for one status. range(1) = 1
// asks for the rows in result order (a limit above the row count: key order, as every query was
// before index order), the baseline of the same run.
void BM_QueryHashEqLarge(benchmark::State& state) {
  const bool city = state.range(0) == 10'000;
  const std::optional<uint64_t> limit =
      state.range(1) == 1 ? std::optional<uint64_t>(kRecords) : std::nullopt;
  const Query q{
      city ? Eq("city", std::string("city42")) : Eq("status", std::string("status7")), {}, limit};
  IndexedLwwMap& view = *Indexed().indexed;
  size_t rows = 0;
  for (auto _ : state) {
    absl::StatusOr<QueryPage> page = view.Run(q);
    rows = page->rows.size();
    benchmark::DoNotOptimize(page->rows.data());
  }
  const auto expected = static_cast<size_t>(state.range(0));
  SG_ASSERT(rows > expected * 8 / 10 && rows < expected * 12 / 10);
  state.counters["rows"] = static_cast<double>(rows);
  state.SetItemsProcessed(static_cast<int64_t>(rows) * state.iterations());
  state.SetLabel(limit ? "result order" : "index order");
}
BENCHMARK(BM_QueryHashEqLarge)
    ->Args({10'000, 0})
    ->Args({10'000, 1})
    ->Args({100'000, 0})
    ->Args({100'000, 1})
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace seedgrid::memory_bench
