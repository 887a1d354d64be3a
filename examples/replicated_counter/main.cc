// counter_sim: seedgrid's commands (run, replay, suite, fuzz, shrink, merge-results) for the
// replicated counter. `counter_sim suite scenarios --seeds 5` is the example's test.
#include <cstdio>

#include "counter_system.h"
#include "tools/seedgrid/tool.h"

int main(int argc, char** argv) {
  if (absl::Status s = counter::RegisterCounterSystem(); !s.ok()) {
    std::fprintf(stderr, "counter_sim: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  return seedgrid::tools::ToolMain(argc, argv, {.name = "counter_sim", .version = "1.0"});
}
