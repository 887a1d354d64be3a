#include "engine/env/real/real_env.h"

#include <chrono>
#include <random>

namespace seedgrid {

uint64_t SystemClock::NowMs() {
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count());
}

namespace {
uint64_t EntropySeed() {
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32) ^ device();
}
}  // namespace

OsSeededRandom::OsSeededRandom() : seed_(EntropySeed()), generator_(seed_) {}

}  // namespace seedgrid
