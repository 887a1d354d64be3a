// The `seedgrid` command-line tool (tool.h has the commands).
//
// Exit codes: 0 success, 1 a run found a violation, 2 a usage or input error (always with a
// message saying what was wrong and where).
#include "git_commit.h"  // Generated at build time: SEEDGRID_GIT_COMMIT.
#include "tools/seedgrid/tool.h"
#ifndef SEEDGRID_VERSION
#define SEEDGRID_VERSION "0.0.0"
#endif

int main(int argc, char** argv) {
  return seedgrid::tools::ToolMain(
      argc, argv, {.name = "seedgrid", .version = SEEDGRID_VERSION, .commit = SEEDGRID_GIT_COMMIT});
}
