// Capped exponential backoff with jitter, for redialling a peer (sans-IO: the caller owns the
// clock and the timer).
//
// Delays: the n-th consecutive failure waits a uniform draw in [d/2, d] with
// d = min(max_ms, initial_ms * 2^n). A success resets the sequence. The caller reports, never
// silently gives up: GaveUp() turns true once failures have lasted give_up_after_ms, and the
// transport then says so (a typed error) while it keeps retrying at max_ms.
#ifndef SEEDGRID_ENGINE_NET_BACKOFF_H_
#define SEEDGRID_ENGINE_NET_BACKOFF_H_

#include <algorithm>
#include <cstdint>

#include "engine/base/assert.h"
#include "engine/env/env.h"

namespace seedgrid::net {

class Backoff {
 public:
  // REQUIRES: 0 < initial_ms <= max_ms.
  Backoff(uint64_t initial_ms, uint64_t max_ms, uint64_t give_up_after_ms)
      : initial_ms_(initial_ms), max_ms_(max_ms), give_up_after_ms_(give_up_after_ms) {
    SG_ASSERT(initial_ms > 0 && initial_ms <= max_ms);
  }

  // A failure at now_ms: the delay before the next attempt.
  uint64_t Failed(uint64_t now_ms, Random& random) {
    if (failures_ == 0) failing_since_ms_ = now_ms;
    uint64_t d = initial_ms_;
    for (uint32_t i = 0; i < failures_ && d < max_ms_; ++i) d *= 2;
    d = std::min(d, max_ms_);
    ++failures_;
    return d / 2 + random.Uniform(d - d / 2 + 1);
  }
  void Succeeded() { failures_ = 0; }
  bool GaveUp(uint64_t now_ms) const {
    return failures_ > 0 && now_ms - failing_since_ms_ >= give_up_after_ms_;
  }
  uint32_t failures() const { return failures_; }

 private:
  uint64_t initial_ms_;
  uint64_t max_ms_;
  uint64_t give_up_after_ms_;
  uint32_t failures_ = 0;
  uint64_t failing_since_ms_ = 0;  // meaningful while failures_ > 0
};

}  // namespace seedgrid::net

#endif  // SEEDGRID_ENGINE_NET_BACKOFF_H_
