// Coverage-guided swarm draws for `seedgrid fuzz --guided`.
//
// A Guide keeps a corpus of runs that reached a probe (SG_PROBE) first, and steers new runs
// towards swarm configurations near the ones that reached rare probes: with probability
// `guided_ppm` a run takes a corpus entry's swarm draw, mutated a little (MutateSwarm), instead of
// the one its seed draws. The run's seed stays fresh (the workload, timing and clocks differ); only
// the fault mix is inherited.
//
// Contract:
// - Corpus: for every probe, the first run (in Learn order) that hit it — its seed, swarm draw and
//   every probe it hit. An entry's weight is 2^32 / (runs that hit its rarest probe so far), so a
//   configuration that found something rare is revisited often.
// - Plan(task) depends only on (seed_base, task) and the corpus at that moment: its randomness is
//   a generator seeded from them. When each run is learned before the next is planned (fuzz with
//   --jobs 1), a guided campaign is reproducible from its seed base. With more jobs the plans
//   depend on thread timing; every run still records the draw it used, so each is replayable.
// - Thread-safe: Plan may run on worker threads while Learn runs on the delivering thread.
// - MutateSwarm returns a draw that passes ValidateSwarm(scenario, ·) whenever its input does, and
//   is a pure function of its inputs and the generator's state.
#ifndef SEEDGRID_TOOLS_SEEDGRID_GUIDED_H_
#define SEEDGRID_TOOLS_SEEDGRID_GUIDED_H_

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "engine/env/env.h"
#include "scenarios/scenario.h"
#include "scenarios/swarm.h"

namespace seedgrid::tools {

// 1 or 2 small changes to `swarm`: a fault kind switched on (a rate drawn from its range) or off,
// a rate scaled by a factor in [1/2, 2] (kept in its range), buggify or torn writes toggled —
// each only where the scenario allows it. REQUIRES: ValidateSwarm(scenario, swarm).ok().
scenarios::SwarmDraw MutateSwarm(const scenarios::Scenario& scenario,
                                 const scenarios::SwarmDraw& swarm, Random& random);

struct GuideOptions {
  uint64_t seed_base = 0;
  uint32_t guided_ppm = 750'000;  // share of runs that start from a corpus entry
};

class Guide {
 public:
  // `scenario` must outlive the guide.
  Guide(const scenarios::Scenario& scenario, GuideOptions options);

  // The swarm draw for fuzz task `task`, or nullopt: let the seed draw it.
  std::optional<scenarios::SwarmDraw> Plan(uint64_t task) const;
  // A finished run: its seed, the draw it ran with, and RunResult::probes.
  void Learn(uint64_t seed, const scenarios::SwarmDraw& swarm,
             const std::vector<std::pair<std::string, uint64_t>>& probes);

  struct Entry {
    uint64_t seed = 0;
    scenarios::SwarmDraw swarm;
    std::vector<std::string> probes;  // every probe the run hit
  };
  std::vector<Entry> corpus() const;
  // Runs learned that hit `probe`.
  uint64_t runs_hitting(const std::string& probe) const;

 private:
  uint64_t WeightOf(const Entry& e) const;  // REQUIRES: mu_ held

  const scenarios::Scenario& scenario_;
  const GuideOptions options_;
  mutable std::mutex mu_;
  std::vector<Entry> corpus_;
  absl::btree_map<std::string, uint64_t> runs_hitting_;  // probe -> runs that hit it
};

}  // namespace seedgrid::tools

#endif  // SEEDGRID_TOOLS_SEEDGRID_GUIDED_H_
