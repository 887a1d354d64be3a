// The `seedgrid` command-line tool.
//
// Exit codes: 0 success, 1 a run found a violation, 2 a usage or input error (always with a
// message saying what was wrong and where).
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/numbers.h"
#include "git_commit.h"  // Generated at build time: SEEDGRID_GIT_COMMIT.
#include "scenarios/convergence_demo.h"
#include "tools/seedgrid/sim_commands.h"
#ifndef SEEDGRID_VERSION
#define SEEDGRID_VERSION "0.0.0"
#endif

namespace seedgrid {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitViolation = 1;
constexpr int kExitUsage = 2;

constexpr std::string_view kUsage =
    R"(seedgrid — an in-memory CRDT data grid and its deterministic simulator

Usage:
  seedgrid run --scenario F --seed N [--trace out.jsonl] [--repro-out F] [--json]
                              one seeded simulation of a scenario, every invariant checked
  seedgrid replay (REPRO_FILE | --scenario F --seed N)
                              reproduce a run bit for bit (same trace hash, same report)
  seedgrid suite DIR --seeds K [--junit out.xml] [--jobs N]
                              every scenario in DIR for K seeds; summary table, JUnit XML
  seedgrid fuzz --scenario F (--time 60s | --runs N) [--jobs N] [--shard i/n] [--out DIR]
                              fresh seeds until the budget is spent; failures saved as repros
  seedgrid shrink (REPRO_FILE | --scenario F --seed N) [--out PREFIX]
                              shrink a failing run to a smaller scenario that fails the same way
  seedgrid demo [options]     replicas with skewed clocks write, replicate over a lossy
                              network, then converge by Merkle anti-entropy
  seedgrid version            print version and git commit
  seedgrid help [COMMAND]     show help (or: seedgrid COMMAND --help)

run, replay, suite and fuzz take --check-determinism: each seed runs twice and any difference
fails, naming the first divergent event.

Exit codes: 0 success, 1 a run found a violation, 2 usage or input error.
)";

constexpr std::string_view kDemoUsage = R"(Usage: seedgrid demo [options]

Runs N replicas whose physical clocks are offset and drifting. They write to an LWW map
("users"), an OR map ("tags") and a PN-counter ("visits"), replicate writes as OP_BATCH over a
network that loses messages, then run Merkle anti-entropy rounds on a reliable network until
every replica is identical. The same seed gives the same report and trace hash on every run.

Options (defaults in brackets):
  --seed N          root seed, decimal or 0x-hex                       [1]
  --nodes N         replicas, 2..1000                                  [5]
  --writes N        writes in the safety phase                         [2000]
  --keys N          distinct keys written                              [200]
  --skew-ms N       clock offsets drawn from [-N, +N] ms               [20000]
  --drift-ppm N     clock drift drawn from [-N, +N] ppm                [200]
  --loss-ppm N      replication messages lost, parts per million       [200000]
  --flush-every N   a node flushes its outbox every N of its writes    [10]
  --sync-rounds N   liveness bound on anti-entropy rounds              [100]
  --verbose         print every node and every sync round
  -h, --help        show this help

Skews beyond the HLC drift bound (60 s) make strict replicas reject some writes until their
clocks catch up; the report counts those rejections.
)";

bool ParseU64(std::string_view text, uint64_t& out) {
  if (text.empty()) return false;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    return absl::SimpleHexAtoi(absl::string_view(text.data() + 2, text.size() - 2), &out) &&
           text.size() <= 18;
  }
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return absl::SimpleAtoi(absl::string_view(text.data(), text.size()), &out);
}

int UsageError(std::string_view command, const std::string& message) {
  std::fprintf(stderr, "seedgrid %s: %s\nRun 'seedgrid help %s' for usage.\n",
               std::string(command).c_str(), message.c_str(), std::string(command).c_str());
  return kExitUsage;
}

