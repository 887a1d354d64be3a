// ProcessPool: runs the `seedgrid` tool's simulations in long-lived child processes, so that a
// crash (signal, failed SG_ASSERT, sanitizer report, std::terminate) or a hang inside one
// simulation costs that one task, never the campaign.
//
// Contract:
// - `jobs` workers are forked from the calling process at Run() (so they share everything the
//   caller loaded, copy-on-write). Tasks are numbered 0, 1, 2, ... and handed out in that order;
//   `run(index)` executes in a worker and returns the task's result as bytes (the caller's
//   encoding), which travel back over a pipe.
// - A worker that dies during a task (any signal, any exit) ends that task as kCrashed, with the
//   signal or exit status and the last bytes the worker wrote to stderr (the assertion text, the
//   sanitizer report). A task that runs longer than `run_timeout_s` (0 = no limit) is killed
//   (SIGKILL) and ends as kTimedOut. Either way the worker is replaced and the pool goes on.
// - Deterministic order: `deliver(index, end)` is called in index order 0, 1, 2, ... with no
//   gaps, on the calling thread. `started(index)` (optional) is called when a task is handed to
//   a worker, before it runs; `tick()` (optional) about every `tick_s` while tasks run.
// - Task input: `task_of(index)` (optional) is called in the calling process when a task is
//   handed out, and its bytes reach `run(index, bytes)` in the worker (so a task may depend on
//   results delivered since the workers were forked).
// - Bounded: at most `tasks_max` tasks, claimed only while `more()` (optional) is true, and at
//   most `results_waiting_max` finished tasks wait for an earlier one.
// - Interrupts: SIGINT, SIGTERM and SIGHUP to the calling process stop the pool: workers are
//   killed, Run() returns early and interrupted() is true (the caller reports what was in flight;
//   those tasks are not delivered). Workers ignore SIGINT (a terminal's Ctrl-C reaches the
//   whole process group) and die with the calling process (PR_SET_PDEATHSIG).
// - Run() is called once, from a single-threaded process (fork must not race other threads).
#ifndef SEEDGRID_TOOLS_SEEDGRID_PROCESS_POOL_H_
#define SEEDGRID_TOOLS_SEEDGRID_PROCESS_POOL_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace seedgrid::tools {

struct ProcessPoolOptions {
  int jobs = 1;                         // worker processes, 1..kJobsMax
  uint64_t tasks_max = 0;               // tasks claimed, at most
  uint64_t results_waiting_max = 1024;  // finished results held for in-order delivery, >= 1
  double run_timeout_s = 0;             // wall-clock limit per task; 0 = none
  double tick_s = 1;                    // how often tick() is called while tasks run
};

// How a task ended.
struct TaskEnd {
  enum class Kind { kDone, kCrashed, kTimedOut };
  Kind kind = Kind::kDone;
  std::string payload;      // kDone: what run() returned
  int signal = 0;           // kCrashed: the signal that killed the worker, or 0
  int exit_status = -1;     // kCrashed: the worker's exit status when it exited, else -1
  std::string stderr_tail;  // the last bytes (at most kStderrTailMax) the task wrote to stderr
  double wall_ms = 0;       // from hand-out to end
};

class ProcessPool {
 public:
  static constexpr int kJobsMax = 1024;
  static constexpr size_t kStderrTailMax = 64 * 1024;  // an ASan report with its shadow map
  using RunFn = std::function<std::string(uint64_t index, const std::string& task)>;
  using TaskFn = std::function<std::string(uint64_t index)>;
  using DeliverFn = std::function<void(uint64_t index, TaskEnd& end)>;
  using StartFn = std::function<void(uint64_t index)>;
  using MoreFn = std::function<bool()>;
  using TickFn = std::function<void()>;

  ProcessPool(const ProcessPoolOptions& options, RunFn run, DeliverFn deliver);
  ~ProcessPool();
  ProcessPool(const ProcessPool&) = delete;
  ProcessPool& operator=(const ProcessPool&) = delete;

  void set_started(StartFn f) { started_ = std::move(f); }
  // Called when a task ends (its result arrived, or its worker died or timed out), in the order
  // tasks end — before the in-order delivery, which may wait for an earlier task.
  void set_ended(StartFn f) { ended_ = std::move(f); }
  void set_more(MoreFn f) { more_ = std::move(f); }
  void set_task_of(TaskFn f) { task_of_ = std::move(f); }
  void set_tick(TickFn f) { tick_ = std::move(f); }

  // Runs tasks until the budget is spent (or an interrupt); returns the number delivered.
  uint64_t Run();
  bool interrupted() const { return interrupted_; }
  // Tasks handed out and not yet ended, in index order, with their wall-clock start.
  std::vector<std::pair<uint64_t, std::chrono::steady_clock::time_point>> InFlight() const;

 private:
  struct Worker;
  bool Spawn(Worker& w);
  // noexcept: an exception in a worker must end the worker (std::terminate), never unwind into
  // the caller's code that was running when it was forked.
  [[noreturn]] void ServeTasks(int task_fd, int result_fd) noexcept;
  void Dispatch();
  void Wait();
  void OnResultReadable(Worker& w);
  void OnStderrReadable(Worker& w);
  void EndTask(Worker& w, TaskEnd end);
  void Reap(Worker& w, TaskEnd::Kind kind);
  void CheckTimeouts();
  void Deliver();
  void Shutdown(bool kill_workers);
  int PollTimeoutMs() const;

  const ProcessPoolOptions options_;
  const RunFn run_;
  const DeliverFn deliver_;
  StartFn started_;
  StartFn ended_;
  MoreFn more_;
  TickFn tick_;
  TaskFn task_of_;

  std::vector<Worker> workers_;
  uint64_t claimed_ = 0;
  uint64_t delivered_ = 0;
  bool stopped_ = false;  // no more claims
  bool interrupted_ = false;
  std::map<uint64_t, TaskEnd> waiting_;  // ended, not yet delivered (by index)
  std::chrono::steady_clock::time_point next_tick_;
};

}  // namespace seedgrid::tools

#endif  // SEEDGRID_TOOLS_SEEDGRID_PROCESS_POOL_H_
