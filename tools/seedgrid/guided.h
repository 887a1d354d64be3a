// Coverage-guided swarm draws for `seedgrid fuzz --guided`.
//
// Swarm testing turns fault kinds on and off per seed; some states (probes, SG_PROBE) are reached
// only under some mixes. A Guide learns from every finished run which probes it hit under which
// swarm draw, and steers new runs towards the rare ones: with probability `guided_ppm` a run
// (1) picks a target probe, weighted by 1 / (runs that hit it so far), (2) starts from the swarm
// draw of one of the first runs that hit it (the corpus), (3) mutates it a little (MutateSwarm),
// and (4) switches on the target's *triggers* and off its *suppressors* — fault kinds (and
// buggify, torn writes) whose presence made the target at least twice as likely, or twice as
// unlikely, over the runs so far (Groce et al., "Help, help, I'm being suppressed!", 2013).
// Otherwise the seed draws the swarm as usual. The run's seed stays fresh either way.
// A target stays a target only while guidance pays: once kTriesMin planned runs have aimed at a
// probe, it is picked only if those runs hit it more often than the unplanned runs do (probes that
// depend on timing, not on any knob, would otherwise soak up runs that plain draws spend better:
// on storage_errors, guiding towards them reached fewer probes than plain fuzzing). When no
// probe is worth aiming at, every seed draws its own swarm, as without --guided.
//
// Contract:
// - Corpus: for every probe, the first `keep_per_probe` runs (in Learn order) that hit it — each
//   run kept once, with its seed, swarm draw and every probe it hit.
// - A knob is a trigger (suppressor) of a probe when at least kEvidenceMin of the probe's runs had
//   it on (off) and the probe's hit rate with it on is more than twice (less than half) its rate
//   with it off. Counts are integers; no floating point decides anything.
// - Plan(task) depends only on (seed_base, task) and what was learned so far: its randomness is a
//   generator seeded from them. When each run is learned before the next is planned (fuzz with
//   --jobs 1), a guided campaign is reproducible from its seed base. With more jobs the plans
//   depend on thread timing; every run still records the draw it used, so each is replayable.
// - Every planned draw passes ValidateSwarm(scenario, ·) (learned draws must too).
// - Thread-safe: Plan may run on worker threads while Learn runs on the delivering thread.
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

// 1 to 2 small changes to `swarm`: a rate set to its range's top (a quarter of rate changes: the
// most intense mixes reach the deepest states), a fault kind switched on (a rate drawn from its
// range) or off, a rate scaled by a factor in [1/2, 2] (kept in its range), buggify or torn
// writes toggled — each only where the scenario allows it.
// REQUIRES: ValidateSwarm(scenario, swarm).ok().
scenarios::SwarmDraw MutateSwarm(const scenarios::Scenario& scenario,
                                 const scenarios::SwarmDraw& swarm, Random& random);

struct GuideOptions {
  uint64_t seed_base = 0;
  uint32_t guided_ppm = 750'000;  // share of runs that are planned, not drawn by the seed
  uint64_t keep_per_probe = 4;    // corpus entries kept per probe (its first hitters), >= 1
};

class Guide {
 public:
  static constexpr uint64_t kEvidenceMin = 3;
  static constexpr uint64_t kTriesMin = 20;  // planned runs at a probe before judging them

  // `scenario` must outlive the guide.
  Guide(const scenarios::Scenario& scenario, GuideOptions options);

  // The swarm draw for fuzz task `task`, or nullopt: let the seed draw it. A plan is remembered
  // (its target) until Learn(task, ...).
  std::optional<scenarios::SwarmDraw> Plan(uint64_t task) const;
  // Task `task` finished: its seed, the draw it ran with, and RunResult::probes.
  void Learn(uint64_t task, uint64_t seed, const scenarios::SwarmDraw& swarm,
             const std::vector<std::pair<std::string, uint64_t>>& probes);

  struct Entry {
    uint64_t seed = 0;
    scenarios::SwarmDraw swarm;
    std::vector<std::string> probes;  // every probe the run hit
  };
  std::vector<Entry> corpus() const;
  // Runs learned that hit `probe`.
  uint64_t runs_hitting(const std::string& probe) const;
  // The knobs (by name: "loss_ppm", ..., "buggify", "torn_writes") that are triggers (+1) or
  // suppressors (-1) of `probe` so far; others are absent.
  std::vector<std::pair<std::string, int>> Influences(const std::string& probe) const;

  // A setting of the swarm a guide may change: a rate (`rate` set) or a flag.
  struct Knob {
    std::optional<scenarios::SwarmRate> rate;
    bool scenarios::SwarmDraw::*flag = nullptr;
    std::string_view name;
  };

 private:
  struct Learned {                  // per probe
    uint64_t runs = 0;              // runs that hit it
    std::vector<uint64_t> runs_on;  // of those, runs with knob k on
    std::vector<size_t> entries;    // corpus indexes of its first hitters
    uint64_t unplanned_hits = 0;    // unplanned runs that hit it
    uint64_t planned_tries = 0;     // planned runs that aimed at it
    uint64_t planned_hits = 0;      // of those, runs that hit it
  };
  // REQUIRES: mu_ held. Every name picked is a key of probes_; nullptr: no probe is worth it.
  const std::string* PickTarget(Random& random) const;
  bool WorthAiming(const Learned& p) const;
  int InfluenceOf(const Learned& p, size_t knob) const;
  void Steer(const Learned& target, scenarios::SwarmDraw& draw, Random& random) const;

  const scenarios::Scenario& scenario_;
  const GuideOptions options_;
  const std::vector<Knob> knobs_;
  mutable std::mutex mu_;
  uint64_t runs_ = 0;
  uint64_t unplanned_runs_ = 0;
  mutable absl::btree_map<uint64_t, std::string> planned_;  // task -> target, until learned
  std::vector<uint64_t> runs_on_;                           // runs with knob k on
  std::vector<Entry> corpus_;
  absl::btree_map<std::string, Learned> probes_;
};

}  // namespace seedgrid::tools

#endif  // SEEDGRID_TOOLS_SEEDGRID_GUIDED_H_
