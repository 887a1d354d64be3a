// Shared helpers for seedgrid_bench: deterministic inputs so runs are comparable.
#ifndef SEEDGRID_TOOLS_BENCH_BENCH_UTIL_H_
#define SEEDGRID_TOOLS_BENCH_BENCH_UTIL_H_

#include <fmt/format.h>

#include <string>

#include "engine/crdt/value.h"
#include "engine/env/xoshiro.h"

namespace seedgrid::bench {

// A fixed physical start time for the benchmarks' manual clocks.
inline constexpr uint64_t kStartMs = 1'700'000'000'000;

inline std::string Key(uint64_t i) { return fmt::format("user:{:08}", i); }

// A typical small document: 4 fields.
inline Document Doc(uint64_t i) {
  return Document{{"name", fmt::format("name-{}", i)},
                  {"age", static_cast<int64_t>(i % 90)},
                  {"score", static_cast<double>(i) * 0.5},
                  {"active", i % 2 == 0}};
}

}  // namespace seedgrid::bench

#endif  // SEEDGRID_TOOLS_BENCH_BENCH_UTIL_H_
