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

}  // namespace seedgrid::sim

#endif  // SEEDGRID_SIM_RANDOM_H_