int RunDemo(const std::vector<std::string_view>& args) {
  scenarios::ConvergenceDemoOptions o;
  // Each numeric option: name -> setter taking the parsed value.
  const std::map<std::string_view, std::function<void(uint64_t)>> numeric = {
      {"--seed", [&](uint64_t v) { o.seed = v; }},
      {"--nodes", [&](uint64_t v) { o.nodes = static_cast<int>(std::min<uint64_t>(v, 1u << 30)); }},
      {"--writes",
       [&](uint64_t v) { o.writes = static_cast<int>(std::min<uint64_t>(v, 1u << 30)); }},
      {"--keys", [&](uint64_t v) { o.keys = static_cast<int>(std::min<uint64_t>(v, 1u << 30)); }},
      {"--skew-ms",
       [&](uint64_t v) {
         o.skew_ms_max = static_cast<int64_t>(std::min<uint64_t>(v, 1ull << 40));
       }},
      {"--drift-ppm",
       [&](uint64_t v) {
         o.drift_ppm_max = static_cast<int64_t>(std::min<uint64_t>(v, 1ull << 40));
       }},
      {"--loss-ppm",
       [&](uint64_t v) { o.loss_ppm = static_cast<uint32_t>(std::min<uint64_t>(v, 1u << 30)); }},
      {"--flush-every",
       [&](uint64_t v) { o.flush_every = static_cast<int>(std::min<uint64_t>(v, 1u << 30)); }},
      {"--sync-rounds",
       [&](uint64_t v) { o.sync_rounds_max = static_cast<int>(std::min<uint64_t>(v, 1u << 30)); }},
  };
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(std::string(kDemoUsage).c_str(), stdout);
      return kExitOk;
    }
    if (arg == "--verbose") {
      o.verbose = true;
      continue;
    }
    std::string_view name = arg, value;
    bool has_value = false;
    if (const size_t eq = arg.find('='); eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    }
    auto it = numeric.find(name);
    if (it == numeric.end()) return UsageError("demo", fmt::format("unknown option '{}'", arg));
    if (!has_value) {
      if (i + 1 >= args.size()) return UsageError("demo", fmt::format("{} needs a value", name));
      value = args[++i];
    }
    uint64_t parsed = 0;
    if (!ParseU64(value, parsed)) {
      return UsageError("demo", fmt::format("{} '{}' is not a non-negative integer", name, value));
    }
    it->second(parsed);
  }
  if (absl::Status s = scenarios::Validate(o); !s.ok()) {
    return UsageError("demo", std::string(s.message()));
  }
  std::string report = fmt::format(
      "seedgrid demo  seed={:#x}  nodes={}  writes={}  keys={}  skew=±{}ms  drift=±{}ppm  "
      "loss={}ppm  commit={}\nreplay: seedgrid demo --seed {:#x} --nodes {} --writes {} --keys {} "
      "--skew-ms {} --drift-ppm {} --loss-ppm {} --flush-every {} --sync-rounds {}\n",
      o.seed, o.nodes, o.writes, o.keys, o.skew_ms_max, o.drift_ppm_max, o.loss_ppm,
      SEEDGRID_GIT_COMMIT, o.seed, o.nodes, o.writes, o.keys, o.skew_ms_max, o.drift_ppm_max,
      o.loss_ppm, o.flush_every, o.sync_rounds_max);
  const scenarios::ConvergenceDemoResult result = scenarios::RunConvergenceDemo(o, report);
  std::fputs(report.c_str(), stdout);
  std::fflush(stdout);
  return result.converged ? kExitOk : kExitViolation;
}

int Main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::fputs(std::string(kUsage).c_str(), stderr);
    return kExitUsage;
  }
  const std::string_view command = args[0];
  const std::vector<std::string_view> rest(args.begin() + 1, args.end());
  if (command == "help" || command == "-h" || command == "--help") {
    if (!rest.empty() && rest[0] == "demo") {
      std::fputs(std::string(kDemoUsage).c_str(), stdout);
    } else if (!rest.empty() && tools::IsSimCommand(rest[0])) {
      std::string name(rest[0]), help("--help");
      char* sub_argv[] = {name.data(), help.data()};
      return tools::SimCommandMain(2, sub_argv, SEEDGRID_GIT_COMMIT);
    } else if (!rest.empty() && rest[0] != "version" && rest[0] != "help") {
      return UsageError("help", fmt::format("unknown command '{}'", rest[0]));
    } else {
      std::fputs(std::string(kUsage).c_str(), stdout);
    }
    return kExitOk;
  }
  if (command == "version" || command == "--version") {
    std::printf("seedgrid %s (commit %s)\n", SEEDGRID_VERSION, SEEDGRID_GIT_COMMIT);
    return kExitOk;
  }
  if (command == "demo") return RunDemo(rest);
  if (tools::IsSimCommand(command))
    return tools::SimCommandMain(argc - 1, argv + 1, SEEDGRID_GIT_COMMIT);
  std::fprintf(stderr, "seedgrid: unknown command '%s'\n\n%s", std::string(command).c_str(),
               std::string(kUsage).c_str());
  return kExitUsage;
}

}  // namespace
}  // namespace seedgrid

int main(int argc, char** argv) { return seedgrid::Main(argc, argv); }
