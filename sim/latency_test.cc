#include "sim/latency.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/env/xoshiro.h"
#include "sim/random.h"

namespace seedgrid::sim {
namespace {

std::vector<uint64_t> Draws(const TailSpec& spec, int n, uint64_t seed = 7) {
  Xoshiro256 r(seed);
  std::vector<uint64_t> out;
  for (int i = 0; i < n; ++i) out.push_back(DrawTail(r, spec));
  return out;
}

double Mean(const std::vector<uint64_t>& v) {
  double sum = 0;
  for (uint64_t x : v) sum += static_cast<double>(x);
  return sum / static_cast<double>(v.size());
}

double ShareAbove(const std::vector<uint64_t>& v, double threshold) {
  return static_cast<double>(
             std::count_if(v.begin(), v.end(), [&](uint64_t x) { return x > threshold; })) /
         static_cast<double>(v.size());
}

TEST(Latency, ExpQ16MatchesExp) {
  for (int64_t x = -11 * 65536; x < 25 * 65536; x += 977) {
    const double want = std::exp(static_cast<double>(x) / 65536.0);
    const double got = static_cast<double>(ExpQ16(x)) / 65536.0;
    // Relative 2^-14, plus the Q16 rounding of tiny results.
    EXPECT_NEAR(got, want, want / 16384.0 + 2.0 / 65536.0) << "x = " << x / 65536.0;
  }
  EXPECT_EQ(ExpQ16(0), 65536u);
  EXPECT_EQ(ExpQ16(-12 * 65536), 0u);
  EXPECT_EQ(ExpQ16(30 * 65536), UINT64_MAX >> 1);
}

TEST(Latency, StandardNormalHasMeanZeroAndUnitVariance) {
  Xoshiro256 r(3);
  double sum = 0, squares = 0;
  const int n = 200'000;
  for (int i = 0; i < n; ++i) {
    const double z = static_cast<double>(StandardNormalQ16(r)) / 65536.0;
    ASSERT_LE(std::abs(z), 6.0);
    sum += z;
    squares += z * z;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.01);
  EXPECT_NEAR(squares / n, 1.0, 0.02);
}

TEST(Latency, EveryKindHasTheMeanItIsGiven) {
  const uint64_t mean = 1'000'000;
  for (const TailSpec& spec :
       {TailSpec{TailKind::kExponential, mean, 0}, TailSpec{TailKind::kLogNormal, mean, 1000},
        TailSpec{TailKind::kLogNormal, mean, 500}, TailSpec{TailKind::kPareto, mean, 2500},
        TailSpec{TailKind::kPareto, mean, 4000}}) {
    EXPECT_NEAR(Mean(Draws(spec, 200'000)), static_cast<double>(mean), 0.04 * mean)
        << TailKindName(spec.kind) << " " << spec.shape_milli;
  }
}

TEST(Latency, TheShapesDiffer) {
  const uint64_t mean = 1'000'000;
  const auto exponential = Draws({TailKind::kExponential, mean, 0}, 200'000);
  const auto lognormal = Draws({TailKind::kLogNormal, mean, 1000}, 200'000);
  const auto pareto = Draws({TailKind::kPareto, mean, 1500}, 200'000);
  // The lognormal's median sits at mean * exp(-sigma^2 / 2); most draws are below the mean.
  std::vector<uint64_t> sorted = lognormal;
  std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
  EXPECT_NEAR(static_cast<double>(sorted[sorted.size() / 2]), mean * std::exp(-0.5), 0.03 * mean);
  // Beyond 10x the mean: e^-10 for the exponential, far more for the power law.
  EXPECT_LT(ShareAbove(exponential, 10.0 * mean), 0.0002);
  EXPECT_GT(ShareAbove(pareto, 10.0 * mean), 0.005);
  EXPECT_GT(ShareAbove(lognormal, 10.0 * mean), ShareAbove(exponential, 10.0 * mean));
  // Heavy tails stay bounded: 200x the mean.
  EXPECT_LE(*std::max_element(pareto.begin(), pareto.end()), 200 * mean);
}

TEST(Latency, ExponentialIsTheSimulatorsOwnDraw) {
  Xoshiro256 a(11), b(11);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(DrawTail(a, {TailKind::kExponential, 1234567, 0}), Exponential(b, 1234567));
  }
}

// The same values on every platform and compiler: integer arithmetic only.
TEST(Latency, GoldenDraws) {
  EXPECT_EQ(Draws({TailKind::kLogNormal, 1'000'000, 1000}, 4, 42),
            (std::vector<uint64_t>{3374160, 1499099, 2146224, 2165466}));
  EXPECT_EQ(Draws({TailKind::kPareto, 1'000'000, 2500}, 4, 42),
            (std::vector<uint64_t>{2542556, 711227, 250122, 47698}));
}

TEST(Latency, KindsByName) {
  EXPECT_EQ(ParseTailKind("pareto"), TailKind::kPareto);
  EXPECT_EQ(ParseTailKind("lognormal"), TailKind::kLogNormal);
  EXPECT_EQ(ParseTailKind("exponential"), TailKind::kExponential);
  EXPECT_EQ(ParseTailKind("normal"), std::nullopt);
  EXPECT_EQ(ShapeRangeOf(TailKind::kPareto).lo, 1100u);
}

}  // namespace
}  // namespace seedgrid::sim
