// Latency tails: the random part of a message's delay on top of its link's minimum.
//
// Three shapes, each parameterised by its mean so scenario files compare like with like:
//   exponential  the default (sim/random.h's Exponential), truncated at 20x the mean
//   lognormal    mean * exp(sigma * Z - sigma^2 / 2), Z standard normal: most messages near the
//                median, a long right tail (tail_shape_milli = sigma * 1000, 100..3000)
//   pareto       a Lomax (Pareto II) draw scale * (U^(-1/alpha) - 1) with scale = mean *
//                (alpha - 1): a power-law tail, rare very long delays (tail_shape_milli = alpha *
//                1000, 1100..10000; alpha must exceed 1 for the mean to exist)
// The heavy tails are truncated at 200x the mean, so a run's virtual time stays bounded.
//
// Determinism: integer arithmetic only (fixed point, Q16), like Exponential: the normal deviate
// is an Irwin–Hall sum of 12 uniforms, e^x a binary exponent times a product of fixed
// constants 2^(2^-k). No <cmath>, no std:: distributions: every platform and compiler draws the
// same values (golden values in latency_test.cc hold them to it).
#ifndef SEEDGRID_SIM_LATENCY_H_
#define SEEDGRID_SIM_LATENCY_H_

#include <cstdint>
#include <optional>
#include <string_view>

#include "engine/env/env.h"

namespace seedgrid::sim {

enum class TailKind : uint8_t { kExponential, kLogNormal, kPareto };

std::string_view TailKindName(TailKind kind);
std::optional<TailKind> ParseTailKind(std::string_view name);

struct TailSpec {
  TailKind kind = TailKind::kExponential;
  uint64_t mean_ns = 1'000'000;
  uint32_t shape_milli = 0;  // lognormal sigma or pareto alpha, x1000 (unused for exponential)
  friend bool operator==(const TailSpec&, const TailSpec&) = default;
};

// The accepted shape range of a kind ([0, 0] for exponential).
struct ShapeRange {
  uint32_t lo = 0, hi = 0;
};
ShapeRange ShapeRangeOf(TailKind kind);

// One tail delay. REQUIRES: mean_ns <= 10^12 and the shape inside ShapeRangeOf(kind).
uint64_t DrawTail(Random& random, const TailSpec& spec);

// e^x for x in Q16 (65536 = 1.0), as Q16. Saturates at UINT64_MAX >> 1 for x >= 26.0; 0 for
// x <= -12.0. Relative error below 2^-14 in between.
uint64_t ExpQ16(int64_t x_q16);
// A standard normal deviate (Irwin–Hall: 12 uniforms minus 6), Q16; within [-6, 6].
int64_t StandardNormalQ16(Random& random);

}  // namespace seedgrid::sim

#endif  // SEEDGRID_SIM_LATENCY_H_
