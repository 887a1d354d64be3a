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

int64_t SignedIn(Random& random, int64_t lo, int64_t hi) {
  SG_ASSERT(lo <= hi);
  const uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
  return static_cast<int64_t>(static_cast<uint64_t>(lo) + UniformIn(random, 0, span));
}

uint64_t NegLogUniformQ16(Random& random) {
  const uint64_t x = random.Next64() | 1;  // u = x / 2^64 in (0, 1).
  const int int_part = 63 - __builtin_clzll(x);
  // y = x / 2^int_part in [1, 2) as Q31.
  uint64_t y = int_part >= 31 ? x >> (int_part - 31) : x << (31 - int_part);
  uint64_t frac = 0;
  for (int bit = 0; bit < 16; ++bit) {  // Binary logarithm: square, and halve past 2.
    y = (y * y) >> 31;                  // y < 2^32, so y * y < 2^64.
    frac <<= 1;
    if (y >= (uint64_t{1} << 32)) {
      y >>= 1;
      frac |= 1;
    }
  }
  const uint64_t log2_x_q16 = (static_cast<uint64_t>(int_part) << 16) | frac;
  const uint64_t neg_log2_u_q16 = (uint64_t{64} << 16) - log2_x_q16;  // -log2(u)
  constexpr uint64_t kLn2Q16 = 45426;                                 // ln 2 * 65536
  return (neg_log2_u_q16 * kLn2Q16) >> 16;
}

uint64_t Exponential(Random& random, uint64_t mean) {
  SG_ASSERT(mean <= 1'000'000'000'000);
  if (mean == 0) return 0;
  const uint64_t draw = (mean * NegLogUniformQ16(random)) >> 16;
  return draw < 20 * mean ? draw : 20 * mean;
}

}  // namespace seedgrid::sim
