#include "tools/seedgrid/process_pool.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <csignal>
#include <cstdio>
#include <cstring>

#include "engine/base/assert.h"

namespace seedgrid::tools {

namespace {

using Clock = std::chrono::steady_clock;

// Set by the interrupt handler; Run() polls it. (A process-wide flag is what a signal handler
// can touch; the tool never runs two pools at once.)
volatile std::sig_atomic_t g_interrupt = 0;
int g_scopes = 0;  // InterruptScopes alive (a crash diagnosis runs a pool inside a pool)

void OnInterrupt(int /*signal*/) { g_interrupt = 1; }

// Installs the interrupt handlers for the pool's lifetime and restores the old ones after.
class InterruptScope {
 public:
  InterruptScope() {
    if (g_scopes++ == 0) g_interrupt = 0;
    struct sigaction sa {};
    sa.sa_handler = OnInterrupt;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // No SA_RESTART: poll() returns EINTR at once.
    for (size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &sa, &old_[i]);
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ignore, &old_pipe_);  // A dead worker's pipe must not kill us.
  }
  ~InterruptScope() {
    --g_scopes;
    for (size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &old_[i], nullptr);
    sigaction(SIGPIPE, &old_pipe_, nullptr);
  }

 private:
  static constexpr std::array<int, 3> kSignals = {SIGINT, SIGTERM, SIGHUP};
  std::array<struct sigaction, 3> old_{};
  struct sigaction old_pipe_ {};
};

bool WriteAll(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool ReadAll(int fd, void* data, size_t size) {
  char* p = static_cast<char*>(data);
  while (size > 0) {
    const ssize_t n = read(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

void CloseFd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

}  // namespace

struct ProcessPool::Worker {
  pid_t pid = -1;
  int task_fd = -1;    // parent writes task indexes
  int result_fd = -1;  // parent reads framed results (non-blocking)
  int err_fd = -1;     // parent reads the worker's stderr (non-blocking)
  bool busy = false;
  uint64_t index = 0;
  Clock::time_point start;
  std::string frame;        // result bytes read so far
  std::string stderr_tail;  // of the current task
};

ProcessPool::ProcessPool(const ProcessPoolOptions& options, RunFn run, DeliverFn deliver)
    : options_(options), run_(std::move(run)), deliver_(std::move(deliver)) {
  SG_ASSERT(options_.jobs >= 1);
  SG_ASSERT(options_.jobs <= kJobsMax);
  SG_ASSERT(options_.results_waiting_max >= 1);
  SG_ASSERT(options_.run_timeout_s >= 0);
  SG_ASSERT(options_.tick_s > 0);
  SG_ASSERT(run_ != nullptr);
  SG_ASSERT(deliver_ != nullptr);
}

ProcessPool::~ProcessPool() { Shutdown(/*kill_workers=*/true); }

// Forks one worker. Returns false when the OS refuses (the pool then runs with fewer workers).
bool ProcessPool::Spawn(Worker& w) {
  int task[2], result[2], err[2];
  if (pipe(task) != 0) return false;
  if (pipe(result) != 0) {
    close(task[0]), close(task[1]);
    return false;
  }
  if (pipe(err) != 0) {
    close(task[0]), close(task[1]), close(result[0]), close(result[1]);
    return false;
  }
  std::fflush(nullptr);  // Buffered output must not be written twice.
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(0);  // The parent died before prctl took effect.
    signal(SIGINT, SIG_IGN);
    for (int s : {SIGTERM, SIGHUP, SIGPIPE}) signal(s, SIG_DFL);
    for (Worker& other : workers_) {  // Other workers' pipes must see EOF when they die.
      CloseFd(other.task_fd), CloseFd(other.result_fd), CloseFd(other.err_fd);
    }
    close(task[1]), close(result[0]), close(err[0]);
    dup2(err[1], STDERR_FILENO);
    close(err[1]);
    ServeTasks(task[0], result[1]);
  }
  close(task[0]), close(result[1]), close(err[1]);
  if (pid < 0) {
    close(task[1]), close(result[0]), close(err[0]);
    return false;
  }
  fcntl(result[0], F_SETFL, O_NONBLOCK);
  fcntl(err[0], F_SETFL, O_NONBLOCK);
  w = Worker{.pid = pid, .task_fd = task[1], .result_fd = result[0], .err_fd = err[0]};
  return true;
}

// The worker's loop: read [u64 index][u64 size][task bytes], run it, write [u64 size][bytes]; exit
// on EOF.
void ProcessPool::ServeTasks(int task_fd, int result_fd) noexcept {
  uint64_t header[2];  // index, task size
  std::string task;
  while (ReadAll(task_fd, header, sizeof header)) {
    task.resize(header[1]);
    if (!ReadAll(task_fd, task.data(), task.size())) break;
    const std::string bytes = run_(header[0], task);
    const uint64_t size = bytes.size();
    if (!WriteAll(result_fd, &size, sizeof size) || !WriteAll(result_fd, bytes.data(), size)) {
      break;
    }
    std::fflush(nullptr);
  }
  std::fflush(nullptr);
  _exit(0);  // No atexit handlers or static destructors of the parent's state.
}

uint64_t ProcessPool::Run() {
  InterruptScope interrupts;
  workers_.resize(options_.jobs);
  int spawned = 0;
  for (Worker& w : workers_) spawned += Spawn(w);
  if (spawned == 0) {
    std::perror("seedgrid: cannot start worker processes (fork)");
    std::exit(2);  // Not a property of any seed: nothing was run.
  }
  next_tick_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                  std::chrono::duration<double>(options_.tick_s));
  for (;;) {
    Dispatch();
    const bool busy =
        std::any_of(workers_.begin(), workers_.end(), [](const Worker& w) { return w.busy; });
    if (!busy) break;
    Wait();
    if (g_interrupt) {
      interrupted_ = true;
      break;
    }
  }
  Shutdown(/*kill_workers=*/interrupted_);
  SG_ASSERT(interrupted_ || (delivered_ == claimed_ && waiting_.empty()));
  return delivered_;
}

// Hands the next tasks to idle workers, in index order.
void ProcessPool::Dispatch() {
  for (Worker& w : workers_) {
    if (w.busy) continue;
    if (w.pid < 0 && !Spawn(w)) continue;
    if (!stopped_ && (claimed_ >= options_.tasks_max || (more_ && !more_()))) stopped_ = true;
    if (stopped_ || claimed_ - delivered_ >= options_.results_waiting_max) return;
    const uint64_t index = claimed_;
    const std::string task = task_of_ ? task_of_(index) : std::string();
    const uint64_t header[2] = {index, task.size()};
    if (!WriteAll(w.task_fd, header, sizeof header) ||
        !WriteAll(w.task_fd, task.data(), task.size())) {  // Died while idle: replace it.
      Reap(w, TaskEnd::Kind::kCrashed);
      continue;
    }
    ++claimed_;
    w.busy = true;
    w.index = index;
    w.start = Clock::now();
    w.frame.clear();
    w.stderr_tail.clear();
    if (started_) started_(index);
  }
}

int ProcessPool::PollTimeoutMs() const {
  Clock::time_point until = next_tick_;
  if (options_.run_timeout_s > 0) {
    const auto limit = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(options_.run_timeout_s));
    for (const Worker& w : workers_) {
      if (w.busy) until = std::min(until, w.start + limit);
    }
  }
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(ms + 1, 0, 60'000));
}

// Waits for results, stderr output, deaths, timeouts or the tick.
void ProcessPool::Wait() {
  std::vector<pollfd> fds;
  std::vector<std::pair<Worker*, bool>> owners;  // (worker, is the result pipe)
  for (Worker& w : workers_) {
    if (w.pid < 0) continue;
    fds.push_back({w.result_fd, POLLIN, 0});
    owners.emplace_back(&w, true);
    fds.push_back({w.err_fd, POLLIN, 0});
    owners.emplace_back(&w, false);
  }
  const int n = poll(fds.data(), fds.size(), PollTimeoutMs());
  if (n < 0 && errno != EINTR) SG_ASSERT(false && "poll failed");
  for (size_t i = 0; n > 0 && i < fds.size(); ++i) {
    if (fds[i].revents == 0 || owners[i].first->pid < 0) continue;
    if (owners[i].second) {
      OnResultReadable(*owners[i].first);
    } else {
      OnStderrReadable(*owners[i].first);
    }
  }
  CheckTimeouts();
  if (tick_ && Clock::now() >= next_tick_) {
    tick_();
    next_tick_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(options_.tick_s));
  }
}

void ProcessPool::OnStderrReadable(Worker& w) {
  char buf[4096];
  for (;;) {
    const ssize_t n = read(w.err_fd, buf, sizeof buf);
    if (n <= 0) return;  // EAGAIN, or EOF (the result pipe reports the death)
    w.stderr_tail.append(buf, static_cast<size_t>(n));
    if (w.stderr_tail.size() > kStderrTailMax) {
      w.stderr_tail.erase(0, w.stderr_tail.size() - kStderrTailMax);
    }
  }
}

void ProcessPool::OnResultReadable(Worker& w) {
  char buf[64 * 1024];
  for (;;) {
    const ssize_t n = read(w.result_fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;  // EAGAIN: wait for more
    if (n == 0) {      // The worker is gone.
      Reap(w, TaskEnd::Kind::kCrashed);
      return;
    }
    w.frame.append(buf, static_cast<size_t>(n));
  }
  uint64_t size = 0;
  if (!w.busy || w.frame.size() < sizeof size) return;
  std::memcpy(&size, w.frame.data(), sizeof size);
  if (w.frame.size() < sizeof size + size) return;
  SG_ASSERT(w.frame.size() == sizeof size + size);  // One task at a time per worker.
  OnStderrReadable(w);
  EndTask(w, TaskEnd{.payload = w.frame.substr(sizeof size)});
}

// Ends the worker's current task with `end` (its stderr and wall time added) and delivers.
void ProcessPool::EndTask(Worker& w, TaskEnd end) {
  SG_ASSERT(w.busy);
  end.stderr_tail = std::move(w.stderr_tail);
  end.wall_ms = std::chrono::duration<double, std::milli>(Clock::now() - w.start).count();
  w.busy = false;
  w.frame.clear();
  w.stderr_tail.clear();
  SG_ASSERT(w.index >= delivered_ && w.index < claimed_);
  waiting_.emplace(w.index, std::move(end));
  if (ended_) ended_(w.index);
  Deliver();
}

// Collects a dead (or killed) worker; its task, if any, ends as `kind`. The slot is respawned by
// the next Dispatch().
void ProcessPool::Reap(Worker& w, TaskEnd::Kind kind) {
  if (kind == TaskEnd::Kind::kTimedOut) kill(w.pid, SIGKILL);
  int status = 0;
  while (waitpid(w.pid, &status, 0) < 0 && errno == EINTR) {
  }
  OnStderrReadable(w);  // Everything it wrote before dying (the writer is closed now).
  if (w.busy) {
    TaskEnd end{.kind = kind};
    if (WIFSIGNALED(status)) end.signal = WTERMSIG(status);
    if (WIFEXITED(status)) end.exit_status = WEXITSTATUS(status);
    EndTask(w, std::move(end));
  }
  CloseFd(w.task_fd), CloseFd(w.result_fd), CloseFd(w.err_fd);
  w = Worker{};
}

void ProcessPool::CheckTimeouts() {
  if (options_.run_timeout_s <= 0) return;
  const auto limit = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(options_.run_timeout_s));
  const Clock::time_point now = Clock::now();
  for (Worker& w : workers_) {
    if (w.busy && now - w.start >= limit) Reap(w, TaskEnd::Kind::kTimedOut);
  }
}

void ProcessPool::Deliver() {
  while (!waiting_.empty() && waiting_.begin()->first == delivered_) {
    deliver_(delivered_, waiting_.begin()->second);
    waiting_.erase(waiting_.begin());
    ++delivered_;
  }
  SG_ASSERT(waiting_.size() <= options_.results_waiting_max);
}

// Closes every task pipe (idle workers exit on EOF) and collects every worker.
void ProcessPool::Shutdown(bool kill_workers) {
  for (Worker& w : workers_) {
    if (w.pid < 0) continue;
    if (kill_workers) kill(w.pid, SIGKILL);
    CloseFd(w.task_fd);
    int status = 0;
    while (waitpid(w.pid, &status, 0) < 0 && errno == EINTR) {
    }
    CloseFd(w.result_fd), CloseFd(w.err_fd);
    w.pid = -1;
  }
}

std::vector<std::pair<uint64_t, Clock::time_point>> ProcessPool::InFlight() const {
  std::vector<std::pair<uint64_t, Clock::time_point>> out;
  for (const Worker& w : workers_) {
    if (w.busy) out.emplace_back(w.index, w.start);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace seedgrid::tools
