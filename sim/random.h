// Seeded randomness for simulation: one root seed, independent named sub-streams.
//
// Substream(name) derives a fresh xoshiro256** stream from (root seed, name) with XXH3, so
// components ("network", "workload/node3", ...) draw independently: adding a draw in one never
// shifts another's decisions, which keeps repro files and shrinking stable.
#ifndef SEEDGRID_SIM_RANDOM_H_
#define SEEDGRID_SIM_RANDOM_H_

#include <cstdint>
#include <string_view>

#include "engine/env/xoshiro.h"

namespace seedgrid::sim {

uint64_t SubstreamSeed(uint64_t root_seed, std::string_view name);

inline Xoshiro256 Substream(uint64_t root_seed, std::string_view name) {
  return Xoshiro256(SubstreamSeed(root_seed, name));
}

// Uniform in [lo, hi]. REQUIRES: lo <= hi.
uint64_t UniformIn(Random& random, uint64_t lo, uint64_t hi);

// Uniform in [lo, hi] for signed bounds. REQUIRES: lo <= hi.
int64_t SignedIn(Random& random, int64_t lo, int64_t hi);

// -ln(u) for u uniform in (0, 1], in fixed point with 16 fractional bits (65536 = 1.0), computed
// with integers only (a binary logarithm by repeated squaring), so every platform draws the same
// values. Mean 65536; at most 64 * ln 2 * 65536 ~= 2.9M.
uint64_t NegLogUniformQ16(Random& random);

// Exponentially distributed with the given mean, truncated at 20x the mean (a latency tail that
// stays bounded). REQUIRES: mean <= 10^12 (so the fixed-point product cannot overflow).
uint64_t Exponential(Random& random, uint64_t mean);

}  // namespace seedgrid::sim

#endif  // SEEDGRID_SIM_RANDOM_H_
