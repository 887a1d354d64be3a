#include "engine/base/crash_point.h"

namespace seedgrid {

ScopedCrashPoints::ScopedCrashPoints(CrashPointSink* sink)
    : previous_(internal::current_crash_points) {
  internal::current_crash_points = sink;
}

ScopedCrashPoints::~ScopedCrashPoints() { internal::current_crash_points = previous_; }

namespace internal {

void CrashPointReached(std::string_view name, uint32_t probe_id) {
  CrashPointSink* sink = current_crash_points;
  if (sink != nullptr && sink->Reached(name)) ProbeHit(probe_id);
}

}  // namespace internal

}  // namespace seedgrid
