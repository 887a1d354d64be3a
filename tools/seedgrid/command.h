// The shape every command of the `seedgrid` tool shares (run, replay, suite, fuzz, shrink, and
// serve and client), and the dispatcher that runs them.
//
// Contract:
// - A command's set-up function registers its flags on a CLI11 app (the app already has -h/--help
//   and the "repeated option takes its last value" policy) and returns the function that runs the
//   command once the app has parsed argv. That function returns the exit code: kExitOk (0) on a
//   pass, kExitViolation (1) when a run found a violation or nondeterminism.
// - Usage and input errors are thrown as InputError (or any std::exception from a library on bad
//   input); the dispatcher prints "seedgrid COMMAND: message" on stderr and returns kExitUsage (2).
#ifndef SEEDGRID_TOOLS_SEEDGRID_COMMAND_H_
#define SEEDGRID_TOOLS_SEEDGRID_COMMAND_H_

#include <functional>
#include <string>
#include <string_view>

namespace CLI {
class App;
}  // namespace CLI

namespace seedgrid::tools {

constexpr int kExitOk = 0;
constexpr int kExitViolation = 1;
constexpr int kExitUsage = 2;
constexpr int kExitInterrupted = 130;  // SIGINT, SIGTERM or SIGHUP stopped a suite or fuzz

// A usage or input error: printed with the command's name, exit 2.
struct InputError {
  std::string message;
};

// Runs a command after parsing; returns the exit code or throws InputError.
using CommandMain = std::function<int()>;
// Registers a command's flags on `app`; `commit` (static storage) is printed in reports.
using CommandSetUp = CommandMain (*)(CLI::App& app, const char* commit);

// The program's name in printed commands ("seedgrid replay ..."): "seedgrid", or what an
// embedding program passed to ToolMain (tool.h), which sets it before any command runs.
const char* ProgramName();
void SetProgramName(const char* name);  // `name` has static storage

// True for "run", "replay", "suite", "fuzz", "shrink", "merge-results", "serve" and "client"
// (every command with flags; "help" and "version" are the dispatcher's own).
bool IsSimCommand(std::string_view command);
// argv[0] is the command name. Returns the process exit code: 0 pass, 1 violation (or
// nondeterminism), 2 usage or input error.
int SimCommandMain(int argc, char** argv, const char* commit);

}  // namespace seedgrid::tools

#endif  // SEEDGRID_TOOLS_SEEDGRID_COMMAND_H_
