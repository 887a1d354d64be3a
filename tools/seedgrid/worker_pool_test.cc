#include "tools/seedgrid/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

namespace seedgrid::tools {
namespace {

// Later tasks finish first, so threads complete out of index order.
uint64_t SlowEarly(uint64_t index, uint64_t tasks) {
  std::this_thread::sleep_for(std::chrono::microseconds(200 * (tasks - index % tasks)));
  return index * index;
}

TEST(WorkerPool, DeliversEveryTaskInIndexOrder) {
  for (int jobs : {1, 2, 4, 8}) {
    constexpr uint64_t kTasks = 40;
    std::vector<uint64_t> delivered;
    WorkerPool<uint64_t> pool(
        {.jobs = jobs, .tasks_max = kTasks, .results_waiting_max = kTasks},
        [](uint64_t i) { return SlowEarly(i, kTasks); },
        [&](uint64_t i, uint64_t& result) {
          EXPECT_EQ(result, i * i);
          delivered.push_back(i);
        });
    EXPECT_EQ(pool.Run(), kTasks);
    ASSERT_EQ(delivered.size(), kTasks) << "jobs=" << jobs;
    for (uint64_t i = 0; i < kTasks; ++i) EXPECT_EQ(delivered[i], i) << "jobs=" << jobs;
  }
}

TEST(WorkerPool, NeverRunsFurtherAheadThanTheWaitingBound) {
  constexpr uint64_t kTasks = 60;
  constexpr uint64_t kWaitingMax = 3;
  std::atomic<uint64_t> delivered{0};
  std::atomic<uint64_t> ahead_max{0};
  WorkerPool<uint64_t> pool(
      {.jobs = 4, .tasks_max = kTasks, .results_waiting_max = kWaitingMax},
      [&](uint64_t i) {
        const uint64_t ahead = i - delivered.load();
        uint64_t seen = ahead_max.load();
        while (ahead > seen && !ahead_max.compare_exchange_weak(seen, ahead)) {
        }
        return SlowEarly(i, 7);
      },
      [&](uint64_t, uint64_t&) { delivered.fetch_add(1); });
  EXPECT_EQ(pool.Run(), kTasks);
  EXPECT_LT(ahead_max.load(), kWaitingMax);
}

TEST(WorkerPool, StopsClaimingWhenMoreSaysNoAndFinishesWhatItStarted) {
  std::vector<uint64_t> delivered;
  std::atomic<uint64_t> started{0};
  WorkerPool<uint64_t> pool(
      {.jobs = 3, .tasks_max = 1'000'000, .results_waiting_max = 16},
      [&](uint64_t i) {
        started.fetch_add(1);
        return SlowEarly(i, 5);
      },
      [&](uint64_t i, uint64_t&) { delivered.push_back(i); },
      [&] { return delivered.size() < 10; });  // Asked under the pool's lock.
  const uint64_t n = pool.Run();
  EXPECT_GE(n, 10u);
  EXPECT_EQ(n, started.load());
  ASSERT_EQ(delivered.size(), n);
  for (uint64_t i = 0; i < n; ++i) EXPECT_EQ(delivered[i], i);
}

TEST(WorkerPool, ZeroTasksRunsNothing) {
  WorkerPool<int> pool(
      {.jobs = 2, .tasks_max = 0},
      [](uint64_t) {
        ADD_FAILURE() << "no task may run";
        return 0;
      },
      [](uint64_t, int&) { ADD_FAILURE() << "nothing to deliver"; });
  EXPECT_EQ(pool.Run(), 0u);
}

}  // namespace
}  // namespace seedgrid::tools
