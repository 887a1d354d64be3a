// The `seedgrid` command-line tool as a library: the same commands (run, replay, suite, fuzz,
// shrink, merge-results, serve, client) for a program that registers its own systems
// (scenarios/system.h; docs/embedding.md).
//
//   int main(int argc, char** argv) {
//     RegisterMySystem();  // scenarios::RegisterSystem(...) first
//     return seedgrid::tools::ToolMain(argc, argv, {.name = "mysim", .version = "1.0",
//                                                   .commit = MY_GIT_COMMIT});
//   }
//
// Contract: ToolMain parses argv, runs one command and returns the exit code (0 success, 1 a
// violation, 2 a usage or input error, 130 interrupted). Worker processes are forks of the
// calling process, so systems registered before the call exist in every run; the determinism
// check's second run is this program exec'd again with the hidden argument `__rerun`
// (fresh_rerun.h), so main must register the same systems on every start, pass argv through
// unchanged, and print nothing on stdout before calling ToolMain. `commit` is what
// reports and repro files record (a repro replays bit for bit only with the same binary).
#ifndef SEEDGRID_TOOLS_SEEDGRID_TOOL_H_
#define SEEDGRID_TOOLS_SEEDGRID_TOOL_H_

namespace seedgrid::tools {

struct ToolInfo {
  const char* name = "seedgrid";  // the program's name in usage and version output
  const char* version = "0.0.0";
  const char* commit = "unknown";  // static storage
};

int ToolMain(int argc, char** argv, const ToolInfo& info);

}  // namespace seedgrid::tools

#endif  // SEEDGRID_TOOLS_SEEDGRID_TOOL_H_
