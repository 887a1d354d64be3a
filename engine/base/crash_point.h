// SG_CRASH_POINT("area.what"): places in engine code where a simulated node may crash exactly,
// because durability is decided there (a write acknowledged but its page not yet synced, a
// flush between its page writes and its sync, a handoff between an ack and the drop, a GC round
// between pruning and syncing). Random crash times almost never land in such millisecond-wide
// windows; a crash point lands in one on purpose. Included by buggify.h, its sibling.
//
// Contract.
// - `SG_CRASH_POINT(name)` is a statement. With no CrashPointSink installed on the calling thread
//   (production, unit tests) it is one predictable branch on a null thread-local pointer and does
//   nothing else: no randomness, no state, no output.
// - With a sink installed (a simulated run whose swarm turned crash points on: the Simulator is
//   the sink, sim/simulator.h), the sink decides — from its own random stream, never the node's
//   or buggify's, so no other draw moves — whether the node whose code is running crashes here.
//   If it does, the code after the point keeps running until the current event ends (C++ cannot
//   unwind it), but nothing it does takes effect: the simulator makes that node's Env inert
//   (sends dropped, storage writes and syncs fail, timers never fire) and crashes the node when
//   the event ends. Engine code needs no special handling: a sync after the point fails, so the
//   engine's own rule ("acknowledge only after a good sync", page_store.h) keeps it from
//   acknowledging anything that was not durable before the point.
// - `name` is a string literal `area.what` (lower-case letters, digits, '_'; checked at compile
//   time), stable across edits (unlike buggify sites, which are named by line). Each point also
//   registers the coverage probe `crash.<area>_<what>` (probe.h), hit once per crash at that
//   point, so `seedgrid suite/fuzz --probes` list the points that fired and those never reached.
// Thread safety: a sink belongs to the one thread that runs its simulation, like BuggifyContext.
#ifndef SEEDGRID_ENGINE_BASE_CRASH_POINT_H_
#define SEEDGRID_ENGINE_BASE_CRASH_POINT_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/base/probe.h"

namespace seedgrid {

// Receives every crash point evaluated on the thread it is installed on.
class CrashPointSink {
 public:
  virtual ~CrashPointSink() = default;
  // The running node reached crash point `name`. Returns true when the node crashes here (from
  // now on nothing it does takes effect; see the contract).
  virtual bool Reached(std::string_view name) = 0;
};

// Installs `sink` (may be null) for the current thread until destroyed, then restores the
// previous one.
class ScopedCrashPoints {
 public:
  explicit ScopedCrashPoints(CrashPointSink* sink);
  ~ScopedCrashPoints();
  ScopedCrashPoints(const ScopedCrashPoints&) = delete;
  ScopedCrashPoints& operator=(const ScopedCrashPoints&) = delete;

 private:
  CrashPointSink* previous_;
};

namespace internal {

// sg:thread-context-ok: installed and cleared by ScopedCrashPoints, one simulation per thread.
inline constinit thread_local CrashPointSink* current_crash_points = nullptr;

// Asks the installed sink; counts the point's probe when the node crashes here.
void CrashPointReached(std::string_view name, uint32_t probe_id);

// The probe name of crash point "area.what": "crash.area_what". Ill-formed (a compile error)
// unless `name` is a valid probe-style name.
template <size_t N>
consteval ProbeLiteral<N + 6> CrashProbeLiteral(const char (&name)[N]) {
  if (!IsValidProbeName(std::string_view(name, N - 1))) {
    throw "SG_CRASH_POINT: the name must be area.what ([a-z0-9_])";
  }
  char text[N + 6] = {'c', 'r', 'a', 's', 'h', '.'};
  for (size_t i = 0; i < N; ++i) text[6 + i] = name[i] == '.' ? '_' : name[i];
  return ProbeLiteral<N + 6>(text);
}

}  // namespace internal

}  // namespace seedgrid

#define SG_CRASH_POINT(name)                                                                    \
  do {                                                                                          \
    if (::seedgrid::internal::current_crash_points != nullptr) [[unlikely]] {                   \
      ::seedgrid::internal::CrashPointReached(                                                  \
          name, ::seedgrid::internal::kProbeId<::seedgrid::internal::CrashProbeLiteral(name)>); \
    }                                                                                           \
  } while (false)

#endif  // SEEDGRID_ENGINE_BASE_CRASH_POINT_H_
