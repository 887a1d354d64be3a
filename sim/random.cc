#include "sim/random.h"

#include <xxhash.h>

#include "engine/base/assert.h"

namespace seedgrid::sim {

uint64_t SubstreamSeed(uint64_t root_seed, std::string_view name) {
  return XXH3_64bits_withSeed(name.data(), name.size(), root_seed);
}

uint64_t UniformIn(Random& random, uint64_t lo, uint64_t hi) {
  SG_ASSERT(lo <= hi);
  if (lo == 0 && hi == UINT64_MAX) return random.Next64();
  return lo + random.Uniform(hi - lo + 1);
}

}  // namespace seedgrid::sim
