#include "tools/seedgrid/guided.h"

#include <fmt/format.h>

#include <algorithm>

#include "engine/base/assert.h"
#include "engine/env/xoshiro.h"
#include "sim/random.h"

namespace seedgrid::tools {

using scenarios::Range;
using scenarios::Scenario;
using scenarios::SwarmDraw;
using scenarios::SwarmRate;

namespace {

// A setting of the swarm that MutateSwarm may change: a rate (`rate` set), buggify, or torn
// writes.
struct Knob {
  std::optional<SwarmRate> rate;
  bool SwarmDraw::*flag = nullptr;
};

// The knobs this scenario lets vary: rates that can be non-zero, and the flags it allows.
std::vector<Knob> KnobsOf(const Scenario& s) {
  std::vector<Knob> knobs;
  for (const SwarmRate& r : scenarios::SwarmRates(s)) {
    if (r.range.hi > 0) knobs.push_back(Knob{r, nullptr});
  }
  if (s.swarm.buggify) knobs.push_back(Knob{std::nullopt, &SwarmDraw::buggify});
  if (s.grid && s.grid->torn_writes) knobs.push_back(Knob{std::nullopt, &SwarmDraw::torn_writes});
  return knobs;
}

// A new value for a rate drawn from `range`: off -> on (uniform in the range), on -> off (when
// the range allows 0, half the time), else scaled by a factor in [1/2, 2] and kept in range.
uint32_t TurnRate(uint32_t value, const Range& range, Random& random) {
  SG_ASSERT(range.hi > 0);
  const uint64_t lo = static_cast<uint64_t>(std::max<int64_t>(range.lo, 1));
  const uint64_t hi = static_cast<uint64_t>(range.hi);
  if (value == 0) return static_cast<uint32_t>(lo + random.Uniform(hi - lo + 1));
  if (range.lo <= 0 && random.Uniform(2) == 0) return 0;
  const uint64_t scaled = uint64_t{value} * (512 + random.Uniform(1537)) / 1024;
  return static_cast<uint32_t>(std::clamp(scaled, lo, hi));
}

}  // namespace

SwarmDraw MutateSwarm(const Scenario& scenario, const SwarmDraw& swarm, Random& random) {
  const std::vector<Knob> knobs = KnobsOf(scenario);
  SwarmDraw out = swarm;
  if (knobs.empty()) return out;
  const uint64_t changes = 1 + random.Uniform(2);
  for (uint64_t i = 0; i < changes; ++i) {
    const Knob& knob = knobs[random.Uniform(knobs.size())];
    if (knob.rate) {
      uint32_t& value = out.*(knob.rate->field);
      value = TurnRate(value, knob.rate->range, random);
    } else {
      out.*(knob.flag) = !(out.*(knob.flag));
    }
  }
  SG_ASSERT(scenarios::ValidateSwarm(scenario, out).ok() ||
            !scenarios::ValidateSwarm(scenario, swarm).ok());
  return out;
}

Guide::Guide(const Scenario& scenario, GuideOptions options)
    : scenario_(scenario), options_(options) {
  SG_ASSERT(options_.guided_ppm <= 1'000'000);
}

uint64_t Guide::WeightOf(const Entry& e) const {
  uint64_t rarest = UINT64_MAX;
  for (const std::string& p : e.probes) rarest = std::min(rarest, runs_hitting_.at(p));
  SG_ASSERT(rarest >= 1);
  return (uint64_t{1} << 32) / rarest;
}

std::optional<SwarmDraw> Guide::Plan(uint64_t task) const {
  Xoshiro256 random(sim::SubstreamSeed(options_.seed_base, fmt::format("guided/{}", task)));
  SwarmDraw base;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (corpus_.empty() || !random.ChancePpm(options_.guided_ppm)) return std::nullopt;
    uint64_t total = 0;
    for (const Entry& e : corpus_) total += WeightOf(e);
    uint64_t pick = random.Uniform(total);
    size_t i = 0;
    while (pick >= WeightOf(corpus_[i])) pick -= WeightOf(corpus_[i++]);
    base = corpus_[i].swarm;
  }
  return MutateSwarm(scenario_, base, random);
}

void Guide::Learn(uint64_t seed, const SwarmDraw& swarm,
                  const std::vector<std::pair<std::string, uint64_t>>& probes) {
  std::lock_guard<std::mutex> lock(mu_);
  bool first = false;
  std::vector<std::string> names;
  for (const auto& [name, hits] : probes) {
    if (runs_hitting_[name]++ == 0) first = true;
    names.push_back(name);
  }
  if (first) corpus_.push_back(Entry{seed, swarm, std::move(names)});
}

std::vector<Guide::Entry> Guide::corpus() const {
  std::lock_guard<std::mutex> lock(mu_);
  return corpus_;
}

uint64_t Guide::runs_hitting(const std::string& probe) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = runs_hitting_.find(probe);
  return it == runs_hitting_.end() ? 0 : it->second;
}

}  // namespace seedgrid::tools
