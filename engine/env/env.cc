#include "engine/env/env.h"

#include "engine/base/assert.h"

namespace seedgrid {

uint64_t Random::Uniform(uint64_t bound) {
  SG_ASSERT(bound > 0);
  // Lemire, "Fast Random Integer Generation in an Interval" (2019): multiply-shift with rejection
  // of the biased low region. Hand-written because std::uniform_int_distribution's output is not
  // specified by the standard and differs between libstdc++ and libc++.
  unsigned __int128 m = static_cast<unsigned __int128>(Next64()) * bound;
  uint64_t low = static_cast<uint64_t>(m);
  if (low < bound) {
    const uint64_t threshold = (0 - bound) % bound;
    for (int attempt = 0; low < threshold; ++attempt) {
      SG_ASSERT(attempt < 1000);  // Probability of reaching this is < 2^-1000.
      m = static_cast<unsigned __int128>(Next64()) * bound;
      low = static_cast<uint64_t>(m);
    }
  }
  return static_cast<uint64_t>(m >> 64);
}

bool Random::ChancePpm(uint32_t ppm) {
  SG_ASSERT(ppm <= 1'000'000);
  return Uniform(1'000'000) < ppm;
}

}  // namespace seedgrid
