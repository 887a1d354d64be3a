// WorkerPool: the one place the `seedgrid` tool runs simulations in parallel (suite and fuzz).
//
// Contract:
// - Tasks are numbered 0, 1, 2, ... and claimed in that order by `jobs` threads. Each task owns
//   a whole simulation: `run(index)` is called concurrently on the pool's threads and must not
//   touch shared mutable state (simulations are single-threaded; parallelism is across seeds).
// - Bounded: at most `tasks_max` tasks are claimed, and a task is claimed only while
//   `more()` (optional) returns true. `more()` is asked under the pool's lock before each claim,
//   so a time budget stops new claims but never abandons a claimed task.
// - Deterministic result order: `deliver(index, result)` is called one call at a time (under the
//   pool's lock, so it may print and update the caller's state without locking) in index order
//   0, 1, 2, ... with no gaps, whatever order the threads finish in. Everything decided or
//   printed in `deliver` is therefore the same for any `jobs`, given the same number of tasks.
// - Bounded waiting: at most `results_waiting_max` finished results wait for an earlier task; a
//   thread that would run further ahead of the oldest unfinished task waits until it finishes.
// - Run() returns once every claimed task has been delivered: the tasks run are exactly 0..n-1,
//   and it returns n.
// - `claimed(index)` (optional, set_claimed) is called under the pool's lock when a task is
//   claimed, before it runs, in index order.
// - `run` and `deliver` must not throw: an exception on a pool thread ends the process, as a
//   crash inside a simulation does.
#ifndef SEEDGRID_TOOLS_SEEDGRID_WORKER_POOL_H_
#define SEEDGRID_TOOLS_SEEDGRID_WORKER_POOL_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "engine/base/assert.h"

namespace seedgrid::tools {

struct WorkerPoolOptions {
  int jobs = 1;                         // threads, 1..kJobsMax
  uint64_t tasks_max = 0;               // tasks claimed, at most
  uint64_t results_waiting_max = 1024;  // finished results held for in-order delivery, >= 1
};

template <typename Result>
class WorkerPool {
 public:
  static constexpr int kJobsMax = 1024;
  using RunFn = std::function<Result(uint64_t index)>;
  using DeliverFn = std::function<void(uint64_t index, Result& result)>;
  using MoreFn = std::function<bool()>;

  WorkerPool(const WorkerPoolOptions& options, RunFn run, DeliverFn deliver, MoreFn more = {})
      : options_(options),
        run_(std::move(run)),
        deliver_(std::move(deliver)),
        more_(std::move(more)) {
    SG_ASSERT(options_.jobs >= 1);
    SG_ASSERT(options_.jobs <= kJobsMax);
    SG_ASSERT(options_.results_waiting_max >= 1);
    SG_ASSERT(run_ != nullptr);
    SG_ASSERT(deliver_ != nullptr);
  }
  WorkerPool(const WorkerPool&) = delete;
  void set_claimed(std::function<void(uint64_t index)> f) { claimed_fn_ = std::move(f); }
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Runs tasks until the budget is spent; returns the number of tasks run and delivered.
  // REQUIRES: called once.
  uint64_t Run() {
    std::vector<std::thread> threads;
    threads.reserve(options_.jobs);
    for (int j = 0; j < options_.jobs; ++j) threads.emplace_back([this] { Work(); });
    for (std::thread& t : threads) t.join();
    SG_ASSERT(delivered_ == claimed_);
    SG_ASSERT(waiting_.empty());
    return delivered_;
  }

 private:
  void Work() {
    for (std::optional<uint64_t> index = Claim(); index; index = Claim()) {
      Result result = run_(*index);
      Finish(*index, std::move(result));
    }
  }

  // The next task's index, or nullopt once the budget is spent.
  std::optional<uint64_t> Claim() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      if (!stopped_ && (claimed_ >= options_.tasks_max || (more_ && !more_()))) {
        stopped_ = true;
        room_.notify_all();
      }
      if (stopped_) return std::nullopt;
      if (claimed_ - delivered_ < options_.results_waiting_max) {
        if (claimed_fn_) claimed_fn_(claimed_);
        return claimed_++;
      }
      room_.wait(lock);  // The oldest claimed task is running; its delivery wakes us.
    }
  }

  // Stores the result, then delivers every result that no earlier task holds up.
  void Finish(uint64_t index, Result&& result) {
    std::lock_guard<std::mutex> lock(mu_);
    SG_ASSERT(index >= delivered_);
    SG_ASSERT(index < claimed_);
    waiting_.emplace(index, std::move(result));
    bool delivered_any = false;
    while (!waiting_.empty() && waiting_.begin()->first == delivered_) {
      deliver_(delivered_, waiting_.begin()->second);
      waiting_.erase(waiting_.begin());
      ++delivered_;
      delivered_any = true;
    }
    SG_ASSERT(waiting_.size() <= options_.results_waiting_max);
    if (delivered_any) room_.notify_all();
  }

  const WorkerPoolOptions options_;
  const RunFn run_;
  const DeliverFn deliver_;
  const MoreFn more_;
  std::function<void(uint64_t index)> claimed_fn_;

  std::mutex mu_;
  std::condition_variable room_;        // signalled when a delivery frees room, or on stop
  uint64_t claimed_ = 0;                // tasks 0..claimed_-1 have been claimed
  uint64_t delivered_ = 0;              // tasks 0..delivered_-1 have been delivered
  bool stopped_ = false;                // no more claims
  std::map<uint64_t, Result> waiting_;  // finished, not yet delivered (ordered by index)
};

}  // namespace seedgrid::tools

#endif  // SEEDGRID_TOOLS_SEEDGRID_WORKER_POOL_H_
