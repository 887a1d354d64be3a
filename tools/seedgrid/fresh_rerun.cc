#include "tools/seedgrid/fresh_rerun.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/prctl.h>
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
#include "tools/seedgrid/repro.h"

namespace seedgrid::tools {

namespace {

std::atomic<bool> enabled{false};
std::atomic<bool> planted{false};
constexpr size_t kAnswerMax = 4096;  // bytes; an answer is ~60

// Writes all of `bytes`; false on an error (a rerun that died early closes its stdin).
bool WriteAll(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
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

// "exit code 3" or "signal SIGSEGV".
std::string DescribeStatus(int status) {
  if (WIFSIGNALED(status)) {
    const char* abbrev = sigabbrev_np(WTERMSIG(status));
    return abbrev ? fmt::format("signal SIG{}", abbrev)
                  : fmt::format("signal {}", WTERMSIG(status));
  }
  return fmt::format("exit code {}", WEXITSTATUS(status));
}

// Starts the program with stdin and stdout on pipes. Everything the child does before exec is
// async-signal-safe (the caller may have threads).
absl::StatusOr<pid_t> Spawn(int& to_child, int& from_child) {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0)
    return absl::InternalError("pipe: " + std::string(strerror(errno)));
  if (pipe2(out, O_CLOEXEC) != 0) {
    close(in[0]), close(in[1]);
    return absl::InternalError("pipe: " + std::string(strerror(errno)));
  }
  char exe[] = "/proc/self/exe";
  std::string name = ProgramName();  // what `ps` shows: "seedgrid __rerun"
  char command[] = "__rerun";
  char* argv[] = {name.data(), command, nullptr};
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);                     // The parent died before prctl.
    dup2(in[0], STDIN_FILENO), dup2(out[1], STDOUT_FILENO);  // dup2 clears O_CLOEXEC
    execv(exe, argv);
    _exit(127);
  }
  close(in[0]), close(out[1]);
  if (pid < 0) {
    close(in[1]), close(out[0]);
    return absl::InternalError("fork: " + std::string(strerror(errno)));
  }
  to_child = in[1], from_child = out[0];
  return pid;
}

// The request's JSON text.
std::string Request(const scenarios::Scenario& scenario, uint64_t seed,
                    const std::optional<scenarios::SwarmDraw>& swarm) {
  nlohmann::json j{{"scenario", scenarios::ScenarioToJson(scenario)},
                   {"seed", planted ? seed + 1 : seed}};
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
void PlantCrossProcessDifferenceForTest() { planted = true; }

absl::StatusOr<FreshRun> RerunInFreshProcess(const scenarios::Scenario& scenario, uint64_t seed,
                                             const std::optional<scenarios::SwarmDraw>& swarm) {
  int to_child = -1, from_child = -1;
  absl::StatusOr<pid_t> pid = Spawn(to_child, from_child);
  if (!pid.ok()) return pid.status();
  const bool sent = WriteAll(to_child, Request(scenario, seed, swarm));
  close(to_child);
  const std::string answer = ReadAnswer(from_child);
  close(from_child);
  int status = 0;
  while (waitpid(*pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(fmt::format("it ended with {}{}", DescribeStatus(status),
                                           sent ? "" : " before reading the run"));
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
    if (j.contains("swarm")) o.swarm = SwarmFromJson(j["swarm"], "the rerun request");
    const scenarios::RunResult r = scenarios::RunScenario(*scenario, o);
    std::printf("%s\n",
                nlohmann::json{{"trace_hash", Hex(r.trace_hash)}, {"pass", r.pass}}.dump().c_str());
    return 0;
  } catch (const InputError& e) {
    std::fprintf(stderr, "%s: %s\n", kRerunCommand, e.message.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: bad request: %s\n", kRerunCommand, e.what());
  }
  return 2;
}

}  // namespace seedgrid::tools
