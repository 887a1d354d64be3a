#include "tools/seedgrid/fresh_rerun.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "scenarios/runner.h"
#include "tools/seedgrid/command.h"
#include "tools/seedgrid/input.h"
#include "tools/seedgrid/isolation.h"
#include "tools/seedgrid/repro.h"

namespace seedgrid::tools {

namespace {

std::atomic<bool> enabled{false};
std::atomic<FreshRerunTestMode> test_mode{FreshRerunTestMode::kNone};
constexpr size_t kAnswerMax = 4096;             // bytes; an answer is ~60
constexpr const char* kExe = "/proc/self/exe";  // this very program

// Writes all of `bytes` to a socket; false on an error (a rerun that died early closed its end).
// MSG_NOSIGNAL: the caller may be a worker whose SIGPIPE is the default, which would kill it.
bool SendAll(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// Reads until EOF, keeping at most kAnswerMax bytes.
std::string ReadAnswer(int fd) {
  std::string out;
  char buf[1024];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(std::min<size_t>(n, kAnswerMax - out.size())));
  }
}

// Makes `fd` the child's `target` descriptor, open across exec. Async-signal-safe.
void MoveTo(int fd, int target) {
  if (fd == target) {
    fcntl(fd, F_SETFD, 0);  // dup2 onto itself would leave O_CLOEXEC set
  } else {
    dup2(fd, target);
  }
}

struct Child {
  pid_t pid = -1;
  int to = -1;    // its stdin (a socket)
  int from = -1;  // its stdout (a pipe)
};

// Runs in the forked child: stdin and stdout in place, every other descriptor closed at exec, then
// the program. On failure the child reports errno on `status_fd`. Only async-signal-safe calls (the
// caller may have threads).
[[noreturn]] void ExecInChild(const char* exe, pid_t parent, int in_fd, int out_fd, int status_fd,
                              char** argv) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);  // The parent died before prctl.
  // A caller with fd 0 closed may have been given it for `out`: move that out of the way first.
  if (out_fd == STDIN_FILENO) out_fd = fcntl(out_fd, F_DUPFD_CLOEXEC, 3);
  MoveTo(in_fd, STDIN_FILENO);
  MoveTo(out_fd, STDOUT_FILENO);
  (void)close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);  // A worker's pipes, a --trace file.
  execv(exe, argv);
  const int error = errno;
  (void)!write(status_fd, &error, sizeof error);
  _exit(127);
}

// Starts the program with stdin on a socket (so a write to a dead child fails instead of raising
// SIGPIPE) and stdout on a pipe. Unavailable when it cannot be started (fork or exec failed).
absl::StatusOr<Child> Spawn() {
  int in[2], out[2], status[2];
  const auto failed = [](const char* what) {
    return absl::UnavailableError(fmt::format("{}: {}", what, strerror(errno)));
  };
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0) return failed("socketpair");
  if (pipe2(out, O_CLOEXEC) != 0) return close(in[0]), close(in[1]), failed("pipe");
  if (pipe2(status, O_CLOEXEC) != 0) {
    return close(in[0]), close(in[1]), close(out[0]), close(out[1]), failed("pipe");
  }
  std::string name = ProgramName();  // what `ps` shows: "seedgrid __rerun"
  char command[] = "__rerun";
  char* argv[] = {name.data(), command, nullptr};
  const char* exe = test_mode == FreshRerunTestMode::kNoExec ? "/nonexistent/seedgrid" : kExe;
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) ExecInChild(exe, parent, in[0], out[1], status[1], argv);
  const int fork_error = errno;
  close(in[0]), close(out[1]), close(status[1]);
  int exec_error = 0;
  ssize_t n = 0;
  while (pid > 0 && (n = read(status[0], &exec_error, sizeof exec_error)) < 0 && errno == EINTR) {
  }
  close(status[0]);
  if (pid > 0 && n != sizeof exec_error) return Child{pid, in[1], out[0]};  // exec'd: EOF
  close(in[1]), close(out[0]);
  if (pid < 0) return absl::UnavailableError(fmt::format("fork: {}", strerror(fork_error)));
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  return absl::UnavailableError(fmt::format("execv {}: {}", exe, strerror(exec_error)));
}

