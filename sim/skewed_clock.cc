#include "sim/skewed_clock.h"

#include "engine/base/assert.h"

namespace seedgrid::sim {

SkewedClock::SkewedClock(Clock& virtual_time, int64_t offset_ms, int64_t drift_ppm)
    : virtual_time_(virtual_time),
      origin_ms_(virtual_time.NowMs()),
      offset_ms_(offset_ms),
      drift_ppm_(drift_ppm) {
  SG_ASSERT(drift_ppm > -1'000'000 && drift_ppm <= 1'000'000);  // A clock must move forward.
}

uint64_t SkewedClock::NowMs() {
  const __int128 t = virtual_time_.NowMs();
  const __int128 elapsed = t - static_cast<__int128>(origin_ms_);
  const __int128 local = t + offset_ms_ + elapsed * drift_ppm_ / 1'000'000;
  return local < 0 ? 0 : static_cast<uint64_t>(local);
}

}  // namespace seedgrid::sim
