#include "scenarios/swarm.h"

#include <fmt/format.h>

#include "sim/random.h"

namespace seedgrid::scenarios {

// Always consumes exactly two draws, whatever the range, so editing one kind's range (or turning
// it off, as shrinking does) never moves another kind's draw. Ranges are at most 10^6 wide, so the
// modulo bias is below 2^-44.
uint32_t DrawRate(Random& r, const Range& range) {
  const bool coin = r.Uniform(2) == 0;
  const uint64_t word = r.Next64();
  if (range.hi <= 0) return 0;
  if (range.lo <= 0 && coin) return 0;  // Off for about half the seeds.
  const uint64_t lo = static_cast<uint64_t>(std::max<int64_t>(range.lo, 1));
  const uint64_t span = static_cast<uint64_t>(range.hi) - lo + 1;
  return static_cast<uint32_t>(lo + word % span);
}

std::string SwarmDraw::ToString() const {
  std::string text = fmt::format(
      "loss={}ppm dup={}ppm reorder={}ppm partitions={}/min crashes={}/min pauses={}/min "
      "clock_steps={}/min clogs={}/min buggify={}",
      loss_ppm, duplicate_ppm, reorder_ppm, partitions_per_min, crashes_per_min, pauses_per_min,
      clock_steps_per_min, clogs_per_min, buggify ? "on" : "off");
  if (power_losses_per_min > 0) text += fmt::format(" power_losses={}/min", power_losses_per_min);
  if (zone_losses_per_min > 0) text += fmt::format(" zone_losses={}/min", zone_losses_per_min);
  if (restart_clock_behind_pct > 0) {
    text += fmt::format(" clock_behind_restarts={}%", restart_clock_behind_pct);
  }
  if (crash_points_ppm > 0) text += fmt::format(" crash_points={}ppm", crash_points_ppm);
  if (offline_per_min > 0) text += fmt::format(" offline={}/min", offline_per_min);
  if (storage_errors_ppm > 0) text += fmt::format(" storage_errors={}ppm", storage_errors_ppm);
  if (torn_writes) text += " torn_writes=on";
  return text;
}

std::vector<sim::NodeClockParams> DrawClocks(const Scenario& s, uint64_t seed) {
  Xoshiro256 clocks = sim::Substream(seed, "clocks");
  std::vector<sim::NodeClockParams> out;
  for (int i = 0; i < s.nodes; ++i) {
    // Two statements: the order of the two draws must not be left to the compiler.
    const int64_t offset = sim::SignedIn(clocks, s.clock_offset_ms.lo, s.clock_offset_ms.hi);
    const int64_t drift = sim::SignedIn(clocks, s.clock_drift_ppm.lo, s.clock_drift_ppm.hi);
    out.push_back({offset, drift});
  }
  return out;
}

SwarmDraw DrawSwarm(const Scenario& s, uint64_t seed) {
  Xoshiro256 r = sim::Substream(seed, "swarm");
  SwarmDraw d;
  d.loss_ppm = DrawRate(r, s.swarm.loss_ppm);
  d.duplicate_ppm = DrawRate(r, s.swarm.duplicate_ppm);
  d.reorder_ppm = DrawRate(r, s.swarm.reorder_ppm);
  d.partitions_per_min = DrawRate(r, s.swarm.partitions_per_min);
  d.crashes_per_min = DrawRate(r, s.swarm.crashes_per_min);
  d.pauses_per_min = DrawRate(r, s.swarm.pauses_per_min);
  d.clock_steps_per_min = DrawRate(r, s.swarm.clock_steps_per_min);
  d.clogs_per_min = DrawRate(r, s.swarm.clogs_per_min);
  const bool buggify_coin = r.Uniform(2) == 0;  // Drawn even when the scenario disables it.
  d.buggify = s.swarm.buggify && buggify_coin;
  Xoshiro256 correlated = sim::Substream(seed, "swarm-correlated");
  d.power_losses_per_min = DrawRate(correlated, s.swarm.power_losses_per_min);
  d.zone_losses_per_min = DrawRate(correlated, s.swarm.zone_losses_per_min);
  Xoshiro256 behind = sim::Substream(seed, "swarm/clock-behind");
  d.restart_clock_behind_pct = DrawRate(behind, s.swarm.restart_clock_behind_pct);
  Xoshiro256 crash_points = sim::Substream(seed, "crash-points-swarm");  // Its own: moves nothing.
  d.crash_points_ppm = DrawRate(crash_points, s.swarm.crash_points_ppm);
  if (s.grid) {
    Xoshiro256 grid = sim::Substream(seed, "grid-swarm");
    d.offline_per_min = DrawRate(grid, s.grid->offline_per_min);
    Xoshiro256 torn = sim::Substream(seed, "grid-torn");
    d.torn_writes = s.grid->torn_writes && torn.Uniform(2) == 0;
    Xoshiro256 storage = sim::Substream(seed, "storage-swarm");
    d.storage_errors_ppm = DrawRate(storage, s.grid->storage_errors_ppm);
  }
  return d;
}

std::vector<SwarmRate> SwarmRates(const Scenario& s) {
  std::vector<SwarmRate> rates = {
      {"loss_ppm", &SwarmDraw::loss_ppm, s.swarm.loss_ppm},
      {"duplicate_ppm", &SwarmDraw::duplicate_ppm, s.swarm.duplicate_ppm},
      {"reorder_ppm", &SwarmDraw::reorder_ppm, s.swarm.reorder_ppm},
      {"partitions_per_min", &SwarmDraw::partitions_per_min, s.swarm.partitions_per_min},
      {"crashes_per_min", &SwarmDraw::crashes_per_min, s.swarm.crashes_per_min},
      {"pauses_per_min", &SwarmDraw::pauses_per_min, s.swarm.pauses_per_min},
      {"clock_steps_per_min", &SwarmDraw::clock_steps_per_min, s.swarm.clock_steps_per_min},
      {"clogs_per_min", &SwarmDraw::clogs_per_min, s.swarm.clogs_per_min},
      {"power_losses_per_min", &SwarmDraw::power_losses_per_min, s.swarm.power_losses_per_min},
      {"zone_losses_per_min", &SwarmDraw::zone_losses_per_min, s.swarm.zone_losses_per_min},
      {"restart_clock_behind_pct", &SwarmDraw::restart_clock_behind_pct,
       s.swarm.restart_clock_behind_pct}};
  if (s.grid) {
    rates.push_back({"offline_per_min", &SwarmDraw::offline_per_min, s.grid->offline_per_min});
    rates.push_back(
        {"storage_errors_ppm", &SwarmDraw::storage_errors_ppm, s.grid->storage_errors_ppm});
  }
  rates.push_back({"crash_points_ppm", &SwarmDraw::crash_points_ppm, s.swarm.crash_points_ppm});
  return rates;
}

bool RateInRange(uint32_t value, const Range& range) {
  if (range.hi <= 0) return value == 0;
  if (value == 0) return range.lo <= 0;
  return static_cast<int64_t>(value) >= std::max<int64_t>(range.lo, 1) &&
         static_cast<int64_t>(value) <= range.hi;
}

absl::Status ValidateSwarm(const Scenario& s, const SwarmDraw& swarm) {
  for (const SwarmRate& rate : SwarmRates(s)) {
    const uint32_t value = swarm.*rate.field;
    if (!RateInRange(value, rate.range)) {
      return absl::InvalidArgumentError(
          fmt::format("swarm {}={} is outside the scenario's range [{}, {}]", rate.name, value,
                      rate.range.lo, rate.range.hi));
    }
  }
  if (swarm.buggify && !s.swarm.buggify) {
    return absl::InvalidArgumentError("swarm buggify=on but the scenario disables buggify");
  }
  if (!s.grid && (swarm.offline_per_min != 0 || swarm.storage_errors_ppm != 0)) {
    return absl::InvalidArgumentError(
        "swarm offline_per_min and storage_errors_ppm must be 0 in a scenario without a grid");
  }
  if (swarm.torn_writes && !(s.grid && s.grid->torn_writes)) {
    return absl::InvalidArgumentError("swarm torn_writes=on but the scenario does not allow them");
  }
  return absl::OkStatus();
}

sim::SimulatorOptions SimOptionsFor(const Scenario& s, uint64_t seed, const SwarmDraw& swarm) {
  sim::SimulatorOptions o{.seed = seed, .nodes = s.nodes, .clocks = DrawClocks(s, seed)};
  o.latency_min_lo_ns = static_cast<uint64_t>(s.latency_min_us.lo) * 1000;
  o.latency_min_hi_ns = static_cast<uint64_t>(s.latency_min_us.hi) * 1000;
  o.latency_tail_mean_ns = s.latency_tail_mean_us * 1000;
  o.latency_tail = s.latency_tail;
  o.latency_tail_shape_milli = s.latency_tail_shape_milli;
  if (s.cross_zone) {
    const LinkClass& c = *s.cross_zone;
    o.cross_zone = true;
    for (int i = 0; i < s.nodes; ++i) o.zone_of.push_back(s.ZoneOf(i));
    o.cross_latency_min_lo_ns = static_cast<uint64_t>(c.latency_min_us.lo) * 1000;
    o.cross_latency_min_hi_ns = static_cast<uint64_t>(c.latency_min_us.hi) * 1000;
    o.cross_tail = {c.tail, c.latency_tail_mean_us * 1000, c.tail_shape_milli};
  }
  o.events_max = s.events_max;
  o.torn_writes = swarm.torn_writes;
  return o;
}

}  // namespace seedgrid::scenarios