// The request's JSON text.
std::string Request(const scenarios::Scenario& scenario, uint64_t seed,
                    const std::optional<scenarios::SwarmDraw>& swarm) {
  nlohmann::json j{{"scenario", scenarios::ScenarioToJson(scenario)},
                   {"seed", test_mode == FreshRerunTestMode::kNextSeed ? seed + 1 : seed}};
  if (swarm) j["swarm"] = SwarmJson(*swarm);
  return j.dump();
}

absl::StatusOr<FreshRun> ParseAnswer(const std::string& text) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("trace_hash") || !j["trace_hash"].is_string() ||
      !j.contains("pass") || !j["pass"].is_boolean()) {
    return absl::InternalError(fmt::format("it answered '{}', not {{trace_hash, pass}}", text));
  }
  FreshRun run{.pass = j["pass"].get<bool>()};
  const std::string hash = j["trace_hash"].get<std::string>();
  const auto [end, ec] =
      std::from_chars(hash.data(), hash.data() + hash.size(), run.trace_hash, 16);
  if (ec != std::errc() || end != hash.data() + hash.size()) {
    return absl::InternalError(fmt::format("it answered a trace hash '{}'", hash));
  }
  return run;
}

}  // namespace

void EnableFreshReruns() { enabled = true; }
bool FreshRerunsEnabled() { return enabled; }
void SetFreshRerunTestMode(FreshRerunTestMode mode) { test_mode = mode; }

absl::StatusOr<FreshRun> RerunInFreshProcess(const scenarios::Scenario& scenario, uint64_t seed,
                                             const std::optional<scenarios::SwarmDraw>& swarm) {
  absl::StatusOr<Child> child = Spawn();
  if (!child.ok()) return child.status();
  const bool sent = SendAll(child->to, Request(scenario, seed, swarm));
  close(child->to);
  const std::string answer = ReadAnswer(child->from);
  close(child->from);
  int status = 0;
  pid_t waited = 0;
  while ((waited = waitpid(child->pid, &status, 0)) < 0 && errno == EINTR) {
  }
  if (waited < 0) return absl::InternalError(fmt::format("waitpid: {}", strerror(errno)));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    const TaskEnd end{.kind = TaskEnd::Kind::kCrashed,
                      .signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0,
                      .exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1};
    return absl::InternalError(
        fmt::format("it ended{}: {}", sent ? "" : " before reading the run", CrashCause(end)));
  }
  return ParseAnswer(answer);
}

int RerunCommandMain() {
  const std::string text{std::istreambuf_iterator<char>(std::cin), {}};
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    absl::StatusOr<scenarios::Scenario> scenario =
        scenarios::ParseScenario(j.at("scenario").get<std::string>(), "<rerun request>");
    if (!scenario.ok()) throw InputError{std::string(scenario.status().message())};
    scenarios::RunOptions o{.seed = j.at("seed").get<uint64_t>()};
    if (j.contains("swarm")) {
      o.swarm = SwarmFromJson(j["swarm"], "the rerun request");
      const absl::Status valid = scenarios::ValidateSwarm(*scenario, *o.swarm);
      if (!valid.ok()) throw InputError{"swarm: " + std::string(valid.message())};
    }
    const scenarios::RunResult r = scenarios::RunScenario(*scenario, o);
    std::printf("%s\n",
                nlohmann::json{{"trace_hash", Hex(r.trace_hash)}, {"pass", r.pass}}.dump().c_str());
    return 0;
  } catch (const InputError& e) {
    std::fprintf(stderr, "%s %s: bad request: %s\n", ProgramName(), kRerunCommand,
                 e.message.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s %s: bad request: %s\n", ProgramName(), kRerunCommand, e.what());
  }
  return 2;
}

}  // namespace seedgrid::tools
