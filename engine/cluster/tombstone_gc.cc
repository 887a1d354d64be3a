#include "engine/cluster/tombstone_gc.h"

#include <algorithm>

#include "engine/base/assert.h"
#include "engine/base/probe.h"

namespace seedgrid {

bool GcStable(const GcInputs& in) {
  return in.now_ms - std::min(in.now_ms, in.stable_since_ms) >= in.grace_ms;
}

std::optional<uint64_t> GcHorizon(const GcInputs& in) {
  SG_ASSERT(in.known != nullptr && in.leaving != nullptr);
  SG_ASSERT(in.stable_alive != nullptr && in.peer_hlc_ms != nullptr);
  if (!GcStable(in)) return std::nullopt;
  uint64_t low = std::max(in.own_hlc_ms, in.now_ms);
  for (const auto& [node, heard] : *in.known) {
    if (in.leaving->contains(node)) continue;
    if (!in.stable_alive->contains(node)) return std::nullopt;
    auto it = in.peer_hlc_ms->find(node);
    if (it == in.peer_hlc_ms->end()) return std::nullopt;
    low = std::min(low, it->second);
  }
  if (low <= in.grace_ms) return std::nullopt;
  return low - in.grace_ms;
}

std::optional<std::vector<uint32_t>> TombstoneGc::Run(uint64_t now_ms, uint64_t own_hlc_ms,
                                                      const Membership& membership,
                                                      PartitionSet& partitions) {
  const GcInputs in{now_ms,
                    own_hlc_ms,
                    grace_ms_,
                    membership.stable_since_ms(),
                    &membership.last_heard_ms(),
                    &membership.leaving_peers(),
                    &membership.stable_alive(),
                    &membership.peer_hlc_ms()};
  // Stable first, then the pace: an unstable cluster does not use up a round.
  if (!GcStable(in)) return std::nullopt;
  if (now_ms - std::min(now_ms, last_gc_ms_) < std::max<uint64_t>(grace_ms_ / 4, 1)) {
    return std::nullopt;
  }
  last_gc_ms_ = now_ms;
  const std::optional<uint64_t> horizon = GcHorizon(in);
  if (!horizon) {
    SG_PROBE("gc.round_without_horizon");  // A member's clock is unknown or it is not stable.
    return std::vector<uint32_t>{};
  }
  std::vector<uint32_t> raised;
  for (uint32_t p = 0; p < kPartitionCount; ++p) {
    if (!partitions.held(p) || !membership.owns(p) || !membership.ready(p)) continue;
    if (partitions.Prune(p, *horizon) > 0) raised.push_back(p);
  }
  return raised;
}

}  // namespace seedgrid
