#include "tools/seedgrid/replay_command.h"

#include <CLI/CLI.hpp>
#include <memory>

#include "tools/seedgrid/repro.h"
#include "tools/seedgrid/run_command.h"

namespace seedgrid::tools {

CommandMain SetUpReplayCommand(CLI::App& app, const char* commit) {
  app.description(
      "Reproduces a run bit for bit: from a repro file written by run --repro-out or fuzz, or "
      "from --scenario and --seed. Prints the same report and trace hash as the original.");
  auto f = std::make_shared<RunFlags>();
  app.add_option("REPRO_FILE", f->repro_file, "repro file (JSON) written by run or fuzz");
  app.add_option("--scenario", f->scenario, "scenario file (with --seed)");
  CLI::Option* seed_option = app.add_option("--seed", f->seed, "root seed (with --scenario)");
  AddRunOutputFlags(app, *f);
  return [f, seed_option, commit] {
    if (!f->repro_file.empty()) {
      if (!f->scenario.empty() || seed_option->count() > 0) {
        throw InputError{"give either REPRO_FILE or --scenario with --seed, not both"};
      }
      const Repro repro = LoadRepro(f->repro_file);
      return RunAndReport("replay", repro.loaded, repro.seed, *f, commit, &repro.record,
                          repro.swarm);
    }
    if (f->scenario.empty()) throw InputError{"give a REPRO_FILE, or --scenario F and --seed N"};
    const uint64_t seed = ParseSeed(f->seed);  // Checked before the scenario file is read.
    const Loaded loaded = LoadScenarioFile(f->scenario);
    return RunAndReport("replay", loaded, SeedFor(loaded, seed, seed_option->count() > 0), *f,
                        commit, nullptr);
  };
}

}  // namespace seedgrid::tools
