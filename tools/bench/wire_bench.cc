// Wire benchmarks: encode, and verify + decode, of a 1,000-record OP_BATCH.
#include <benchmark/benchmark.h>

#include "engine/wire/codec.h"
#include "tools/bench/bench_util.h"

namespace seedgrid {
namespace {

msg::Envelope Batch1000() {
  msg::OpBatch batch{1, "users", {}, {}};
  for (uint64_t i = 0; i < 1000; ++i) {
    batch.lww.push_back(
        {bench::Key(i),
         LwwRecord{bench::Doc(i), Timestamp{1'700'000'000'000 + i, 0, "node-1"}, std::nullopt}});
  }
  return msg::Envelope{"node-1", std::move(batch)};
}

void BM_WireEncodeOpBatch1000(benchmark::State& state) {
  const msg::Envelope e = Batch1000();
  size_t bytes = 0;
  for (auto _ : state) {
    bytes = EncodeMessage(e).size();
    benchmark::DoNotOptimize(bytes);
  }
  state.SetBytesProcessed(state.iterations() * bytes);
  state.SetItemsProcessed(state.iterations() * 1000);
  state.counters["message_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_WireEncodeOpBatch1000)->Unit(benchmark::kMicrosecond);

void BM_WireDecodeOpBatch1000(benchmark::State& state) {
  const std::string bytes = EncodeMessage(Batch1000());
  for (auto _ : state) {
    auto decoded = DecodeMessage(bytes);
    if (!decoded.ok()) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(decoded);
  }
  state.SetBytesProcessed(state.iterations() * bytes.size());
  state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_WireDecodeOpBatch1000)->Unit(benchmark::kMicrosecond);

void BM_WireRoundTripOpBatch1000(benchmark::State& state) {
  const msg::Envelope e = Batch1000();
  for (auto _ : state) {
    auto decoded = DecodeMessage(EncodeMessage(e));
    benchmark::DoNotOptimize(decoded);
  }
  state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_WireRoundTripOpBatch1000)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace seedgrid
