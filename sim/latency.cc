#include "sim/latency.h"

#include <algorithm>

#include "engine/base/assert.h"
#include "sim/random.h"

namespace seedgrid::sim {

namespace {

constexpr int64_t kOneQ16 = 65536;
constexpr uint64_t kTruncateHeavyTail = 200;  // x the mean

// 2^(2^-k) in Q32 for k = 1..16 (rounded; from a 60-digit computation).
constexpr uint64_t kPow2FracQ32[16] = {
    6074001000, 5107605667, 4683695048, 4485121744, 4389014833, 4341736423, 4318288544, 4306612134,
    4300785774, 4297875550, 4296421177, 4295694175, 4295330720, 4295149004, 4295058149, 4295012722};
constexpr uint64_t kLog2EQ32 = 6196328019;  // log2(e) in Q32

// 2^f for f in [0, 1) as Q16 fraction bits, as Q32.
uint64_t Pow2FracQ32(uint32_t f_q16) {
  unsigned __int128 r = uint64_t{1} << 32;
  for (int k = 1; k <= 16; ++k) {
    if (f_q16 & (1u << (16 - k))) r = (r * kPow2FracQ32[k - 1]) >> 32;
  }
  return static_cast<uint64_t>(r);
}

uint64_t Capped(unsigned __int128 v, uint64_t cap) {
  return v > cap ? cap : static_cast<uint64_t>(v);
}

}  // namespace

std::string_view TailKindName(TailKind kind) {
  switch (kind) {
    case TailKind::kExponential:
      return "exponential";
    case TailKind::kLogNormal:
      return "lognormal";
    case TailKind::kPareto:
      return "pareto";
  }
  return "?";
}

std::optional<TailKind> ParseTailKind(std::string_view name) {
  for (TailKind k : {TailKind::kExponential, TailKind::kLogNormal, TailKind::kPareto}) {
    if (TailKindName(k) == name) return k;
  }
  return std::nullopt;
}

ShapeRange ShapeRangeOf(TailKind kind) {
  switch (kind) {
    case TailKind::kExponential:
      return {0, 0};
    case TailKind::kLogNormal:
      return {100, 3000};
    case TailKind::kPareto:
      return {1100, 10000};
  }
  return {0, 0};
}

uint64_t ExpQ16(int64_t x_q16) {
  if (x_q16 >= 26 * kOneQ16) return UINT64_MAX >> 1;
  if (x_q16 <= -12 * kOneQ16) return 0;
  // y = x * log2(e) in Q16; e^x = 2^y = 2^i * 2^f.
  const __int128 y = (static_cast<__int128>(x_q16) * kLog2EQ32) >> 32;
  const int64_t i = static_cast<int64_t>(y >> 16);  // floor, also for negative y
  const uint32_t f = static_cast<uint32_t>(y - (static_cast<__int128>(i) << 16));
  const uint64_t pow_q32 = Pow2FracQ32(f);     // in [2^32, 2^33)
  const int shift = static_cast<int>(i) - 16;  // Q32 -> Q16, times 2^i
  return shift >= 0 ? pow_q32 << shift : pow_q32 >> -shift;
}

int64_t StandardNormalQ16(Random& random) {
  int64_t sum = 0;
  for (int i = 0; i < 12; ++i) sum += static_cast<int64_t>(random.Next64() >> 48);  // Q16 in [0,1)
  return sum - 6 * kOneQ16;
}

uint64_t DrawTail(Random& random, const TailSpec& spec) {
  if (spec.kind == TailKind::kExponential) return Exponential(random, spec.mean_ns);
  SG_ASSERT(spec.mean_ns <= 1'000'000'000'000);
  const ShapeRange range = ShapeRangeOf(spec.kind);
  SG_ASSERT(spec.shape_milli >= range.lo && spec.shape_milli <= range.hi);
  if (spec.mean_ns == 0) return 0;
  const uint64_t cap = kTruncateHeavyTail * spec.mean_ns;
  if (spec.kind == TailKind::kLogNormal) {
    // mean * exp(sigma * Z - sigma^2 / 2): the median is mean * exp(-sigma^2 / 2).
    const int64_t sigma_q16 = static_cast<int64_t>(spec.shape_milli) * kOneQ16 / 1000;
    const int64_t z = StandardNormalQ16(random);
    const int64_t exponent = (sigma_q16 * z >> 16) - (sigma_q16 * sigma_q16 >> 17);
    return Capped((static_cast<unsigned __int128>(spec.mean_ns) * ExpQ16(exponent)) >> 16, cap);
  }
  // Lomax: scale * (exp(E / alpha) - 1), E = -ln U exponential, scale = mean * (alpha - 1).
  const int64_t e_over_alpha =
      static_cast<int64_t>(NegLogUniformQ16(random) * 1000 / spec.shape_milli);
  const uint64_t growth_q16 = ExpQ16(e_over_alpha) - kOneQ16;  // >= 0: e^x >= 1 for x >= 0
  const unsigned __int128 scale_milli =
      static_cast<unsigned __int128>(spec.mean_ns) * (spec.shape_milli - 1000);
  return Capped((scale_milli * growth_q16 >> 16) / 1000, cap);
}

}  // namespace seedgrid::sim
