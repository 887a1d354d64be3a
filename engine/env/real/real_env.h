// Real implementations of the Env parts. This folder is the only place in engine/ and sim/ that
// the determinism check (ci/check_determinism.py) allows to read the wall clock or OS entropy.
// Never use these inside the simulator.
#ifndef SEEDGRID_ENGINE_ENV_REAL_REAL_ENV_H_
#define SEEDGRID_ENGINE_ENV_REAL_REAL_ENV_H_

#include <memory>

#include "engine/env/env.h"
#include "engine/env/xoshiro.h"

namespace seedgrid {

// Milliseconds since the Unix epoch from the system's real-time clock.
class SystemClock final : public Clock {
 public:
  uint64_t NowMs() override;
};

// xoshiro256** seeded once from OS entropy (std::random_device).
class OsSeededRandom final : public Random {
 public:
  OsSeededRandom();
  uint64_t Next64() override { return generator_.Next64(); }
  uint64_t seed() const { return seed_; }

 private:
  uint64_t seed_;
  Xoshiro256 generator_;
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_ENV_REAL_REAL_ENV_H_
