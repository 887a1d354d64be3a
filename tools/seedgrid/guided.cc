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

using Knob = Guide::Knob;

// The knobs this scenario lets vary: rates that can be non-zero, and the flags it allows.
std::vector<Knob> KnobsOf(const Scenario& s) {
  std::vector<Knob> knobs;
  for (const SwarmRate& r : scenarios::SwarmRates(s)) {
    if (r.range.hi > 0) knobs.push_back(Knob{r, nullptr, r.name});
  }
  if (s.swarm.buggify) knobs.push_back(Knob{std::nullopt, &SwarmDraw::buggify, "buggify"});
  if (s.grid && s.grid->torn_writes) {
    knobs.push_back(Knob{std::nullopt, &SwarmDraw::torn_writes, "torn_writes"});
  }
  return knobs;
}

bool IsOn(const Knob& k, const SwarmDraw& d) { return k.rate ? d.*(k.rate->field) > 0 : d.*k.flag; }

// A rate drawn as DrawSwarm draws a non-zero one: uniform in [max(lo, 1), hi].
uint32_t DrawOn(const Range& range, Random& random) {
  SG_ASSERT(range.hi > 0);
  const uint64_t lo = static_cast<uint64_t>(std::max<int64_t>(range.lo, 1));
  return static_cast<uint32_t>(lo + random.Uniform(static_cast<uint64_t>(range.hi) - lo + 1));
}

// A new value for a rate drawn from `range`: a quarter of the time the range's top (the most
// intense mix, where the deepest states hide); else off -> on, on -> off (when the range allows 0,
// a third of the rest), or scaled by a factor in [1/2, 2] and kept in range.
uint32_t TurnRate(uint32_t value, const Range& range, Random& random) {
  const uint64_t roll = random.Uniform(4);
  if (roll == 0) return static_cast<uint32_t>(range.hi);
  if (value == 0) return DrawOn(range, random);
  if (range.lo <= 0 && roll == 1) return 0;
  const uint64_t lo = static_cast<uint64_t>(std::max<int64_t>(range.lo, 1));
  const uint64_t scaled = uint64_t{value} * (512 + random.Uniform(1537)) / 1024;
  return static_cast<uint32_t>(std::clamp(scaled, lo, static_cast<uint64_t>(range.hi)));
}

// Switches a knob on (a rate drawn from its range) or off (where its range allows 0).
void SetKnob(const Knob& k, bool on, SwarmDraw& d, Random& random) {
  if (IsOn(k, d) == on) return;
  if (k.flag != nullptr) {
    d.*k.flag = on;
  } else if (on) {
    d.*(k.rate->field) = DrawOn(k.rate->range, random);
  } else if (k.rate->range.lo <= 0) {
    d.*(k.rate->field) = 0;
  }
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
      out.*knob.flag = !(out.*knob.flag);
    }
  }
  SG_ASSERT(scenarios::ValidateSwarm(scenario, out).ok() ||
            !scenarios::ValidateSwarm(scenario, swarm).ok());
  return out;
}

Guide::Guide(const Scenario& scenario, GuideOptions options)
    : scenario_(scenario),
      options_(options),
      knobs_(KnobsOf(scenario)),
      runs_on_(knobs_.size(), 0) {
  SG_ASSERT(options_.guided_ppm <= 1'000'000);
  SG_ASSERT(options_.keep_per_probe >= 1);
}

bool Guide::WorthAiming(const Learned& p) const {
  if (p.planned_tries < kTriesMin) return true;
  // The base rate: unplanned runs, or every run while there are too few of those.
  const bool by_unplanned = unplanned_runs_ >= kTriesMin;
  const uint64_t base_hits = by_unplanned ? p.unplanned_hits : p.runs;
  const uint64_t base_runs = by_unplanned ? unplanned_runs_ : runs_;
  return p.planned_hits * base_runs > base_hits * p.planned_tries;
}

const std::string* Guide::PickTarget(Random& random) const {
  SG_ASSERT(!probes_.empty());
  const auto weight = [&](const Learned& p) -> uint64_t {
    return WorthAiming(p) ? (uint64_t{1} << 32) / p.runs : 0;
  };
  uint64_t total = 0;
  for (const auto& [name, p] : probes_) total += weight(p);
  if (total == 0) return nullptr;
  uint64_t pick = random.Uniform(total);
  for (const auto& [name, p] : probes_) {
    const uint64_t w = weight(p);
    if (pick < w) return &name;
    pick -= w;
  }
  SG_ASSERT(false);
}

