// The `seedgrid` tool's dispatcher (tool.h): help, version and the commands.
#include "tools/seedgrid/tool.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "tools/seedgrid/command.h"
#include "tools/seedgrid/fresh_rerun.h"
#ifndef SEEDGRID_VERSION
#define SEEDGRID_VERSION "0.0.0"
#endif

namespace seedgrid::tools {
namespace {

constexpr const char* kSeedgridVersion = SEEDGRID_VERSION;

constexpr std::string_view kUsage =
    R"(seedgrid — an in-memory CRDT data grid and its deterministic simulator

Usage:
  seedgrid run --scenario F --seed N [--trace out.jsonl] [--repro-out F] [--json]
                              one seeded simulation of a scenario, every invariant checked
  seedgrid replay (REPRO_FILE | --scenario F --seed N)
                              reproduce a run bit for bit (same trace hash, same report)
  seedgrid suite DIR --seeds K [--junit out.xml] [--json] [--jobs N] [--allow-empty]
                              every scenario in DIR for K seeds (a regression test: its own
                              fixed seed); summary table, JUnit XML
  seedgrid fuzz --scenario F (--time 60s | --runs N) [--jobs N] [--shard i/n] [--out DIR]
                              fresh seeds until the budget is spent; failures saved as repros,
                              a summary.json per shard
  seedgrid merge-results DIR... [--out REPORT_DIR]
                              merge fuzz shards: distinct failures once each with their smallest
                              repro; report.md, junit.xml, summary.json
  seedgrid shrink (REPRO_FILE | --scenario F --seed N) [--out PREFIX] [--emit-test F.json]
                              shrink a failing run (scenario, then its faults and ops) to a
                              smaller one that fails the same way; optionally a regression test
  seedgrid serve --listen HOST:PORT [--peers HOST:PORT,...] [--data DIR] [--token T]
                              run a grid server over WebSocket and HTTP (docs/deployment.md)
  seedgrid client --server HOST:PORT (put|rm|get|dump|query|subscribe|import|sync) ...
                              a grid client for people and scripts, JSON in and out
  seedgrid version            print version and git commit
  seedgrid help [COMMAND]     show help (or: seedgrid COMMAND --help)

run, replay, suite and fuzz take --check-determinism: each seed runs again in a fresh process and
any difference fails, naming the first divergent event when one process can show it.

Exit codes: 0 success, 1 a run found a violation, 2 usage or input error.
)";

// The usage text; a program embedding the tool is named on the first line.
std::string Usage(const ToolInfo& info) {
  if (std::string_view(info.name) == "seedgrid") return std::string(kUsage);
  return fmt::format(
      "{} — simulated with seedgrid (its commands below; run them as '{} COMMAND')\n\n{}",
      info.name, info.name, kUsage.substr(kUsage.find("Usage:")));
}

int UsageError(std::string_view command, const std::string& message) {
  std::fprintf(stderr, "%s %s: %s\nRun '%s help %s' for usage.\n", ProgramName(),
               std::string(command).c_str(), message.c_str(), ProgramName(),
               std::string(command).c_str());
  return kExitUsage;
}

}  // namespace

int ToolMain(int argc, char** argv, const ToolInfo& info) {
  SetProgramName(info.name);
  std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::fputs(Usage(info).c_str(), stderr);
    return kExitUsage;
  }
  const std::string_view command = args[0];
  if (command == kRerunCommand) return RerunCommandMain();  // fresh_rerun.h; hidden
  EnableFreshReruns();
  const std::vector<std::string_view> rest(args.begin() + 1, args.end());
  if (command == "help" || command == "-h" || command == "--help") {
    if (!rest.empty() && IsSimCommand(rest[0])) {
      std::string name(rest[0]), help("--help");
      char* sub_argv[] = {name.data(), help.data()};
      return SimCommandMain(2, sub_argv, info.commit);
    } else if (!rest.empty() && rest[0] != "version" && rest[0] != "help") {
      return UsageError("help", fmt::format("unknown command '{}'", rest[0]));
    } else {
      std::fputs(Usage(info).c_str(), stdout);
    }
    return kExitOk;
  }
  if (command == "version" || command == "--version") {
    if (std::string_view(info.name) == "seedgrid") {
      std::printf("seedgrid %s (commit %s)\n", info.version, info.commit);
    } else {
      std::printf("%s %s (commit %s; seedgrid %s)\n", info.name, info.version, info.commit,
                  kSeedgridVersion);
    }
    return kExitOk;
  }
  if (IsSimCommand(command)) return SimCommandMain(argc - 1, argv + 1, info.commit);
  std::fprintf(stderr, "%s: unknown command '%s'\n\n%s", info.name, std::string(command).c_str(),
               Usage(info).c_str());
  return kExitUsage;
}

}  // namespace seedgrid::tools
