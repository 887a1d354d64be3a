#include "scenarios/faults.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <memory>
#include <numeric>

#include "engine/base/probe.h"
#include "sim/random.h"

namespace seedgrid::scenarios {

FaultInjector::FaultInjector(RunContext& run, FaultTargets& targets)
    : run_(run),
      targets_(targets),
      sim_(run.sim),
      s_(run.scenario),
      swarm_(run.swarm),
      seed_(run.seed),
      disk_random_(sim::Substream(run.seed, "grid-disk")),
      behind_random_(sim::Substream(run.seed, "faults/clock_behind")),
      crash_point_random_(sim::Substream(run.seed, "faults/crash_point")) {}

void FaultInjector::Apply(const FaultEvent& f) {
  if (liveness()) return;
  switch (f.kind) {
    case FaultEvent::Kind::kSplit:
      TraceFault(fmt::format("split {}", fmt::join(f.nodes, ",")));
      sim_.Split(f.nodes);
      break;
    case FaultEvent::Kind::kIsolate:
      TraceFault(fmt::format("isolate n{}", f.node));
      sim_.Isolate(f.node);
      break;
    case FaultEvent::Kind::kOneWay:
      TraceFault(fmt::format("one-way {} -/-> {}", fmt::join(f.from, ","), fmt::join(f.to, ",")));
      for (int a : f.from) {
        for (int b : f.to) sim_.Block(a, b);
      }
      break;
    case FaultEvent::Kind::kBridge:
      TraceFault(fmt::format("bridge {} | n{} | {}", fmt::join(f.left, ","), f.node,
                             fmt::join(f.right, ",")));
      sim_.Bridge(f.left, f.right, f.node);
      break;
    case FaultEvent::Kind::kHeal:
      TraceFault("heal");
      sim_.HealAll();
      break;
    case FaultEvent::Kind::kCrash:
      CrashNode(f.node);
      break;
    case FaultEvent::Kind::kRestart:
      RestartNode(f.node, f.clock_behind_ms);
      break;
    case FaultEvent::Kind::kPause:
      sim_.Pause(f.node, f.duration_ms * kNsPerMs);
      break;
    case FaultEvent::Kind::kClockStep:
      sim_.StepClock(f.node, f.delta_ms);
      break;
    case FaultEvent::Kind::kClog:
      TraceFault(fmt::format("clog n{}->n{} {} ms", f.from[0], f.to[0], f.duration_ms));
      sim_.Clog(f.from[0], f.to[0], f.duration_ms * kNsPerMs);
      break;
    case FaultEvent::Kind::kPowerLoss:
      PowerLoss(f.duration_ms * kNsPerMs);
      break;
    case FaultEvent::Kind::kZoneLoss:
      ZoneLoss(f.zone, f.duration_ms * kNsPerMs);
      break;
  }
}

// Disks survive a correlated failure (power, a rack's switch): only what was not synced is lost,
// torn by the swarm's choice, as in any crash.
void FaultInjector::CrashTogether(std::vector<int> nodes, uint64_t down_ns, std::string what) {
  std::erase_if(nodes, [this](int i) { return !sim_.alive(i); });
  if (nodes.empty()) return;
  TraceFault(
      fmt::format("{}: n{} down for {} ms", what, fmt::join(nodes, ",n"), down_ns / kNsPerMs));
  for (int i : nodes) sim_.Crash(i);
  sim_.At(sim_.now_ns() + std::max<uint64_t>(down_ns, 1), [this, nodes] {
    for (int i : nodes) sim_.Restart(i);
    targets_.AfterRestartTogether(nodes);
  });
}

void FaultInjector::PowerLoss(uint64_t down_ns) {
  std::vector<int> nodes;
  for (int i = 0; i < s_.nodes; ++i) {
    if (s_.IsServerNode(i)) nodes.push_back(i);
  }
  SG_PROBE("faults.power_loss");
  CrashTogether(std::move(nodes), down_ns, "power loss");
}

void FaultInjector::ZoneLoss(int zone, uint64_t down_ns) {
  std::vector<int> nodes;
  for (int i = 0; i < s_.nodes; ++i) {
    if (s_.ZoneOf(i) == zone) nodes.push_back(i);
  }
  SG_PROBE("faults.zone_loss");
  CrashTogether(std::move(nodes), down_ns, fmt::format("zone {} lost", zone));
}

uint64_t FaultInjector::DurationNs(Random& r) {
  return static_cast<uint64_t>(
             sim::SignedIn(r, s_.swarm.fault_duration_ms.lo, s_.swarm.fault_duration_ms.hi)) *
         kNsPerMs;
}

// Poisson arrivals of one fault kind through the safety phase, from its own stream.
void FaultInjector::ScheduleKind(std::string_view kind, uint32_t per_min, Fire fire) {
  if (per_min == 0) return;
  auto random = std::make_shared<Xoshiro256>(sim::Substream(seed_, fmt::format("faults/{}", kind)));
  const uint64_t mean_ns = 60'000'000'000ULL / per_min;
  uint64_t t = 0;
  for (int k = 0; k < 100'000; ++k) {  // Bounded: at most 100k faults of one kind.
    t += std::max<uint64_t>(
        sim::Exponential(*random, std::min<uint64_t>(mean_ns, 1'000'000'000'000ULL)), 1);
    if (t >= s_.duration_ms * kNsPerMs) break;
    plan_.push_back({t, [this, random, fire](bool apply) {
                       if (!liveness()) (this->*fire)(*random, apply);
                     }});
  }
}

void FaultInjector::ApplyFixed(const FaultEvent& f, bool apply) {
  if (apply) {
    Apply(f);
  } else if (f.kind == FaultEvent::Kind::kCrash && !liveness()) {
    CrashNode(f.node, /*apply=*/false);
  }
}

// The plan's events take their schedule indexes in time order (ties in plan order), and go to
// the simulator in plan order (the order the events were always scheduled in).
void FaultInjector::SchedulePlan() {
  std::vector<size_t> by_time(plan_.size());
  std::iota(by_time.begin(), by_time.end(), 0);
  std::stable_sort(by_time.begin(), by_time.end(),
                   [this](size_t a, size_t b) { return plan_[a].at_ns < plan_[b].at_ns; });
  std::vector<uint8_t> apply(plan_.size());  // Not vector<bool>: its proxies would dangle.
  for (size_t i : by_time) apply[i] = run_.fault_schedule.Next() ? 1 : 0;
  for (size_t i = 0; i < plan_.size(); ++i) {
    const bool a = apply[i] != 0;
    sim_.At(plan_[i].at_ns, [fire = std::move(plan_[i].fire), a] { fire(a); });
  }
  plan_.clear();
}

void FaultInjector::ScheduleAll() {
  for (const FaultEvent& f : s_.faults) {
    plan_.push_back({f.at_ms * kNsPerMs, [this, f](bool apply) { ApplyFixed(f, apply); }});
  }
  ScheduleKind("partition", swarm_.partitions_per_min, &FaultInjector::RandomPartition);
  ScheduleKind("crash", swarm_.crashes_per_min, &FaultInjector::RandomCrash);
  ScheduleKind("pause", swarm_.pauses_per_min, &FaultInjector::RandomPause);
  ScheduleKind("clock_step", swarm_.clock_steps_per_min, &FaultInjector::RandomClockStep);
  ScheduleKind("clog", swarm_.clogs_per_min, &FaultInjector::RandomClog);
  ScheduleKind("power_loss", swarm_.power_losses_per_min, &FaultInjector::RandomPowerLoss);
  ScheduleKind("zone_loss", swarm_.zone_losses_per_min, &FaultInjector::RandomZoneLoss);
  ScheduleOffline();
  ScheduleMembership();
  SchedulePlan();
  if (swarm_.crash_points_ppm > 0) ArmCrashPoints();
  if (swarm_.storage_errors_ppm > 0) {
    for (int i = 0; i < sim_.nodes(); ++i) {
      sim_.storage(i).InjectErrors(swarm_.storage_errors_ppm,
                                   sim::Substream(seed_, fmt::format("faults/storage/n{}", i)));
    }
  }
}

// Grid joins, then graceful leaves, each one fault event.
void FaultInjector::ScheduleMembership() {
  if (!s_.grid) return;
  for (size_t j = 0; j < s_.grid->joins_at_ms.size(); ++j) {
    const int node = s_.grid->servers + static_cast<int>(j);
    plan_.push_back({s_.grid->joins_at_ms[j] * kNsPerMs, [this, node](bool apply) {
                       if (!liveness() && apply) targets_.Join(node);
                     }});
  }
  for (const GridLeave& l : s_.grid->leaves) {
    plan_.push_back({l.at_ms * kNsPerMs, [this, l](bool apply) {
                       if (!liveness() && apply) targets_.BeginLeave(l.server);
                     }});
  }
}

void FaultInjector::ArmCrashPoints() {
  crash_point_restart_ns_.assign(sim_.nodes(), 0);
  sim_.SetCrashPoints(
      swarm_.crash_points_ppm,
      sim::CrashPointHooks{[this](int node, std::string_view) { return AdmitCrashPoint(node); },
                           [this](int node, std::string_view) { RestartAfterCrashPoint(node); }});
}

bool FaultInjector::AdmitCrashPoint(int node) {
  if (liveness()) return false;
  const uint64_t delay_ns = DurationNs(crash_point_random_);  // Drawn even when dropped.
  if (!run_.fault_schedule.Next()) return false;
  crash_point_restart_ns_[node] = delay_ns;
  return true;
}

void FaultInjector::RestartAfterCrashPoint(int node) {
  sim_.At(sim_.now_ns() + crash_point_restart_ns_[node], [this, node] { sim_.Restart(node); });
}

void FaultInjector::StopAll() {
  sim_.SetCrashPoints(0);
  if (swarm_.storage_errors_ppm > 0) {
    for (int i = 0; i < sim_.nodes(); ++i) sim_.storage(i).InjectErrors(0, Xoshiro256(0));
  }
  for (int c = 0; c < targets_.clients(); ++c) Online(c);
}

void FaultInjector::CrashNode(int node, bool apply) {
  if (!sim_.alive(node)) return;
  if (apply) sim_.Crash(node);
  if (!s_.grid || !targets_.MayLoseDisk(node)) return;
  if (disk_random_.Uniform(100) >= s_.grid->disk_loss_pct || !apply) return;
  // The machine will come back with a new, empty disk. The cluster checks what it promised
  // first, before anything (anti-entropy, a client's repair) could restore a lost write.
  targets_.BeforeDiskLoss(node);
  sim_.storage(node).Wipe();
  sim_.TraceFault(node, fmt::format("disk lost n{}", node));
  targets_.AfterDiskLoss(node);
}

// Client churn: offline periods (the device loses its network; writes go on locally).
void FaultInjector::ScheduleOffline() {
  if (swarm_.offline_per_min == 0 || targets_.clients() == 0) return;
  auto random = std::make_shared<Xoshiro256>(sim::Substream(seed_, "faults/offline"));
  const uint64_t mean_ns = 60'000'000'000ULL / swarm_.offline_per_min;
  uint64_t t = 0;
  for (int k = 0; k < 100'000; ++k) {  // Bounded: at most 100k offline periods.
    t += std::max<uint64_t>(sim::Exponential(*random, mean_ns), 1);
    if (t >= s_.duration_ms * kNsPerMs) break;
    plan_.push_back({t, [this, random](bool apply) {
                       if (liveness()) return;
                       const int c = static_cast<int>(random->Uniform(targets_.clients()));
                       const uint64_t ms = static_cast<uint64_t>(
                           sim::SignedIn(*random, s_.grid->offline_ms.lo, s_.grid->offline_ms.hi));
                       if (!apply || targets_.offline(c)) return;
                       targets_.SetOffline(c, true);
                       sim_.At(sim_.now_ns() + ms * kNsPerMs, [this, c] { Online(c); });
                     }});
  }
}

void FaultInjector::Online(int client) {
  if (targets_.offline(client)) targets_.SetOffline(client, false);
}

void FaultInjector::RandomPartition(Random& r, bool apply) {
  const int n = s_.nodes;
  if (n < 2) return;
  std::vector<int> order(n);
  for (int i = 0; i < n; ++i) order[i] = i;
  for (int i = n - 1; i > 0; --i) std::swap(order[i], order[r.Uniform(i + 1)]);
  const uint64_t kind = r.Uniform(n >= 3 ? 4 : 3);
  const int side = 1 + static_cast<int>(r.Uniform(static_cast<uint64_t>(n / 2)));
  FaultEvent f;
  if (kind == 0) {
    f.kind = FaultEvent::Kind::kSplit;
    f.nodes.assign(order.begin(), order.begin() + side);
  } else if (kind == 1) {
    f.kind = FaultEvent::Kind::kIsolate;
    f.node = order[0];
  } else if (kind == 2) {
    f.kind = FaultEvent::Kind::kOneWay;
    f.from.assign(order.begin(), order.begin() + side);
    f.to.assign(order.begin() + side, order.end());
  } else {
    f.kind = FaultEvent::Kind::kBridge;
    f.node = order[0];
    const int half = 1 + (n - 1) / 2;
    f.left.assign(order.begin() + 1, order.begin() + half);
    f.right.assign(order.begin() + half, order.end());
    if (f.left.empty() || f.right.empty()) return;
  }
  if (apply) Apply(f);
  const uint64_t heal_ns = sim_.now_ns() + DurationNs(r);
  if (!apply) return;
  sim_.At(heal_ns, [this] {
    if (liveness()) return;
    TraceFault("heal");
    sim_.HealAll();
  });
}

void FaultInjector::RandomCrash(Random& r, bool apply) {
  // From its own stream and for every swarm crash, so this roll moves no other draw.
  const bool behind = behind_random_.Uniform(100) < swarm_.restart_clock_behind_pct;
  const auto margin_ms = static_cast<uint64_t>(
      sim::SignedIn(behind_random_, s_.swarm.clock_behind_ms.lo, s_.swarm.clock_behind_ms.hi));
  const int i = targets_.PickCrash(r);
  if (i < 0 || !sim_.alive(i)) return;
  CrashNode(i, apply);
  const uint64_t restart_ns = sim_.now_ns() + DurationNs(r);
  if (!apply) return;
  sim_.At(restart_ns, [this, i, behind_ms = behind ? margin_ms : 0] { RestartNode(i, behind_ms); });
}

void FaultInjector::RestartNode(int node, uint64_t clock_behind_ms) {
  if (sim_.alive(node)) return;
  if (clock_behind_ms > 0 && !liveness()) SetClockBehind(node, clock_behind_ms);
  sim_.Restart(node);
}

void FaultInjector::SetClockBehind(int node, uint64_t clock_behind_ms) {
  const auto now_ms = static_cast<int64_t>(sim_.clock(node).NowMs());
  const std::optional<uint64_t> last_ms = targets_.LastIssuedMs(node);
  const int64_t target_ms =
      static_cast<int64_t>(last_ms.value_or(now_ms)) - static_cast<int64_t>(clock_behind_ms);
  const int64_t step_ms = std::min<int64_t>(target_ms - now_ms, 0);
  sim_.TraceFault(
      node, fmt::format("clock behind n{}: {} ms below its last issued stamp ({}), "
                        "clock stepped {:+} ms",
                        node, clock_behind_ms,
                        last_ms ? fmt::format("{}", *last_ms) : std::string("none"), step_ms));
  if (step_ms < 0) sim_.clock(node).Step(step_ms);
}

void FaultInjector::RandomPause(Random& r, bool apply) {
  const int i = static_cast<int>(r.Uniform(s_.nodes));
  const uint64_t d = DurationNs(r);
  if (apply) sim_.Pause(i, d);
}

void FaultInjector::RandomClockStep(Random& r, bool apply) {
  const int i = static_cast<int>(r.Uniform(s_.nodes));
  const int64_t step = sim::SignedIn(r, s_.swarm.clock_step_ms.lo, s_.swarm.clock_step_ms.hi);
  if (apply) sim_.StepClock(i, step);
}

void FaultInjector::RandomClog(Random& r, bool apply) {
  if (s_.nodes < 2) return;
  const int a = static_cast<int>(r.Uniform(s_.nodes));
  const int b = static_cast<int>((a + 1 + r.Uniform(s_.nodes - 1)) % s_.nodes);
  const uint64_t d = DurationNs(r);
  if (!apply) return;
  TraceFault(fmt::format("clog n{}->n{} {} ms", a, b, d / kNsPerMs));
  sim_.Clog(a, b, d);
}

}  // namespace seedgrid::scenarios

namespace seedgrid::scenarios {

void FaultInjector::RandomPowerLoss(Random& r, bool apply) {
  const uint64_t d = DurationNs(r);
  if (apply) PowerLoss(d);
}

void FaultInjector::RandomZoneLoss(Random& r, bool apply) {
  const int zone = static_cast<int>(r.Uniform(s_.zones));
  const uint64_t d = DurationNs(r);
  if (apply) ZoneLoss(zone, d);
}

}  // namespace seedgrid::scenarios
