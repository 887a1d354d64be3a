// SG_BUGGIFY(): fault-injection points in engine code (after FoundationDB's BUGGIFY).
//
// A site is a place where the engine may legally do something unusual: skip an anti-entropy
// round, split a batch, fire a timer early. `if (SG_BUGGIFY()) { ...unusual but legal... }`.
//
// Outside simulation SG_BUGGIFY() is always false (no context is installed). Inside a simulated
// run the simulator installs a BuggifyContext for its thread: each site (named by file name and
// line) is enabled for the whole run with probability 1/4, decided by hashing the site name with
// the run's seed, and an enabled site fires with probability 1/4 per evaluation, drawn from the
// context's own PRNG stream. Both are pure functions of the seed and the order of evaluations, so
// runs stay deterministic. Contexts are per thread (thread_local), so parallel simulations (one per
// thread) never share one.
//
// A site's name is its line: an edit above a site renames it, and so changes the trace of every
// seed that runs with buggify. This header therefore also provides SG_PROBE (probe.h) and
// SG_CRASH_POINT (crash_point.h), so a file with buggify sites needs no extra include line to
// hold probes or crash points; put them below its last site, or keep the lines above every site
// where they are.
//
// SG_CRASH_POINT("area.what") is buggify's sibling for crashes (crash_point.h has the contract):
// a named place where durability is decided. In a simulated run whose swarm turned crash points
// on (swarm `crash_points_ppm`), the simulator crashes the running node exactly there with that
// probability per evaluation, drawn from its own "crash-points" stream (so neither buggify's nor
// any node's draws move). Why it is exact: from the point on the node's Env is inert — its sends
// are dropped, its storage writes and syncs fail without touching the disk, its events are
// ignored by the harness, and the timers it sets die with the incarnation the crash ends — and
// the simulator performs an ordinary crash (unsynced writes lost, the last one possibly torn)
// as soon as the current event returns, before any other event runs (sim/simulator.h).
#ifndef SEEDGRID_ENGINE_BASE_BUGGIFY_H_
#define SEEDGRID_ENGINE_BASE_BUGGIFY_H_

#include <cstdint>
#include <string_view>

#include "absl/container/btree_map.h"
#include "engine/base/crash_point.h"  // IWYU pragma: export (see below)
#include "engine/base/probe.h"        // IWYU pragma: export (see below)
#include "engine/env/xoshiro.h"

namespace seedgrid {

class BuggifyContext {
 public:
  explicit BuggifyContext(uint64_t seed);
  // Whether `site` is enabled for this run (stable for the run) and, if so, whether it fires now.
  bool Fire(std::string_view site);
  bool Enabled(std::string_view site) const;
  // Per site: evaluations and fires, in site-name order (for reports).
  struct SiteStats {
    bool enabled = false;
    uint64_t evaluated = 0;
    uint64_t fired = 0;
  };
  const absl::btree_map<std::string, SiteStats, std::less<>>& sites() const { return sites_; }

 private:
  uint64_t seed_;
  Xoshiro256 random_;
  absl::btree_map<std::string, SiteStats, std::less<>> sites_;
};

// Installs `context` for the current thread until destroyed (restoring the previous one).
class ScopedBuggify {
 public:
  explicit ScopedBuggify(BuggifyContext* context);
  ~ScopedBuggify();
  ScopedBuggify(const ScopedBuggify&) = delete;
  ScopedBuggify& operator=(const ScopedBuggify&) = delete;

 private:
  BuggifyContext* previous_;
};

namespace internal {
bool BuggifyFire(std::string_view site);
}  // namespace internal

}  // namespace seedgrid

#define SG_BUGGIFY_STR2(x) #x
#define SG_BUGGIFY_STR(x) SG_BUGGIFY_STR2(x)
// __FILE_NAME__ (not __FILE__): the site name must not depend on where the tree is checked out.
#define SG_BUGGIFY() ::seedgrid::internal::BuggifyFire(__FILE_NAME__ ":" SG_BUGGIFY_STR(__LINE__))

#endif  // SEEDGRID_ENGINE_BASE_BUGGIFY_H_
