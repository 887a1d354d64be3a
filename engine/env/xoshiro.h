// xoshiro256** (Blackman & Vigna, 2018) seeded through SplitMix64: the project's one PRNG
// algorithm. Fixed and fully specified, so the same seed yields the same stream with every
// compiler and standard library. Hand-written because no Debian-packaged library guarantees a
// stable output sequence across versions (Abseil's bit generators explicitly do not).
#ifndef SEEDGRID_ENGINE_ENV_XOSHIRO_H_
#define SEEDGRID_ENGINE_ENV_XOSHIRO_H_

#include <cstdint>

#include "engine/env/env.h"

namespace seedgrid {

// SplitMix64 step: advances `state` and returns the next output.
inline uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class Xoshiro256 final : public Random {
 public:
  explicit Xoshiro256(uint64_t seed) {
    uint64_t sm = seed;
    for (uint64_t& word : s_) word = SplitMix64(sm);
  }

  uint64_t Next64() override {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_ENV_XOSHIRO_H_
