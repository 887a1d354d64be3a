#include "tools/seedgrid/process_pool.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace seedgrid::tools {
namespace {

using Kind = TaskEnd::Kind;

// Runs `tasks` tasks of `run` and returns their ends in delivery order (checked to be index order).
std::vector<TaskEnd> RunAll(int jobs, uint64_t tasks, ProcessPool::RunFn run,
                            double timeout_s = 0) {
  std::vector<TaskEnd> ends;
  ProcessPool pool(
      {.jobs = jobs, .tasks_max = tasks, .results_waiting_max = tasks, .run_timeout_s = timeout_s},
      std::move(run), [&](uint64_t index, TaskEnd& end) {
        EXPECT_EQ(index, ends.size());
        ends.push_back(std::move(end));
      });
  EXPECT_EQ(pool.Run(), tasks);
  EXPECT_FALSE(pool.interrupted());
  return ends;
}

TEST(ProcessPool, DeliversEveryResultInIndexOrder) {
  for (int jobs : {1, 2, 4}) {
    const std::vector<TaskEnd> ends = RunAll(jobs, 20, [](uint64_t i, const std::string&) {
      std::this_thread::sleep_for(std::chrono::microseconds(300 * (20 - i)));  // Late ones first.
      return std::to_string(i * i);
    });
    ASSERT_EQ(ends.size(), 20u);
    for (uint64_t i = 0; i < ends.size(); ++i) {
      EXPECT_EQ(ends[i].kind, Kind::kDone);
      EXPECT_EQ(ends[i].payload, std::to_string(i * i)) << "jobs=" << jobs;
    }
  }
}

// `ended` reports a task when it ends, before an earlier slow task lets it be delivered.
TEST(ProcessPool, EndedComesAsTasksEndNotInDeliveryOrder) {
  std::vector<uint64_t> ended, delivered;
  std::vector<size_t> delivered_when_ended;  // deliveries so far at each end
  ProcessPool pool(
      {.jobs = 2, .tasks_max = 2, .results_waiting_max = 2},
      [](uint64_t i, const std::string&) {
        if (i == 0) std::this_thread::sleep_for(std::chrono::milliseconds(300));
        return std::string("x");
      },
      [&](uint64_t index, TaskEnd&) { delivered.push_back(index); });
  pool.set_ended([&](uint64_t index) {
    ended.push_back(index);
    delivered_when_ended.push_back(delivered.size());
  });
  EXPECT_EQ(pool.Run(), 2u);
  EXPECT_EQ(ended, (std::vector<uint64_t>{1, 0}));
  EXPECT_EQ(delivered, (std::vector<uint64_t>{0, 1}));
  EXPECT_EQ(delivered_when_ended, (std::vector<size_t>{0, 0}));  // task 1 ended, undelivered
}

TEST(ProcessPool, ACrashEndsOnlyItsTaskAndTheWorkerIsReplaced) {
  const std::vector<TaskEnd> ends = RunAll(2, 10, [](uint64_t i, const std::string&) {
    if (i == 2) {
      std::fprintf(stderr, "x.cc:12: assertion failed: planted\n");
      std::abort();
    }
    if (i == 5) std::raise(SIGSEGV);
    if (i == 7) _exit(7);
    return std::string("ok");
  });
  ASSERT_EQ(ends.size(), 10u);
  for (uint64_t i = 0; i < ends.size(); ++i) {
    if (i == 2 || i == 5 || i == 7) continue;
    EXPECT_EQ(ends[i].kind, Kind::kDone) << i;
    EXPECT_EQ(ends[i].payload, "ok");
  }
  EXPECT_EQ(ends[2].kind, Kind::kCrashed);
  EXPECT_EQ(ends[2].signal, SIGABRT);
  EXPECT_NE(ends[2].stderr_tail.find("assertion failed: planted"), std::string::npos);
  EXPECT_EQ(ends[5].kind, Kind::kCrashed);
  // Under AddressSanitizer the segfault is reported by ASan, which exits with status 1.
  EXPECT_TRUE(ends[5].signal == SIGSEGV ||
              (ends[5].exit_status == 1 &&
               ends[5].stderr_tail.find("AddressSanitizer") != std::string::npos))
      << ends[5].signal << " " << ends[5].exit_status << " " << ends[5].stderr_tail;
  EXPECT_EQ(ends[7].kind, Kind::kCrashed);
  EXPECT_EQ(ends[7].signal, 0);
  EXPECT_EQ(ends[7].exit_status, 7);
}

TEST(ProcessPool, StderrBelongsToTheTaskThatWroteIt) {
  const std::vector<TaskEnd> ends = RunAll(1, 3, [](uint64_t i, const std::string&) {
    std::fprintf(stderr, "task %d says hi\n", static_cast<int>(i));
    return std::string();
  });
  for (uint64_t i = 0; i < ends.size(); ++i) {
    EXPECT_EQ(ends[i].stderr_tail, "task " + std::to_string(i) + " says hi\n");
  }
}

TEST(ProcessPool, ATaskOverTheTimeoutIsKilledAsAHang) {
  const auto start = std::chrono::steady_clock::now();
  const std::vector<TaskEnd> ends = RunAll(
      2, 4,
      [](uint64_t i, const std::string&) {
        if (i == 1) std::this_thread::sleep_for(std::chrono::seconds(60));
        return std::string("ok");
      },
      /*timeout_s=*/0.3);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  EXPECT_EQ(ends[1].kind, Kind::kTimedOut);
  EXPECT_GE(ends[1].wall_ms, 300);
  for (uint64_t i : {0, 2, 3}) EXPECT_EQ(ends[i].kind, Kind::kDone);
}

TEST(ProcessPool, TaskBytesComeFromTheCallerAtHandOutTime) {
  std::vector<std::string> payloads;
  uint64_t started = 0;
  ProcessPool pool(
      {.jobs = 1, .tasks_max = 4, .results_waiting_max = 1},
      [](uint64_t i, const std::string& task) { return task + "/" + std::to_string(i); },
      [&](uint64_t, TaskEnd& end) { payloads.push_back(end.payload); });
  // Each task's bytes depend on the results delivered before it was handed out.
  pool.set_task_of([&](uint64_t) { return std::to_string(payloads.size()); });
  pool.set_started([&](uint64_t i) { EXPECT_EQ(i, started++); });
  EXPECT_EQ(pool.Run(), 4u);
  EXPECT_EQ(payloads, (std::vector<std::string>{"0/0", "1/1", "2/2", "3/3"}));
}

TEST(ProcessPool, NeverRunsFurtherAheadThanTheWaitingBound) {
  uint64_t delivered = 0;
  ProcessPool pool(
      {.jobs = 4, .tasks_max = 12, .results_waiting_max = 2},
      [](uint64_t i, const std::string&) {
        if (i % 4 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
        return std::string();
      },
      [&](uint64_t, TaskEnd&) { ++delivered; });
  pool.set_started([&](uint64_t i) { EXPECT_LT(i, delivered + 2); });
  EXPECT_EQ(pool.Run(), 12u);
}

TEST(ProcessPool, MoreStopsNewTasks) {
  uint64_t delivered = 0;
  ProcessPool pool(
      {.jobs = 2, .tasks_max = 1000, .results_waiting_max = 2},
      [](uint64_t, const std::string&) { return std::string(); },
      [&](uint64_t, TaskEnd&) { ++delivered; });
  pool.set_more([&] { return delivered < 5; });
  const uint64_t n = pool.Run();
  EXPECT_GE(n, 5u);
  EXPECT_LE(n, 7u);  // At most results_waiting_max more once the budget is spent.
}

TEST(ProcessPool, AnInterruptStopsThePoolAndNamesWhatWasRunning) {
  ProcessPool pool(
      {.jobs = 2, .tasks_max = 10},
      [](uint64_t, const std::string&) {
        std::this_thread::sleep_for(std::chrono::seconds(30));
        return std::string();
      },
      [](uint64_t, TaskEnd&) { ADD_FAILURE() << "nothing finishes"; });
  pool.set_started([](uint64_t i) {
    if (i == 1) std::raise(SIGTERM);  // Caught by the pool while it runs.
  });
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(pool.Run(), 0u);
  EXPECT_TRUE(pool.interrupted());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  ASSERT_EQ(pool.InFlight().size(), 2u);
  EXPECT_EQ(pool.InFlight()[0].first, 0u);
  EXPECT_EQ(pool.InFlight()[1].first, 1u);
}

}  // namespace
}  // namespace seedgrid::tools