int Guide::InfluenceOf(const Learned& p, size_t knob) const {
  // Hit rates with the knob on and off: on_hits / on_runs against off_hits / off_runs.
  const uint64_t on_hits = p.runs_on[knob];
  const uint64_t off_hits = p.runs - on_hits;
  const uint64_t on_runs = runs_on_[knob];
  const uint64_t off_runs = runs_ - on_runs;
  if (on_hits >= kEvidenceMin && on_hits * off_runs > 2 * off_hits * on_runs) return 1;
  if (off_hits >= kEvidenceMin && off_hits * on_runs > 2 * on_hits * off_runs) return -1;
  return 0;
}

void Guide::Steer(const Learned& target, SwarmDraw& draw, Random& random) const {
  for (size_t k = 0; k < knobs_.size(); ++k) {
    const int influence = InfluenceOf(target, k);
    if (influence != 0) SetKnob(knobs_[k], influence > 0, draw, random);
  }
}

std::optional<SwarmDraw> Guide::Plan(uint64_t task) const {
  Xoshiro256 random(sim::SubstreamSeed(options_.seed_base, fmt::format("guided/{}", task)));
  std::lock_guard<std::mutex> lock(mu_);
  if (corpus_.empty() || !random.ChancePpm(options_.guided_ppm)) return std::nullopt;
  const std::string* name = PickTarget(random);
  if (name == nullptr) return std::nullopt;  // Guidance has not paid for any probe.
  const Learned& target = probes_.at(*name);
  SG_ASSERT(!target.entries.empty());
  const Entry& start = corpus_[target.entries[random.Uniform(target.entries.size())]];
  SwarmDraw draw = MutateSwarm(scenario_, start.swarm, random);
  Steer(target, draw, random);
  SG_ASSERT(scenarios::ValidateSwarm(scenario_, draw).ok());
  planned_[task] = *name;
  return draw;
}

void Guide::Learn(uint64_t task, uint64_t seed, const SwarmDraw& swarm,
                  const std::vector<std::pair<std::string, uint64_t>>& probes) {
  SG_ASSERT(scenarios::ValidateSwarm(scenario_, swarm).ok());
  std::lock_guard<std::mutex> lock(mu_);
  ++runs_;
  auto plan = planned_.find(task);
  if (plan == planned_.end()) {
    ++unplanned_runs_;
    for (const auto& [name, hits] : probes) ++probes_[name].unplanned_hits;
  } else {
    Learned& target = probes_[plan->second];
    ++target.planned_tries;
    const auto hit = std::find_if(probes.begin(), probes.end(),
                                  [&](const auto& p) { return p.first == plan->second; });
    if (hit != probes.end()) ++target.planned_hits;
    planned_.erase(plan);
  }
  std::vector<uint64_t> on(knobs_.size());  // 1 when knob k is on in this run
  for (size_t k = 0; k < knobs_.size(); ++k) {
    on[k] = IsOn(knobs_[k], swarm) ? 1 : 0;
    runs_on_[k] += on[k];
  }
  bool keep = false;  // among the first keep_per_probe runs to hit some probe
  std::vector<std::string> names;
  for (const auto& [name, hits] : probes) {
    Learned& p = probes_[name];
    p.runs_on.resize(knobs_.size(), 0);
    ++p.runs;
    for (size_t k = 0; k < knobs_.size(); ++k) p.runs_on[k] += on[k];
    if (p.entries.size() < options_.keep_per_probe) {
      p.entries.push_back(corpus_.size());
      keep = true;
    }
    names.push_back(name);
  }
  if (keep) corpus_.push_back(Entry{seed, swarm, std::move(names)});
}

std::vector<Guide::Entry> Guide::corpus() const {
  std::lock_guard<std::mutex> lock(mu_);
  return corpus_;
}

uint64_t Guide::runs_hitting(const std::string& probe) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = probes_.find(probe);
  return it == probes_.end() ? 0 : it->second.runs;
}

std::vector<std::pair<std::string, int>> Guide::Influences(const std::string& probe) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<std::string, int>> out;
  auto it = probes_.find(probe);
  if (it == probes_.end()) return out;
  for (size_t k = 0; k < knobs_.size(); ++k) {
    if (const int i = InfluenceOf(it->second, k); i != 0) out.emplace_back(knobs_[k].name, i);
  }
  return out;
}

}  // namespace seedgrid::tools
