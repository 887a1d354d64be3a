#include "tools/seedgrid/command.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <string>

#include "engine/base/assert.h"
#include "tools/seedgrid/client_command.h"
#include "tools/seedgrid/fuzz_command.h"
#include "tools/seedgrid/merge_results_command.h"
#include "tools/seedgrid/replay_command.h"
#include "tools/seedgrid/run_command.h"
#include "tools/seedgrid/serve_command.h"
#include "tools/seedgrid/shrink_command.h"
#include "tools/seedgrid/suite_command.h"

namespace seedgrid::tools {

namespace {

struct CommandEntry {
  std::string_view name;
  CommandSetUp set_up;
};

constexpr CommandEntry kCommands[] = {
    {"run", SetUpRunCommand},       {"replay", SetUpReplayCommand},
    {"suite", SetUpSuiteCommand},   {"fuzz", SetUpFuzzCommand},
    {"shrink", SetUpShrinkCommand}, {"serve", SetUpServeCommand},
    {"client", SetUpClientCommand}, {"merge-results", SetUpMergeResultsCommand},
};

const CommandEntry* FindCommand(std::string_view name) {
  for (const CommandEntry& c : kCommands) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

const char* program_name = "seedgrid";  // Set once by ToolMain, before any command or worker.

}  // namespace

const char* ProgramName() { return program_name; }
void SetProgramName(const char* name) { program_name = name; }

bool IsSimCommand(std::string_view command) { return FindCommand(command) != nullptr; }

int SimCommandMain(int argc, char** argv, const char* commit) {
  const std::string command = argv[0];
  const CommandEntry* entry = FindCommand(command);
  SG_ASSERT(entry != nullptr);
  CLI::App app("", std::string(ProgramName()) + " " + command);
  app.set_help_flag("-h,--help", "show this help");
  // A repeated option takes its last value (so wrappers can pass defaults and users override).
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  const CommandMain main = entry->set_up(app, commit);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "%s %s: %s\nRun '%s %s --help' for usage.\n", ProgramName(),
                 command.c_str(), e.what(), ProgramName(), command.c_str());
    return kExitUsage;
  }
  try {
    return main();
  } catch (const InputError& e) {
    std::fprintf(stderr, "%s %s: %s\n", ProgramName(), command.c_str(), e.message.c_str());
    return kExitUsage;
  } catch (const std::exception& e) {  // e.g. a filesystem or JSON library error on bad input
    std::fprintf(stderr, "%s %s: %s\n", ProgramName(), command.c_str(), e.what());
    return kExitUsage;
  }
}

}  // namespace seedgrid::tools
