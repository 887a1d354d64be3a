// A node's physical clock derived from virtual time: offset plus drift in parts per million of the
// virtual time elapsed since the clock was created, and
// steps (an NTP-like jump, forwards or backwards). The clock may go backwards; the HLC copes.
// Deterministic: a pure function of the virtual time source and its own parameters.
#ifndef SEEDGRID_SIM_SKEWED_CLOCK_H_
#define SEEDGRID_SIM_SKEWED_CLOCK_H_

#include <cstdint>

#include "engine/env/env.h"

namespace seedgrid::sim {

class SkewedClock final : public Clock {
 public:
  // `virtual_time` is the simulation's true time. REQUIRES: -1'000'000 < drift_ppm <= 1'000'000.
  SkewedClock(Clock& virtual_time, int64_t offset_ms, int64_t drift_ppm);

  uint64_t NowMs() override;
  void Step(int64_t delta_ms) { offset_ms_ += delta_ms; }
  int64_t offset_ms() const { return offset_ms_; }
  int64_t drift_ppm() const { return drift_ppm_; }

 private:
  Clock& virtual_time_;
  uint64_t origin_ms_;  // Virtual time at construction: drift accrues from here.
  int64_t offset_ms_;
  int64_t drift_ppm_;
};

}  // namespace seedgrid::sim

#endif  // SEEDGRID_SIM_SKEWED_CLOCK_H_
